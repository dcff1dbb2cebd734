"""Writes the committed seed corpora of the fuzz targets (tests/fuzz/seeds/):
small valid inputs that reach deep into each reader, so the fuzzer mutates
from working files.

    python3 tests/fuzz/make_seeds.py MODELS_DIR

MODELS_DIR holds the converted test models (build/test_work/models); the
model seeds copy the metadata of bert_relu_max_mean.f32.bin with a 12-token
vocabulary and 4-wide layers, so a seed is a few kilobytes. The
sentencepiece_model seed is a 40-piece unigram model with a small
precompiled charsmap, trained by spm_train (Debian package sentencepiece)
with a few normalization rules, so the fuzzer mutates a real trie.
"""
from __future__ import annotations

import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "weights_tools"))
from convert import expected_shapes  # noqa: E402
from model_file import read_model_file, write_model_file  # noqa: E402

SEEDS = Path(__file__).resolve().parent / "seeds"


def tiny_model(models: Path, out: Path, dtype: str) -> None:
    source = read_model_file(models / "bert_relu_max_mean.f32.bin")
    meta = dict(source.metadata)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "red", "shoe", "##s", "blue", "jean", "wire", "##less"]
    config = {"family": "bert", "vocab_size": len(vocab), "hidden_size": 4, "intermediate_size": 8, "num_layers": 1,
              "max_position_embeddings": 16, "type_vocab_size": 2}
    meta.update({"config.vocab_size": len(vocab), "config.hidden_size": 4, "config.num_layers": 1, "config.num_heads": 2,
                 "config.intermediate_size": 8, "config.max_position_embeddings": 16, "config.type_vocab_size": 2,
                 "config.has_pooler": False, "model.max_seq_length": 16, "pooling.modes": ["mean"],
                 "tokenizer.vocab": vocab})  # the specials keep ids 0-4, as in the source
    rng = np.random.default_rng(0)
    tensors = {name: rng.standard_normal(shape).astype(np.float32) * 0.5 for name, shape in expected_shapes(config).items()}
    write_model_file(out, meta, tensors, dtype)


def npy(rows: int, cols: int) -> bytes:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    data = np.arange(rows * cols, dtype="<f4").tobytes()
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def sentencepiece_seed() -> bytes:
    """A tiny unigram ModelProto whose charsmap holds single- and multi-character rules."""
    rules = "FF21\t41\nFF76 FF9E\t30AC\nFF76\t30AB\n3000\t20\nFB01\t66 69\n2460\t31\n9\t20\n"
    words = ["red", "shoe", "blue", "jean", "wire", "less", "mouse", "16000", "DPI", "\uff76\uff9e", "\uff21", "\u9577", "a"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "rules.tsv").write_text(rules, encoding="utf-8")
        lines = [" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(6)) for i in range(300)]
        (work / "text.txt").write_text("\n".join(lines), encoding="utf-8")
        subprocess.run(["spm_train", "--input=text.txt", "--model_prefix=tiny", "--vocab_size=40", "--model_type=unigram",
                        "--normalization_rule_tsv=rules.tsv", "--hard_vocab_limit=false", "--character_coverage=1.0",
                        "--minloglevel=2"], cwd=work, check=True, capture_output=True)
        return (work / "tiny.model").read_bytes()


def serve_seeds() -> None:
    # serve: a route byte (the index into fuzz_serve.cpp's kTargets), then the
    # body ("ID\n" first for the routes with a product id)
    for name, route, body in (
            ("openai", 0, '{"input": ["red dress", [101, 2417, 102]], "encoding_format": "base64", "dimensions": 8}'),
            ("tei_embed", 1, '{"inputs": "red dress", "truncate": true, "truncation_direction": "Left"}'),
            ("tokenize", 2, '{"inputs": ["红色连衣裙"], "add_special_tokens": false}'),
            ("rerank", 3, '{"query": "red dress", "texts": ["red summer dress", "tea"], "return_text": true}'),
            ("predict", 4, '{"inputs": [["a", "b"], "c"], "raw_scores": true}'),
            ("cohere", 5, '{"query": "tea", "documents": [{"text": "green tea"}, "mug"], "top_n": 1}'),
            ("search", 6, '{"query": "pacewell shoes under 30", "k": 3, "filters": {"brand": "Pacewell"}, '
                          '"ignore": ["price"], "price_max": 50}'),
            ("recommend", 7, '{"user": "u1", "history": ["P1", {"id": "P2", "weight": 2}], "k": 2}'),
            ("similar", 9, 'P1\n'),
            ("put", 10, 'P9\n{"title": "blue tea pot", "price": 5, "attributes": {"size": "L"}}'),
            ("delete", 11, 'P3\n'),
            ("bulk", 12, '{"products": [{"id": "P7", "title": "linen shirt", "colour": "white"}]}'),
            ("interactions", 13, '{"interactions": [{"user": "u9", "product_id": "P1", "rating": 4}], "refit": true}')):
        (SEEDS / "serve" / f"{name}.bin").write_bytes(bytes([route]) + body.encode("utf-8"))


def main() -> int:
    models = Path(sys.argv[1])
    for d in ("model_file", "tokenizer", "sentencepiece_model", "ratings", "npy", "cli_options", "query_attributes", "catalogue",
              "lexical_analysis", "serve"):
        (SEEDS / d).mkdir(parents=True, exist_ok=True)
    for dtype in ("f32", "f16", "int8"):
        tiny_model(models, SEEDS / "model_file" / f"tiny.{dtype}.bin", dtype)
    # tokenizer: byte 0 picks the tokenizer and options, the rest is text (and a tab-separated pair)
    for i, text in enumerate(["\x00Red running shoes", "\x01wireless earbuds <mask> 16000 DPI",
                              "\x02Caf\u00e9 \u4e2d\u6587 na\u00efve\tsecond text", "\x07\u2603 \ufeff emoji \U0001F600 x"]):
        (SEEDS / "tokenizer" / f"seed{i}.txt").write_bytes(text.encode("utf-8"))
    # sentencepiece_model: byte 0 picks the id mapping (bit 0: fairseq, else plain), the pipeline
    # (bits 1-2: metaspace, whitespace_split, collapse_spaces), unfused unknowns (bit 3) and
    # whether the rest is the ModelProto or (bit 4) per-code-point rules for the fixture's model
    model = sentencepiece_seed()
    (SEEDS / "sentencepiece_model" / "tiny_fairseq.bin").write_bytes(b"\x01" + model)
    (SEEDS / "sentencepiece_model" / "tiny_plain.bin").write_bytes(b"\x00" + model)
    (SEEDS / "sentencepiece_model" / "tiny_fairseq_whitespace_split.bin").write_bytes(b"\x03" + model)
    rules = b"".join(struct.pack("<IB", cp, len(to)) + struct.pack(f"<{len(to)}I", *to)
                     for cp, to in [(0x09, [0x20]), (0x200B, []), (0xFB01, [0x66, 0x69]), (0xFF21, [0x41])])
    (SEEDS / "sentencepiece_model" / "rules_collapse_spaces.bin").write_bytes(b"\x1d" + rules)
    # ratings: byte 0 picks the separator and header flag
    (SEEDS / "ratings" / "udata.tsv").write_bytes(b"\x00196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\n")
    (SEEDS / "ratings" / "csv.csv").write_bytes(b"\x03user,item,rating\na,x,4.5\nb,x,2\na,y,1e3\nc,z,-0.25\n")
    # command lines: byte 0 picks the program (embed, search, tokenize, cf), then NUL-separated arguments
    (SEEDS / "cli_options").mkdir(exist_ok=True)
    for i, (program, args) in enumerate([
            (0, ["--model", "m.bin", "--batch", "16", "--threads", "2", "--pooling", "cls,mean", "--out", "v.npy", "in.txt"]),
            (1, ["--index", "i.npy", "--queries", "q.npy", "--k", "10", "--metric", "cosine", "--storage", "f16"]),
            (2, ["--model", "m.bin", "--pair", "--json", "--max-length", "128"]),
            (3, ["--train", "t.tsv", "--cv", "5", "--seed", "7", "--algo", "knn_with_means", "--mean", "user", "--k", "20",
                 "--shrinkage", "capped", "--shrinkage-lambda", "50", "--sep", "TAB", "--header"]),
            (4, ["--model", "m.bin", "--query", "red dress", "--candidates", "c.tsv", "--top", "5", "--format", "json"]),
            (5, ["--model", "m.bin", "--top", "2", "--batch", "8", "--threads", "1"])]):
        (SEEDS / "cli_options" / f"seed{i}.bin").write_bytes(bytes([program]) + b"\0".join(a.encode() for a in args))
    # query_attributes: a shopper's query, as typed
    for name, query in (("brand_price", "linden & lark red dresses under 50"), ("cjk", "素锦红色连衣裙 100元以下"),
                        ("ranges", "shoes between $20 and 30 euros, navy blue, from 5-10 eur")):
        (SEEDS / "query_attributes" / f"{name}.txt").write_bytes(query.encode("utf-8"))
    # lexical_analysis: any text, analysed as a document and as a query
    for name, text in (("model_numbers", "Quorva 65W USB-C GaN Charger, GT-3000, 20,000 mAh, 5.5 L"),
                       ("cjk", "我想买一件红色的连衣裙 V领收腰 こんにちは 한국어"),
                       ("folding", "ＵＳＢ－Ｃ Café CRÈME İstanbul ß \u00a0\u3000—")):
        (SEEDS / "lexical_analysis" / f"{name}.txt").write_bytes(text.encode("utf-8"))
    # catalogue: a format byte (0 TSV, 1 CSV, 2 JSON Lines), then the file
    for name, fmt, text in (
            ("tsv", 0, "id\ttitle\tdescription\tbrand\tcolour\tprice\tsize\nP1\tRed dress\tLinen\tOrla\tred\t39.5\tM\n"
                       "P2\t素锦 红色连衣裙\t\t素锦\t红色\t199\t\n"),
            ("csv", 1, 'id,title,description,price\r\nP1,"The ""Cloud"" shoe","two\nlines, quoted",12\r\nP2,tea,,\r\n'),
            ("jsonl", 2, '{"id": "P1", "title": "Red \\u0064ress", "price": 39.5, "material": "linen"}\n'
                         '{"id": "P2", "title": "Tea", "price": null, "organic": true}\n')):
        (SEEDS / "catalogue" / f"{name}.bin").write_bytes(bytes([fmt]) + text.encode("utf-8"))
    serve_seeds()
    (SEEDS / "npy" / "3x5.npy").write_bytes(npy(3, 5))
    (SEEDS / "npy" / "0x4.npy").write_bytes(npy(0, 4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
