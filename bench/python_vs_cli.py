"""The Python package's Embedder.encode beside the embedrank-embed program on
the same texts, same model, same threads: what the binding costs.

    PYTHONPATH=build/python python3 bench/python_vs_cli.py build/bin/embedrank-embed \\
        [--model models/all-MiniLM-L6-v2.f32.bin] [--threads 2] [--rounds 3]

Texts: the sample shop's 358 titles and 358 descriptions
(examples/data/catalogue.tsv), four times over (2,864 texts). Each round
runs the program (its own timing: the whole process, model opening and
.npy writing included) and then encode() in this process (model already
open), alternating; the table gives the best round of each and checks the
vectors are bitwise equal. A timing is never asserted anywhere.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import embedrank

ROOT = Path(__file__).resolve().parents[1]


def shop_texts() -> list[str]:
    rows = [line.split("\t") for line in (ROOT / "examples" / "data" / "catalogue.tsv").read_text().splitlines()[1:]]
    return ([r[2] for r in rows] + [r[3] for r in rows]) * 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cli")
    parser.add_argument("--model", default=str(ROOT / "models" / "all-MiniLM-L6-v2.f32.bin"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = shop_texts()
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / "texts.txt", Path(tmp) / "out.npy"
        source.write_text("".join(t + "\n" for t in texts))
        start = time.perf_counter()
        model = embedrank.Embedder(args.model, threads=args.threads)
        open_seconds = time.perf_counter() - start
        cli_best = py_best = float("inf")
        for _ in range(args.rounds):
            start = time.perf_counter()
            subprocess.run([args.cli, "--model", args.model, "--threads", str(args.threads), "--out", str(out),
                            str(source)], check=True, capture_output=True)
            cli_best = min(cli_best, time.perf_counter() - start)
            start = time.perf_counter()
            vectors = model.encode(texts)
            py_best = min(py_best, time.perf_counter() - start)
        same = np.array_equal(vectors.view(np.uint32), np.load(out).view(np.uint32))
    print(f"{len(texts)} texts, {args.threads} threads, {Path(args.model).name}; vectors bitwise equal: {same}")
    print(f"{'':28} {'seconds':>8} {'texts/s':>8}")
    print(f"{'embedrank-embed (process)':28} {cli_best:8.3f} {len(texts) / cli_best:8.0f}")
    print(f"{'Embedder.encode (Python)':28} {py_best:8.3f} {len(texts) / py_best:8.0f}")
    print(f"{'Embedder() open':28} {open_seconds:8.3f}")
    if not same:
        sys.exit("the vectors differ")


if __name__ == "__main__":
    main()
