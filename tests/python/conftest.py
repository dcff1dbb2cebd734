"""Shared setup of the Python package's tests.

The package under test is the one built by CMake into <build>/python
(EMBEDRANK_BUILD_DIR, default build/), unless EMBEDRANK_TEST_INSTALLED=1
asks for the one pip installed. The command-line programs (<build>/bin) and
the converted tiny models (<build>/test_work, written by
`ctest -R convert_fixtures`, the classification heads by
`ctest -R convert_head_fixtures`) come from the same build; real models from
./scripts/get_model.sh. A missing file fails the test with the command that
makes it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("EMBEDRANK_BUILD_DIR", ROOT / "build")).resolve()
DATA = ROOT / "tests" / "data"

if os.environ.get("EMBEDRANK_TEST_INSTALLED") != "1":
    sys.path.insert(0, str(BUILD / "python"))

import embedrank  # noqa: E402

if os.environ.get("EMBEDRANK_TEST_INSTALLED") == "1":
    if "site-packages" not in embedrank.__file__:
        raise ImportError(f"imported embedrank from {embedrank.__file__}, expected an installed package")
elif not embedrank.__file__.startswith(str(BUILD)):
    raise ImportError(f"imported embedrank from {embedrank.__file__}, expected the build in {BUILD / 'python'}")


def require(path: Path, how: str) -> Path:
    if not path.exists():
        pytest.fail(f"{path} not found: {how}")
    return path


def tiny_model(name: str) -> str:
    """A converted tiny test model (float32)."""
    return str(require(BUILD / "test_work" / "models" / f"{name}.f32.bin",
                       f"run `ctest --test-dir {BUILD} -R convert_fixtures` first"))


def head_model(name: str, dtype: str = "f32") -> str:
    """A converted tiny classification-head model (tests/data/heads/<name>)."""
    return str(require(BUILD / "test_work" / "heads" / f"{name}.{dtype}.bin",
                       f"run `ctest --test-dir {BUILD} -R convert_head_fixtures` first"))


def real_model(name: str = "all-MiniLM-L6-v2") -> str:
    return str(require(ROOT / "models" / f"{name}.f32.bin", f"./scripts/get_model.sh {name} downloads and converts it"))


def program(name: str) -> str:
    return str(require(BUILD / "bin" / name, f"build it: cmake --build {BUILD} --target {name}"))


def run(args: list, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], input=stdin, capture_output=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} exited {result.returncode}: {result.stderr.decode(errors='replace')}")
    return result


def read_lines(path: Path) -> list[str]:
    """Lines as std::getline reads them: split on '\\n' only, nothing stripped."""
    text = path.read_bytes().decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_bytes("".join(line + "\n" for line in lines).encode("utf-8"))
    return path


def assert_bitwise_equal(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype}, expected {expected.dtype}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, expected {expected.shape}"
    differ = np.flatnonzero(got.view(np.uint8 if got.itemsize == 1 else f"u{got.itemsize}").ravel()
                            != expected.view(f"u{expected.itemsize}").ravel())
    assert differ.size == 0, (f"{what}: {differ.size} values differ in their bits, first at flat index {differ[0]}: "
                              f"{got.ravel()[differ[0]]!r} vs {expected.ravel()[differ[0]]!r}")
