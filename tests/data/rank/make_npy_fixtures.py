"""Writes the small .npy fixtures read by tests/core/test_npy.cpp with numpy's own writer.

Regenerate: /usr/bin/python3 tests/data/rank/make_npy_fixtures.py tests/data/rank
"""
import sys
from pathlib import Path

import numpy as np


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    # values[i, j] = i * 10 + j / 4, exactly representable in float32
    values = (np.arange(3)[:, None] * 10 + np.arange(5)[None, :] / 4).astype("<f4")
    np.save(out_dir / "npy_v1_3x5.npy", values)
    with open(out_dir / "npy_v2_3x5.npy", "wb") as f:
        np.lib.format.write_array(f, values, version=(2, 0))
    np.save(out_dir / "npy_f64_3x5.npy", values.astype("<f8"))
    np.save(out_dir / "npy_fortran_3x5.npy", np.asfortranarray(values))
    np.save(out_dir / "npy_1d_5.npy", values[0])
    np.save(out_dir / "npy_empty_0x4.npy", np.zeros((0, 4), dtype="<f4"))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
