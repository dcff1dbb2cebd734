#!/usr/bin/env python3
"""Token offsets of the fast tokenizers on the tokenizer corpus, for the C++ offset tests.

    .venv-bench/bin/python weights_tools/make_offset_fixtures.py tests/data/text [--minilm DIR]

(needs `tokenizers`). For every tokenizer of the parity tests (minilm_uncased,
minilm_cased, minilm_flags: all-MiniLM-L6-v2's tokenizer.json and the two
variants make_tokenizer_fixtures.py derives from it; xlmr_tiny) and for
mpnet_tiny (the tokenizer of tests/data/models/mpnet_relu_cls: WordPiece with
RobertaProcessing, whose trim_offsets trims the whitespace an lstrip token
took), writes NAME.offsets.tsv: per reference case of NAME.ref.tsv (the same
cases, in the same order) the encoding's offset_mapping as "begin,end" pairs,
in characters of each text. Two tokenizers of the tiny models get their
ref.tsv and meta.tsv here too: mpnet_tiny, and xlmr_ws (the XLM-R tokenizer
of tests/data/models/xlmr_gelu_mean, which transformers 5 saved with the
WhitespaceSplit + Metaspace pre-tokenizer).
DIR is an all-MiniLM-L6-v2 folder (default models/all-MiniLM-L6-v2, from
./scripts/get_model.sh).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "weights_tools"))
from make_tokenizer_fixtures import encode_cases, reference_cases, unescape_line, write_meta, write_references  # noqa: E402
from tokenizer_meta import tokenizer_metadata  # noqa: E402

MPNET = ROOT / "tests" / "data" / "models" / "mpnet_relu_cls"
XLMR_WS = ROOT / "tests" / "data" / "models" / "xlmr_gelu_mean"


def write_offsets(path: Path, tokenizer, corpus: list[str], cases) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for head, enc in encode_cases(tokenizer, corpus, cases):
            offsets = "ERROR" if enc is None else " ".join(f"{s},{e}" for s, e in enc.offsets)
            f.write(f"{head}\t{offsets}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path, help="tests/data/text")
    parser.add_argument("--minilm", type=Path, default=ROOT / "models" / "all-MiniLM-L6-v2")
    args = parser.parse_args()
    from tokenizers import Tokenizer

    out = args.out_dir
    corpus = [unescape_line(line) for line in (out / "corpus.txt").read_text(encoding="utf-8").split("\n")[:-1]]
    cases = reference_cases(len(corpus))
    single_cases = [c for c in cases if c[1] < 0 and c[2] == 1 and c[3] == 0]

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # the variants of make_tokenizer_fixtures.py
        spec = json.loads((args.minilm / "tokenizer.json").read_text(encoding="utf-8"))
        spec["normalizer"]["lowercase"] = False
        spec["normalizer"]["strip_accents"] = False
        cased = Tokenizer.from_str(json.dumps(spec))
        spec["normalizer"].update(clean_text=False, handle_chinese_chars=False, strip_accents=True)
        flags = Tokenizer.from_str(json.dumps(spec))

        mpnet_dir = work / "mpnet"
        mpnet_dir.mkdir()
        for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
            (mpnet_dir / name).write_bytes((MPNET / name).read_bytes())
        write_meta(out / "mpnet_tiny.meta.tsv", tokenizer_metadata(mpnet_dir),
                   {"tokenizer.vocab": "../models/mpnet_relu_cls/vocab.txt"})
        mpnet = Tokenizer.from_file(str(MPNET / "tokenizer.json"))
        mpnet.no_padding()
        write_references(out / "mpnet_tiny.ref.tsv", mpnet, corpus, cases)

        write_meta(out / "xlmr_ws.meta.tsv", tokenizer_metadata(XLMR_WS),
                   {"tokenizer.sentencepiece_model": "../models/xlmr_gelu_mean/sentencepiece.bpe.model"})
        xlmr_ws = Tokenizer.from_file(str(XLMR_WS / "tokenizer.json"))
        xlmr_ws.no_padding()
        write_references(out / "xlmr_ws.ref.tsv", xlmr_ws, corpus, cases)

        targets = [("minilm_uncased", Tokenizer.from_file(str(args.minilm / "tokenizer.json")), cases),
                   ("minilm_cased", cased, cases),
                   ("minilm_flags", flags, single_cases),
                   ("xlmr_tiny", Tokenizer.from_file(str(out / "xlmr_tiny" / "tokenizer.json")), cases),
                   ("mpnet_tiny", mpnet, cases),
                   ("xlmr_ws", xlmr_ws, cases)]
        for name, tokenizer, name_cases in targets:
            tokenizer.no_padding()
            write_offsets(out / f"{name}.offsets.tsv", tokenizer, corpus, name_cases)
            print(f"{name}: offsets of {len(name_cases)} cases")


if __name__ == "__main__":
    main()
