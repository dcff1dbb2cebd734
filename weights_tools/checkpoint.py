"""Reads Hugging Face checkpoints into float32 numpy arrays without PyTorch.

Supports model.safetensors, sharded safetensors (model.safetensors.index.json)
and pytorch_model.bin (the zip format PyTorch has written since 1.6), the
latter through a restricted unpickler that only rebuilds tensors.
"""
from __future__ import annotations

import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

_SAFETENSORS_DTYPES = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "BF16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}


class CheckpointError(ValueError):
    pass


def _to_float32(array: np.ndarray, bf16: bool) -> np.ndarray:
    if bf16:
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    data = np.memmap(path, dtype=np.uint8, mode="r")
    if len(data) < 8:
        raise CheckpointError(f"{path}: too short for a safetensors file")
    (header_len,) = struct.unpack("<Q", bytes(data[:8]))
    if 8 + header_len > len(data):
        raise CheckpointError(f"{path}: safetensors header length {header_len} runs past the end of the file")
    header = json.loads(bytes(data[8 : 8 + header_len]).decode("utf-8"))
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype_name = info["dtype"]
        if dtype_name not in _SAFETENSORS_DTYPES:
            raise CheckpointError(f"{path}: tensor {name} has unsupported dtype {dtype_name}")
        dtype = _SAFETENSORS_DTYPES[dtype_name]
        begin, end = info["data_offsets"]
        if base + end > len(data) or begin > end:
            raise CheckpointError(f"{path}: tensor {name} data offsets {begin}..{end} run past the end of the file")
        array = np.frombuffer(data[base + begin : base + end], dtype=dtype).reshape(info["shape"])
        tensors[name] = _to_float32(array, dtype_name == "BF16")
    return tensors


class _TorchUnpickler(pickle.Unpickler):
    """Rebuilds tensors from a PyTorch zip checkpoint; refuses any other object."""

    _STORAGE_DTYPES = {
        "FloatStorage": np.dtype("<f4"),
        "HalfStorage": np.dtype("<f2"),
        "DoubleStorage": np.dtype("<f8"),
        "BFloat16Storage": np.dtype("<u2"),
        "LongStorage": np.dtype("<i8"),
        "IntStorage": np.dtype("<i4"),
        "ByteStorage": np.dtype("u1"),
        "BoolStorage": np.dtype("?"),
    }

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self.archive, self.prefix = archive, prefix

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            import collections

            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return self._rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return lambda data, requires_grad, backward_hooks: data
        if module == "torch" and name in self._STORAGE_DTYPES:
            return name
        raise pickle.UnpicklingError(f"pytorch_model.bin refers to {module}.{name}, which a weight file never needs")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, _numel = pid
        if kind != "storage" or storage_type not in self._STORAGE_DTYPES:
            raise pickle.UnpicklingError(f"unsupported storage {pid!r}")
        raw = self.archive.read(f"{self.prefix}/data/{key}")
        return (np.frombuffer(raw, dtype=self._STORAGE_DTYPES[storage_type]), storage_type == "BFloat16Storage")

    @staticmethod
    def _rebuild_tensor(storage, storage_offset, size, stride, *_args):
        flat, bf16 = storage
        itemsize = flat.dtype.itemsize
        array = np.lib.stride_tricks.as_strided(
            flat[storage_offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)
        )
        return _to_float32(np.array(array), bf16)


def read_pytorch_bin(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path}: legacy (pre-zip) PyTorch format; re-save it with torch.save or as safetensors"
        )
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if len(pickles) != 1:
            raise CheckpointError(f"{path}: expected one data.pkl in the archive, found {len(pickles)}")
        prefix = pickles[0][: -len("/data.pkl")]
        with archive.open(pickles[0]) as f:
            state = _TorchUnpickler(f, archive, prefix).load()
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: does not hold a state dict")
    return dict(state)


def read_checkpoint(model_dir: Path) -> tuple[dict[str, np.ndarray], str]:
    """All tensors of the checkpoint in `model_dir`, and the file(s) they came from."""
    single = model_dir / "model.safetensors"
    index = model_dir / "model.safetensors.index.json"
    torch_bin = model_dir / "pytorch_model.bin"
    if single.exists():
        return read_safetensors(single), single.name
    if index.exists():
        weight_map = json.loads(index.read_text())["weight_map"]
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            shard_path = model_dir / shard
            if not shard_path.exists():
                raise CheckpointError(f"{index}: shard {shard} is missing")
            tensors.update(read_safetensors(shard_path))
        missing = sorted(set(weight_map) - set(tensors))
        if missing:
            raise CheckpointError(f"{index}: tensors listed but not found in the shards: {', '.join(missing[:5])}")
        return tensors, index.name
    if torch_bin.exists():
        return read_pytorch_bin(torch_bin), torch_bin.name
    raise CheckpointError(
        f"{model_dir}: no checkpoint found (expected model.safetensors, model.safetensors.index.json or pytorch_model.bin)"
    )
