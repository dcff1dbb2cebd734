#!/usr/bin/env bash
# The main job end to end: installs what is needed, obtains and converts the
# default model (multilingual-e5-small), builds, and runs the shopping guide on the
# bundled sample shop (examples/data): semantic product search for natural
# language queries, and personalised recommendations with their reasons.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install_deps.sh
# The model: multilingual-e5-small, or --model NAME (first) for another
# that get_model.sh knows, e.g. the English all-MiniLM-L6-v2.
source scripts/model_choice.sh
choose_model "$@"
shift "$model_args"

cmake -S . -B build -DPython3_EXECUTABLE="${PYTHON:-/usr/bin/python3}" >/dev/null
cmake --build build -j"$(nproc)" --target shopping_guide embedrank-embed embedrank-search >/dev/null

./build/bin/shopping_guide --model "models/$model.$dtype.bin" --data examples/data "$@"
