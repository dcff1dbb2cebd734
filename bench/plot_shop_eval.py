#!/usr/bin/env python3
"""Draws the shopping guide's offline evaluation (hit rate@10 and NDCG@10
against the content weight of the blend) as a PNG.

    build/bin/shopping_guide --model models/all-MiniLM-L6-v2.f32.bin --eval-out eval.tsv > /dev/null
    .venv-bench/bin/python bench/plot_shop_eval.py eval.tsv docs/shop-eval.png

Needs matplotlib (in the benchmark environment, not the library's tests).
"""

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(tsv_path, png_path):
    with open(tsv_path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    blend = [r for r in rows if r["content_weight"] != ""]
    popular = [r for r in rows if r["method"] == "most popular"]
    w = [float(r["content_weight"]) for r in blend]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for key, label, style in (("hit_rate_at_10", "hit rate@10", "o-"), ("ndcg_at_10", "NDCG@10", "s-")):
        ax.plot(w, [float(r[key]) for r in blend], style, label=label)
        if popular:
            ax.axhline(float(popular[0][key]), linestyle=":", color="grey")
    if popular:
        ax.text(0.5, float(popular[0]["hit_rate_at_10"]) + 0.01, "most popular unseen items", color="grey", ha="center")
    ax.set_xlabel("content weight w  (0: CF only, 1: content only)")
    ax.set_ylabel("held-out item found")
    ax.set_title("Shopping guide: content + CF blend, one held-out liked item per user")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(png_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plot_shop_eval.py EVAL.tsv OUT.png")
    main(sys.argv[1], sys.argv[2])
