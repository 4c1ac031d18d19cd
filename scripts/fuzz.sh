#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (clang-14, ASan + UBSan, no libtorch) into build-fuzz/ and
# runs each for SECONDS (default 60) on its seeds (fuzz/make_seeds.py) and its growing corpus.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # e.g. scripts/fuzz.sh 30 config_fuzzer
#   TLENS_FUZZ_RUNS=1000000 TLENS_FUZZ_JOBS=2 scripts/fuzz.sh   # a fixed number of inputs each,
#                                                               # two targets at a time
# Fails (non-zero) when any target crashes, leaks, times out (10 s on one input) or runs out of
# memory (2 GB); the input that did it is saved as build-fuzz/findings/<target>-<kind>-<sha1> and
# named in the output (reproduce: build-fuzz/fuzz/<target> FILE). Fixed ones go to
# fuzz/regressions/<target>/ so every later run starts from them.
# Environment: TLENS_FUZZ_DIR (default build-fuzz), TLENS_SKIP_APT=1 to skip the package step.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
dir=${TLENS_FUZZ_DIR:-build-fuzz}
all_targets=(safetensors_fuzzer config_fuzzer tokenizer_files_fuzzer tokenizer_encode_fuzzer
             id_list_fuzzer)
targets=("$@")
[ $# -gt 0 ] || targets=("${all_targets[@]}")

scripts/install_packages.sh clang-14 libfuzzer-14-dev libclang-rt-14-dev cmake ninja-build ccache \
  pkg-config nlohmann-json3-dev libpcre2-dev libicu-dev libcurl4-openssl-dev python3

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache} CCACHE_BASEDIR=$(pwd)
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTLENS_BUILD_FUZZERS=ON >/dev/null
fi
cmake --build "$dir" --target fuzzers -j "$(nproc)"
python3 fuzz/make_seeds.py "$dir/seeds" >/dev/null

# Longest input each target makes: the seeds fit, and bigger inputs would only slow it down.
declare -A max_len=([safetensors_fuzzer]=8192 [config_fuzzer]=4096 [tokenizer_files_fuzzer]=8192
                    [tokenizer_encode_fuzzer]=4096 [id_list_fuzzer]=256)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
mkdir -p "$dir/findings" "$dir/logs"

# run_target TARGET: fuzzes one target; its summary line goes to logs/TARGET.result.
run_target() {
  local target=$1 log="$dir/logs/$1.log" start status=0 runs result=ok
  local limit=(-max_total_time="$seconds")
  [ -z "${TLENS_FUZZ_RUNS:-}" ] || limit=(-runs="$TLENS_FUZZ_RUNS")
  mkdir -p "$dir/corpus/$target"
  start=$(date +%s)
  "$dir/fuzz/$target" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$target]}" \
    -print_final_stats=1 -artifact_prefix="$dir/findings/$target-" \
    "$dir/corpus/$target" "$dir/seeds/$target" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" != 0 ]; then
    result="FAILED (exit $status): $(grep -o "Test unit written to .*" "$log" | tail -1)"
  fi
  printf '%-24s %10s %8s %s\n' "$target" "${runs:-?}" "$(( $(date +%s) - start ))" "$result" \
    >"$dir/logs/$target.result"
  return "$status"
}

# TLENS_FUZZ_JOBS targets at a time (default 1).
jobs=${TLENS_FUZZ_JOBS:-1}
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$target" &
done
wait || true

failed=()
printf '%-24s %10s %8s %s\n' target executions seconds result
for target in "${targets[@]}"; do
  cat "$dir/logs/$target.result"
  if ! grep -q ' ok$' "$dir/logs/$target.result"; then
    failed+=("$target")
    grep -E "ERROR|SUMMARY|fuzz check failed|terminate called|what\(\)" "$dir/logs/$target.log" \
      | head -20 || true
    echo "  full log: $dir/logs/$target.log"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no findings"
