"""The generated parts of the sample shop (examples/data/attributes.tsv,
interactions.tsv) are exactly what examples/data/make_shop_data.py writes."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"


def test_generated_files_are_reproducible(tmp_path):
    subprocess.run([sys.executable, str(DATA / "make_shop_data.py"), str(tmp_path)], check=True)
    for name in ("attributes.tsv", "interactions.tsv"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
