#!/usr/bin/env bash
# Builds the fuzz targets of tests/fuzz/ with clang's libFuzzer under
# AddressSanitizer + UndefinedBehaviorSanitizer and runs each for a while,
# as many at a time as there are cores:
#
#   ./scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET ...]
#
# Targets: model_file tokenizer sentencepiece_model ratings npy cli_options
# query_attributes catalogue lexical_analysis serve (default: all). serve
# drives embedrank-serve's routes (server/serve/) on the tiny models that
# `ctest -R convert_fixtures|convert_head_fixtures` converts into
# build/test_work (made here when missing). Each starts from
# the committed seeds (tests/fuzz/seeds/TARGET) plus what earlier runs kept
# in build-fuzz/corpus/TARGET, and prints its executions, coverage and
# findings; an input that crashes, hangs (> 5 s) or throws anything but an
# embedrank::Error is saved as build-fuzz/TARGET-crash-* and the script
# exits 1. A finding becomes a regression test with the input committed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(model_file tokenizer sentencepiece_model ratings npy cli_options query_attributes catalogue
                                    lexical_analysis serve)

./scripts/install_deps.sh clang libclang-rt-14-dev
work="$PWD/build/test_work"
if [ ! -f "$work/models/bert_gelu_mean.f32.bin" ] || [ ! -f "$work/heads/bert_seq_cls.f32.bin" ]; then
  /usr/bin/python3 weights_tools/make_test_models.py --convert-only tests/data/models "$work/models" >/dev/null
  /usr/bin/python3 weights_tools/make_head_models.py --convert-only tests/data/heads "$work/heads" >/dev/null
fi
out=build-fuzz
mkdir -p "$out"
flags=(-std=c++17 -O1 -gline-tables-only -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Iinclude -Itests -Iexamples -Iserver -I/usr/include/eigen3
       -DEMBEDRANK_TEST_DATA_DIR="\"$PWD/tests/data\"" -DEMBEDRANK_TEST_WORK_DIR="\"$work\"")
libs=(-lpthread)

jobs=$(nproc)
# Up to $jobs commands at a time: run_limited CMD... starts one when a slot is free.
run_limited() {
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  "$@" &
}

# Build the targets whose sources changed, $jobs at a time.
build_target() {
  clang++ "${flags[@]}" "tests/fuzz/fuzz_$1.cpp" -o "$out/fuzz_$1" "${libs[@]}" || echo "$1" >>"$out/build-failed"
}
rm -f "$out/build-failed"
for target in "${targets[@]}"; do
  binary="$out/fuzz_$target"
  if [ ! -x "$binary" ] || [ -n "$(find include server examples tests -newer "$binary" -name '*.hpp' -o -newer "$binary" -name '*.cpp' | head -1)" ]; then
    echo "== building fuzz_$target"
    run_limited build_target "$target"
  fi
done
wait
if [ -f "$out/build-failed" ]; then
  echo "fuzz targets failed to build: $(tr '\n' ' ' <"$out/build-failed")" >&2
  exit 1
fi

# Fuzz them, $jobs at a time (each fuzzer is one single-threaded process).
fuzz_target() {
  local target=$1 corpus="$out/corpus/$1" log="$out/$1.log"
  mkdir -p "$corpus"
  if ! "$out/fuzz_$target" "$corpus" "tests/fuzz/seeds/$target" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="$out/$target-" >"$log" 2>&1; then
    echo "$target" >>"$out/findings"
  fi
}
rm -f "$out/findings"
for target in "${targets[@]}"; do
  echo "== fuzz_$target for ${seconds}s"
  run_limited fuzz_target "$target"
done
wait

status=0
for target in "${targets[@]}"; do
  log="$out/$target.log"
  if grep -qx "$target" "$out/findings" 2>/dev/null; then
    status=1
    echo "FINDING in fuzz_$target (see $log):"
    grep -E "ERROR|SUMMARY|broken promise|terminate|Test unit written" "$log" | head -5
  fi
  runs=$(grep -ao 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  coverage=$(grep -aoE 'DONE +cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || echo "cov: ?")
  echo "fuzz_$target: $runs executions, $coverage, corpus $(ls "$out/corpus/$target" | wc -l) inputs"
done
exit $status
