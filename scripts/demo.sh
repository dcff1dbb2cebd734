#!/usr/bin/env bash
# The main job end to end: installs what is needed, obtains and converts the
# default model (all-MiniLM-L6-v2), builds, and runs the shopping guide on the
# bundled sample shop (examples/data): semantic product search for natural
# language queries, and personalised recommendations with their reasons.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install_deps.sh
EMBEDRANK_MODEL_DTYPES=f32 ./scripts/get_model.sh

cmake -S . -B build -DPython3_EXECUTABLE="${PYTHON:-/usr/bin/python3}" >/dev/null
cmake --build build -j"$(nproc)" --target shopping_guide embedrank-embed embedrank-search >/dev/null

./build/bin/shopping_guide --model models/all-MiniLM-L6-v2.f32.bin --data examples/data "$@"
