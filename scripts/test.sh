#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test:
#   1. C++ tests (Catch2, through ctest) in a Release build in build/; the
#      installed package used through find_package and pkg-config, and the
#      source fetched with FetchContent (tests/consumer*),
#   2. Python tests (pytest) for weights_tools/, and for the Python package
#      (python/): once as CMake built it in build/python, once as
#      `pip install ./python` builds and installs it into a fresh venv; the
#      HTTP service (build/bin/embedrank-serve, tests/serve/) run for real
#      and called by the openai client, requests, curl and wrk; the Spark
#      examples (examples/spark/) in local mode; the page embedrank-serve
#      serves at / in headless Chromium (tests/serve/test_page.py),
#   3. the C++ tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#      in build-asan/ (with the command-line programs cli_errors and
#      cf_cli_surprise_parity run), and the thread pool, the kernels and the
#      concurrency tests (one Embedder, Tokenizer, EmbeddingIndex, UserKnn,
#      ShoppingGuide shared by 8 threads; a ShoppingGuide read by 8 threads
#      while one writer updates it)
#      under ThreadSanitizer in build-tsan/ (test_threads; set
#      EMBEDRANK_SKIP_SANITIZERS=1 to skip both locally).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install_deps.sh --spark --serve
# The Debian interpreter is the one with python3-numpy and python3-pytest.
PYTHON=${PYTHON:-/usr/bin/python3}
jobs=$(nproc)

# The real checkpoints of the real-model tests; if one cannot be had, its
# test fails and says why, the others still run.
./scripts/get_model.sh all-MiniLM-L6-v2 ||
  echo "warning: could not obtain all-MiniLM-L6-v2; the real-model test will fail" >&2
EMBEDRANK_MODEL_DTYPES="f32 f16 int8" ./scripts/get_model.sh all-mpnet-base-v2 ||
  echo "warning: could not obtain all-mpnet-base-v2; its real-model test will fail" >&2
./scripts/get_model.sh multilingual-e5-small ||
  echo "warning: could not obtain multilingual-e5-small; its tests will fail" >&2

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

echo "== Installed package through pkg-config =="
pc_dir=$(dirname "$(find build/install -name embedrank.pc | head -n 1)")
# shellcheck disable=SC2046  # pkg-config prints several flags
c++ -std=c++17 -O2 tests/consumer/main.cpp -o build/consumer/consumer_pkgconfig \
  $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs embedrank)
if [ -f models/all-MiniLM-L6-v2.f32.bin ]; then
  build/consumer/consumer_pkgconfig models/all-MiniLM-L6-v2.f32.bin
fi

echo "== Fetched with FetchContent from a source archive =="
# The archive holds the files Git knows of (committed or new, not ignored).
git ls-files -z --cached --others --exclude-standard |
  tar -czf build/embedrank-src.tar.gz --null -T - --transform 's,^,embedrank/,'
rm -rf build/consumer_fetchcontent
cmake -S tests/consumer_fetchcontent -B build/consumer_fetchcontent -DCMAKE_BUILD_TYPE=Release \
  -DEMBEDRANK_URL="file://$PWD/build/embedrank-src.tar.gz" >/dev/null
cmake --build build/consumer_fetchcontent -j"$jobs" >/dev/null
if [ -f models/all-MiniLM-L6-v2.f32.bin ]; then
  build/consumer_fetchcontent/consumer models/all-MiniLM-L6-v2.f32.bin
fi

echo "== Python tests =="
"$PYTHON" -m pytest -q tests/tools

echo "== Python package (build/python) =="
"$PYTHON" -m pytest -q tests/python

echo "== Python package, installed with pip as the README shows =="
rm -rf build/pip-venv
"$PYTHON" -m venv --system-site-packages build/pip-venv
# --no-build-isolation: Debian's setuptools, nothing fetched from PyPI
CMAKE_BUILD_PARALLEL_LEVEL=$jobs build/pip-venv/bin/pip install --quiet --no-build-isolation --no-deps \
  --disable-pip-version-check ./python
EMBEDRANK_TEST_INSTALLED=1 build/pip-venv/bin/python -m pytest -q -p no:cacheprovider tests/python

echo "== HTTP service: embedrank-serve called by real clients (openai, requests, curl, wrk) =="
.venv-serve/bin/python -m pytest -q -p no:cacheprovider tests/serve --ignore=tests/serve/test_page.py

echo "== Spark examples (local mode, 2 cores) =="
.venv-spark/bin/python -m pytest -q -p no:cacheprovider tests/spark

echo "== The shopping-guide page of embedrank-serve, in headless Chromium =="
"$PYTHON" -m pytest -q -p no:cacheprovider tests/serve/test_page.py

if [ "${EMBEDRANK_SKIP_SANITIZERS:-0}" != 1 ]; then
  # Both sanitizer builds compile at -O1 with line tables only (-g1): the
  # optimisation AddressSanitizer's documentation advises, file:line in
  # every report, and about a third of the compile time of -O2 -g.
  # -fexpensive-optimizations keeps -O2's floating-point contraction (FMA),
  # so the tests check the arithmetic the Release build does.
  sanitizer_flags="-O1 -fexpensive-optimizations -g1 -DNDEBUG"
  echo "== C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer =="
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$sanitizer_flags" \
    -DEMBEDRANK_SANITIZE=ON \
    -DEMBEDRANK_BUILD_BENCHMARKS=OFF -DEMBEDRANK_BUILD_EXAMPLES=ON -DEMBEDRANK_BUILD_PYTHON=OFF \
    -DEMBEDRANK_BUILD_SERVER=OFF -DPython3_EXECUTABLE="$PYTHON" >/dev/null
  # The test programs, and of the examples only the command-line programs
  # that cli_errors and cf_cli_surprise_parity run (not shopping_guide).
  cmake --build build-asan -j"$jobs" --target test_core test_io test_nn test_model test_text test_cf test_rank \
    test_shop embedrank-embed embedrank-search embedrank-tokenize embedrank-cf embedrank-rerank embedrank-classify
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure

  echo "== Thread pool, kernels and shared models under ThreadSanitizer =="
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$sanitizer_flags" \
    -DCMAKE_CXX_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
    -DEMBEDRANK_BUILD_BENCHMARKS=OFF -DEMBEDRANK_BUILD_EXAMPLES=OFF -DEMBEDRANK_BUILD_PYTHON=OFF \
    -DEMBEDRANK_BUILD_SERVER=OFF -DPython3_EXECUTABLE="$PYTHON" >/dev/null
  # test_threads: the test files with concurrency tests and the kernels'
  # (tests/CMakeLists.txt); -# tags each test with its file's name.
  cmake --build build-tsan -j"$jobs" --target test_threads
  ctest --test-dir build-tsan -R convert_fixtures >/dev/null
  # -w NoTests: a tag filter that matches no test fails the run (Catch2 2.13 would exit 0)
  TSAN_OPTIONS=halt_on_error=1 build-tsan/bin/test_threads -# -w NoTests \
    "[thread_pool],[threads],[determinism],[batch],[#test_nn],[#test_fast_paths]"
fi
