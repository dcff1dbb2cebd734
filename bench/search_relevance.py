"""NDCG@10 and recall@10 of the shopping guide's search on the sample shop's judged queries, per model, mode and query kind.

    PYTHONPATH=build/python /usr/bin/python3 bench/search_relevance.py MODEL_FILE [MODEL_FILE ...]

The judgements are examples/data/search_judgements.tsv (query -> product ids
with graded gains: 2 what was asked for, 1 a reasonable answer); the guide
runs with its defaults on examples/data's catalogue and attributes. Prints
one Markdown table per model (rows: query kinds; columns: dense, lexical,
hybrid).
"""
from __future__ import annotations

import csv
import math
import sys
from collections import defaultdict
from pathlib import Path

import embedrank

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data"
MODES = ("dense", "lexical", "hybrid")


def judgements():
    with open(DATA / "search_judgements.tsv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            gains = {item.split(":")[0]: float(item.split(":")[1]) for item in row["relevant"].split()}
            yield row["kind"], row["query"], gains


def ndcg_recall(ranked: list[str], gains: dict, k: int = 10) -> tuple[float, float]:
    dcg = sum(gains.get(p, 0.0) / math.log2(i + 2) for i, p in enumerate(ranked[:k]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(gains.values(), reverse=True)[:k]))
    recall = sum(1 for p in ranked[:k] if p in gains) / min(k, len(gains))
    return dcg / ideal, recall


def table(model_file: str) -> str:
    guide = embedrank.ShoppingGuide(embedrank.Embedder(model_file),
                                    embedrank.Catalogue.read([DATA / "catalogue.tsv", DATA / "attributes.tsv"]))
    sums = defaultdict(lambda: [0.0, 0.0, 0])
    for kind, query, gains in judgements():
        for mode in MODES:
            ranked = [r.id for r in guide.search(query, 10, mode=mode).results]
            n, r = ndcg_recall(ranked, gains)
            for key in ((mode, kind), (mode, "all")):
                sums[key][0] += n
                sums[key][1] += r
                sums[key][2] += 1
    kinds = sorted({kind for _, kind in sums})
    lines = [f"{Path(model_file).name}: NDCG@10 / recall@10", "",
             "| kind (queries) | " + " | ".join(MODES) + " |", "|---|" + "---|" * len(MODES)]
    for kind in kinds:
        count = sums[(MODES[0], kind)][2]
        cells = [f"{sums[(m, kind)][0] / count:.3f} / {sums[(m, kind)][1] / count:.3f}" for m in MODES]
        lines.append(f"| {kind} ({count}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        print(table(path), end="\n\n", flush=True)
