#!/usr/bin/env python3
"""BM25 reference scores for rank::LexicalIndex (tests/rank/test_lexical_index.cpp).

Analyses the sample catalogue's titles and descriptions (examples/data) with
an independent Python implementation of the analysis rules of
include/embedrank/rank/lexical_analysis.hpp, and scores a set of queries with
bm25s (method="lucene") and rank_bm25 (BM25Okapi) given those same tokens,
one field at a time. Writes, into tests/data/rank/bm25/:

  tokens.tsv   id <TAB> field <TAB> the field's terms, space-separated
  queries.tsv  query text <TAB> its distinct terms, space-separated
  scores.tsv   formula <TAB> field <TAB> query number <TAB> id <TAB> score  (every nonzero score)
  generated.tsv  formula <TAB> query number <TAB> rank (or "-" for a sampled row) <TAB> row <TAB> score:
               a generated corpus of 100,000 documents (generated_corpus(), which the C++
               test rebuilds with the same integer generator): each query's 50 best rows
               and 100 fixed rows

The C++ test checks its analyser gives exactly these tokens and its index
these scores. Regenerate (needs bm25s and rank-bm25, not needed by the tests):

  python3 -m venv --system-site-packages .venv-ref && .venv-ref/bin/pip install bm25s rank-bm25
  .venv-ref/bin/python weights_tools/make_bm25_fixtures.py
"""
import argparse
import csv
import os
import sys
import unicodedata

import bm25s
import numpy as np
from rank_bm25 import BM25Okapi

K1, B, EPSILON = 1.2, 0.75, 0.25
STOP = set("a an and are as at be but by for if in into is it no not of on or such that the their then "
           "there these they this to was will with".split())
QUERIES = [
    "red dress", "我想买一件红色的连衣裙", "红色连衣裙", "usb-c charger 65w", "Vellor K87", "GT-3000",
    "20,000 mAh power bank", "28 cm frying pan", "running shoes", "蓝牙耳机", "无线耳机 降噪", "cat food",
    "SPF50+ sunscreen", "5.5 L air fryer", "the best gift for a tea lover", "T-shirt", "连", "Café crème",
    "ＵＳＢ－Ｃ", "unknownword",
]


def is_cjk(c):
    o = ord(c)
    return ((0x4E00 <= o <= 0x9FFF) or (0x3400 <= o <= 0x4DBF) or (0x20000 <= o <= 0x2A6DF) or
            (0x2A700 <= o <= 0x2B73F) or (0x2B740 <= o <= 0x2B81F) or (0x2B920 <= o <= 0x2CEAF) or
            (0xF900 <= o <= 0xFAFF) or (0x2F800 <= o <= 0x2FA1F) or (0x3040 <= o <= 0x30FF) or
            (0x31F0 <= o <= 0x31FF) or (0xAC00 <= o <= 0xD7A3))


def classify(c):
    o = ord(c)
    if "0" <= c <= "9":
        return "D"
    if o < 0x80:
        return "L" if c.isalpha() else "S"
    if is_cjk(c):
        return "C"
    if o == 0xFFFD or 0x80 <= o <= 0xBF or 0x2000 <= o <= 0x2BFF or 0x3000 <= o <= 0x303F:
        return "S"
    cat = unicodedata.category(c)
    if c.isspace() or cat[0] in "PZ" or cat in ("Cc", "Cf"):
        return "S"
    return "L"


def fold(text):
    out = []
    for c in text:
        o = ord(c)
        if 0xFF01 <= o <= 0xFF5E:
            c = chr(o - 0xFEE0)
        if c == "\u3000":
            c = " "
        parts = c if (ord(c) < 0x80 or 0xAC00 <= ord(c) <= 0xD7A3) else unicodedata.normalize("NFD", c)
        for d in parts:
            if unicodedata.category(d) == "Mn":
                continue
            out.append(d.lower())
    return "".join(out)


def analyze(text):
    s = fold(text)
    n = len(s)
    cls = [classify(c) for c in s]
    word = lambda i: i < n and cls[i] in "LD"
    terms, i, prev, joinable_at = [], 0, "", -1
    while i < n:
        if cls[i] == "C":
            end = i
            while end < n and cls[end] == "C":
                end += 1
            terms += [s[i]] if end - i == 1 else [s[j:j + 2] for j in range(i, end - 1)]
            i, joinable_at = end, -1
            continue
        if not word(i):
            i += 1
            continue
        run, end = "", i
        while end < n:
            if word(end):
                run += s[end]
                end += 1
            elif s[end] in ".," and end > i and cls[end - 1] == "D" and end + 1 < n and cls[end + 1] == "D":
                run += "." if s[end] == "." else ""
                end += 1
            else:
                break
        if run not in STOP:
            terms.append(run)
        kind = lambda c: c.isdigit() or c == "."
        parts, start = [], 0
        for j in range(1, len(run) + 1):
            if j == len(run) or kind(run[j]) != kind(run[j - 1]):
                parts.append(run[start:j])
                start = j
        if len(parts) > 1:
            terms += parts
        if joinable_at == i:
            terms.append(prev + run)
        if end + 1 < n and s[end] == "-" and word(end + 1):
            prev, joinable_at = run, end + 1
        else:
            joinable_at = -1
        i = end
    return terms


class Lcg:
    """The 64-bit LCG of tests/rank/test_lexical_index.cpp: x = x * 6364136223846793005 + 1442695040888963407."""

    def __init__(self, seed):
        self.x = seed

    def __call__(self):
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return self.x >> 32


def generated_token(rng):
    return f"t{(rng() % 2000) * (rng() % 2000) // 2000}"  # skewed towards small ids


def generated_corpus(n=100_000):
    rng = Lcg(2024)
    return [[generated_token(rng) for _ in range(3 + rng() % 30)] for _ in range(n)]


def generated_queries(count=20):
    rng = Lcg(7)
    return [distinct([generated_token(rng) for _ in range(1 + rng() % 4)]) for _ in range(count)]


def write_generated(path):
    docs = generated_corpus()
    queries = generated_queries()
    sample = sorted({(i * 997) % len(docs) for i in range(100)})
    lucene = bm25s.BM25(method="lucene", k1=K1, b=B)
    lucene.index(docs, show_progress=False)
    okapi = BM25Okapi(docs, k1=K1, b=B, epsilon=EPSILON)
    with open(path, "w", encoding="utf-8") as f:
        for qi, terms in enumerate(queries):
            known = [t for t in terms if t in lucene.vocab_dict]
            ref = {
                "lucene": np.asarray(lucene.get_scores(known), dtype=np.float64),
                "okapi": np.asarray(okapi.get_scores(terms), dtype=np.float64),
            }
            for formula, scores in ref.items():
                best = np.argsort(-scores, kind="stable")[:50]
                for rank, row in enumerate(best):
                    f.write(f"{formula}\t{qi}\t{rank}\t{row}\t{scores[row]:.9g}\n")
                for row in sample:
                    f.write(f"{formula}\t{qi}\t-\t{row}\t{scores[row]:.9g}\n")


def distinct(terms):
    return list(dict.fromkeys(terms))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalogue", default=os.path.join(root, "examples/data/catalogue.tsv"))
    ap.add_argument("--out", default=os.path.join(root, "tests/data/rank/bm25"))
    args = ap.parse_args()
    with open(args.catalogue, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    ids = [r["id"] for r in rows]
    fields = {name: [analyze(r[name]) for r in rows] for name in ("title", "description")}
    queries = [(q, distinct(analyze(q))) for q in QUERIES]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "tokens.tsv"), "w", encoding="utf-8") as f:
        for name, docs in fields.items():
            for id_, terms in zip(ids, docs):
                f.write(f"{id_}\t{name}\t{' '.join(terms)}\n")
    with open(os.path.join(args.out, "queries.tsv"), "w", encoding="utf-8") as f:
        for q, terms in queries:
            f.write(f"{q}\t{' '.join(terms)}\n")
    with open(os.path.join(args.out, "scores.tsv"), "w", encoding="utf-8") as f:
        for name, docs in fields.items():
            lucene = bm25s.BM25(method="lucene", k1=K1, b=B)
            lucene.index(docs, show_progress=False)
            okapi = BM25Okapi(docs, k1=K1, b=B, epsilon=EPSILON)
            for qi, (_, terms) in enumerate(queries):
                known = [t for t in terms if t in lucene.vocab_dict]  # bm25s refuses unknown tokens
                ref = {
                    "lucene": np.asarray(lucene.get_scores(known), dtype=np.float64) if known else np.zeros(len(ids)),
                    "okapi": np.asarray(okapi.get_scores(terms), dtype=np.float64),
                }
                for formula, scores in ref.items():
                    for id_, score in zip(ids, scores):
                        if score != 0:
                            f.write(f"{formula}\t{name}\t{qi}\t{id_}\t{score:.9g}\n")
    write_generated(os.path.join(args.out, "generated.tsv"))
    print(f"wrote {args.out}: {len(ids)} products, {len(queries)} queries; a generated corpus", file=sys.stderr)


if __name__ == "__main__":
    main()
