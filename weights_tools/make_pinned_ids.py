"""Writes the pinned reference values the C++ unit tests check one by one.

    /work/.venv-peers/bin/python weights_tools/make_pinned_ids.py tests/data

Needs tokenizers, and transformers with torch (any venv with the Hugging Face
stack). What it writes:

- text/pinned_ids.tsv: token ids from the Hugging Face fast tokenizer for the
  hand-picked cases of tests/text/test_tokenizer.cpp, one line each:
  tokenizer, text (escaped as corpus.txt: backslash, newline, carriage return),
  ids without special tokens (space-separated). The tokenizers:
    minilm_uncased_added: all-MiniLM-L6-v2's WordPiece (text/minilm/vocab.txt,
        BERT normalizer with lowercase) after add_tokens([AddedToken("Café-Bar",
        normalized=True), AddedToken("RAW", normalized=False, single_word=True)]);
    xlmr_tiny: text/xlmr_tiny/tokenizer.json (the Precompiled normalizer and
        Metaspace pre-tokenizer of XLMRobertaTokenizerFast);
    xlmr_whitespace_split: models/xlmr_gelu_mean/tokenizer.json, the same
        SentencePiece model with transformers 5's WhitespaceSplit pipeline.
- models/mpnet_buckets.tsv: MPNetEncoder.relative_position_bucket (modeling_mpnet.py,
  num_buckets 32, max_distance 128, evaluated by PyTorch in float32) for
  key - query in -300..300 and a few far distances: relative position, bucket.

A header line (starting with #) names the library versions.
"""
from __future__ import annotations

import argparse
from pathlib import Path

MINILM_ADDED_CASES = ["a cafe-bar b", "a CAFÉ-BAR b", "xcafe-barx", "RAW x", "xRAW", "raw", "a RAW b", "RAW_x"]
XLMR_TINY_CASES = [
    "\uFF76\uFF9E",                 # halfwidth ka + voiced mark: 6 bytes, per character
    "a\u0300\u0301\u0302\u0303",
    "x\r\ny",                        # CR LF is one cluster
    "aaaaaaaaaaaaaaaaaaaa",         # equal-score segmentations
    "Gaming mouse 16000 DPI",
    "  leading   and trailing  ",
    "a \u0085 b",                   # U+0085 survives the charsmap
    "\uFF1C\uFF53\uFF1E \uFF1C\uFF4D\uFF41\uFF53\uFF4B\uFF1E",  # normalizes to "<s> <mask>"
]
XLMR_SPLIT_CASES = ["a \u0085 b", "  leading   and trailing  "]
BUCKET_DISTANCES = list(range(-300, 301)) + [-100000, -5000, -1000, 1000, 5000, 100000]


def escape_line(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path, help="tests/data")
    data = parser.parse_args().data_dir
    import tokenizers
    import torch
    import transformers
    from tokenizers import AddedToken, Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

    minilm = BertWordPieceTokenizer(str(data / "text" / "minilm" / "vocab.txt"), lowercase=True)
    minilm.add_tokens([AddedToken("Café-Bar", normalized=True), AddedToken("RAW", normalized=False, single_word=True)])
    targets = [
        ("minilm_uncased_added", minilm, MINILM_ADDED_CASES),
        ("xlmr_tiny", Tokenizer.from_file(str(data / "text" / "xlmr_tiny" / "tokenizer.json")), XLMR_TINY_CASES),
        ("xlmr_whitespace_split", Tokenizer.from_file(str(data / "models" / "xlmr_gelu_mean" / "tokenizer.json")),
         XLMR_SPLIT_CASES),
    ]
    with open(data / "text" / "pinned_ids.tsv", "w", encoding="utf-8", newline="\n") as f:
        f.write(f"# tokenizers {tokenizers.__version__}: tokenizer, text, ids without special tokens\n")
        for name, tokenizer, cases in targets:
            tokenizer.no_truncation()
            for text in cases:
                assert "\t" not in text
                ids = tokenizer.encode(text, add_special_tokens=False).ids
                f.write(f"{name}\t{escape_line(text)}\t{' '.join(map(str, ids))}\n")

    positions = torch.tensor(BUCKET_DISTANCES, dtype=torch.long)
    buckets = MPNetEncoder.relative_position_bucket(positions, num_buckets=32, max_distance=128)
    with open(data / "models" / "mpnet_buckets.tsv", "w", encoding="utf-8", newline="\n") as f:
        f.write(f"# transformers {transformers.__version__}, torch {torch.__version__}: "
                "key - query, MPNetEncoder.relative_position_bucket (32 buckets, max distance 128)\n")
        for d, b in zip(BUCKET_DISTANCES, buckets.tolist()):
            f.write(f"{d}\t{b}\n")


if __name__ == "__main__":
    main()
