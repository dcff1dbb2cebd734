#!/usr/bin/env python3
"""Reference embeddings of the real models for the parity tests.

    ./scripts/get_model.sh all-MiniLM-L6-v2 && ./scripts/get_model.sh all-mpnet-base-v2
    .venv-bench/bin/python weights_tools/make_real_model_fixtures.py models/all-MiniLM-L6-v2 tests/data/real_model
    .venv-bench/bin/python weights_tools/make_real_model_fixtures.py models/all-mpnet-base-v2 tests/data/real_model

(needs sentence-transformers and torch). Writes texts.txt (one text per line:
shop titles and queries in many languages from the tokenizer corpus, plus long
product descriptions of several hundred tokens, past both models'
max_seq_length, which the models truncate) and NAME.npy for the model folder
NAME, sentence-transformers' encode(texts, normalize_embeddings=True) in
float32, (N, D). tests/model/test_real_model.cpp compares the converted
models' embeddings with them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "text" / "corpus.txt"


def select_texts() -> list[str]:
    lines = [l for l in CORPUS.read_text(encoding="utf-8").split("\n") if l and "\r" not in l]
    short = lines[::4][:460]
    # Long descriptions: runs of consecutive corpus lines joined into one text
    # of several hundred tokens, past all-MiniLM-L6-v2's max_seq_length of 256.
    long = [". ".join(lines[i : i + 40]) for i in range(0, 40 * 50, 40)][:50]
    return short + long


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer

    texts = select_texts()
    model = SentenceTransformer(str(args.model_dir), device="cpu")
    expected = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    tokens = [len(model.tokenizer(t)["input_ids"]) for t in texts]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "texts.txt").write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    np.save(args.out_dir / f"{args.model_dir.resolve().name}.npy", expected.astype(np.float32))
    limit = model.max_seq_length
    print(f"{len(texts)} texts, {sum(n > limit for n in tokens)} longer than max_seq_length {limit} "
          f"(up to {max(tokens)}), embeddings {expected.shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
