#!/usr/bin/env bash
# Serves the sample shop over HTTP: installs what is needed, obtains and
# converts the default model (multilingual-e5-small), builds embedrank-serve and
# runs it on http://127.0.0.1:8080 with examples/data's catalogue and
# interaction log; the shopping-guide page is at / (with the named shoppers
# and the demo's offline evaluation). Further flags go to embedrank-serve (--port, --host,
# --api-key, ...; see docs/serve.md or `build/bin/embedrank-serve --help`).
# Stop it with Ctrl-C or SIGTERM: it finishes the requests in flight first.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install_deps.sh
# The model: multilingual-e5-small, or --model NAME (first) for another
# that get_model.sh knows, e.g. the English all-MiniLM-L6-v2.
source scripts/model_choice.sh
choose_model "$@"
shift "$model_args"

cmake -S . -B build -DPython3_EXECUTABLE="${PYTHON:-/usr/bin/python3}" >/dev/null
cmake --build build -j"$(nproc)" --target embedrank-serve >/dev/null

exec ./build/bin/embedrank-serve --model "models/$model.$dtype.bin" \
  --served-model-name "$model" \
  --catalogue examples/data/catalogue.tsv --catalogue examples/data/attributes.tsv \
  --interactions examples/data/interactions.tsv \
  --shoppers examples/data/histories.tsv --evaluation examples/data/evaluation.tsv "$@"
