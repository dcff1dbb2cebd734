#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test:
#   1. C++ tests (Catch2, through ctest) in a Release build in build/,
#   2. Python tests (pytest) for weights_tools/,
#   3. the C++ tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#      in build-asan/, and the thread pool, the kernels and the concurrency
#      tests (one Embedder, EmbeddingIndex, UserKnn shared by 8 threads)
#      under ThreadSanitizer in build-tsan/ (set
#      EMBEDRANK_SKIP_SANITIZERS=1 to skip both locally).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install_deps.sh
# The Debian interpreter is the one with python3-numpy and python3-pytest.
PYTHON=${PYTHON:-/usr/bin/python3}
jobs=$(nproc)

# The real checkpoints of the real-model tests; if one cannot be had, its
# test fails and says why, the others still run.
./scripts/get_model.sh all-MiniLM-L6-v2 ||
  echo "warning: could not obtain all-MiniLM-L6-v2; the real-model test will fail" >&2
EMBEDRANK_MODEL_DTYPES="f32 f16 int8" ./scripts/get_model.sh all-mpnet-base-v2 ||
  echo "warning: could not obtain all-mpnet-base-v2; its real-model test will fail" >&2

echo "== C++ tests (Release) =="
cmake -S . -B build -DPython3_EXECUTABLE="$PYTHON" >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure

echo "== Installed package, used as the README shows =="
cmake --install build --prefix build/install >/dev/null
cmake -S tests/consumer -B build/consumer -DCMAKE_PREFIX_PATH="$PWD/build/install" >/dev/null
cmake --build build/consumer -j"$jobs" >/dev/null
if [ -f models/all-MiniLM-L6-v2.f32.bin ]; then
  build/consumer/consumer models/all-MiniLM-L6-v2.f32.bin
fi

echo "== Python tests =="
"$PYTHON" -m pytest -q tests/tools

if [ "${EMBEDRANK_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer =="
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBEDRANK_SANITIZE=ON \
    -DEMBEDRANK_BUILD_BENCHMARKS=OFF -DEMBEDRANK_BUILD_EXAMPLES=OFF \
    -DPython3_EXECUTABLE="$PYTHON" >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure

  echo "== Thread pool, kernels and shared models under ThreadSanitizer =="
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS=-fsanitize=thread \
    -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DEMBEDRANK_BUILD_BENCHMARKS=OFF -DEMBEDRANK_BUILD_EXAMPLES=OFF \
    -DPython3_EXECUTABLE="$PYTHON" >/dev/null
  cmake --build build-tsan -j"$jobs" --target test_core test_nn test_model test_rank test_cf
  ctest --test-dir build-tsan -R convert_fixtures >/dev/null
  TSAN_OPTIONS=halt_on_error=1 build-tsan/bin/test_core "[thread_pool]"
  TSAN_OPTIONS=halt_on_error=1 build-tsan/bin/test_nn
  TSAN_OPTIONS=halt_on_error=1 build-tsan/bin/test_model "[threads],[determinism],[batch]"
  TSAN_OPTIONS=halt_on_error=1 build-tsan/bin/test_rank "[threads]"
  TSAN_OPTIONS=halt_on_error=1 build-tsan/bin/test_cf "[threads]"
fi
