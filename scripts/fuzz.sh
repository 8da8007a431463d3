#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang + ASan + UBSan) and runs each for SECONDS (default 60),
# starting from the seeds the test suite wrote into build/fuzz-seeds/ (run scripts/test.sh or
# build/tests/test_fuzz_seeds first). Findings land in build-fuzz/findings/<harness>/ and fail the run.
# FUZZ_SEED fixes libFuzzer's random seed (default 1), so a run repeats: a slower machine runs a prefix of
# the same inputs, and what CI finds reproduces here. FUZZ_SEED=0 draws a new seed each run (for long runs).
#   scripts/fuzz.sh 60                          # CI: a minute per harness, seed 1
#   FUZZ_SEED=0 scripts/fuzz.sh 3600 audio      # by hand: an hour of one harness, fresh inputs
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
seed=${FUZZ_SEED:-1}
shift || true
harnesses=("$@")
((${#harnesses[@]})) || harnesses=(safetensors model_json checkpoint manifest_json medleydb_yaml audio)

if ! command -v clang++ >/dev/null; then
  echo "error: clang++ not found (Debian: apt-get install clang); the fuzz harnesses need libFuzzer" >&2
  exit 1
fi
CC=clang CXX=clang++ cmake -S fuzz -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)"

status=0
for h in "${harnesses[@]}"; do
  corpus=build-fuzz/corpus/$h findings=build-fuzz/findings/$h
  mkdir -p "$corpus" "$findings"
  seeds=build/fuzz-seeds/$h
  [[ -d $seeds ]] || { echo "note: no seeds in $seeds (run the test suite first); starting from nothing"; seeds=; }
  echo "fuzz_$h: ${seconds} s, seed $seed"
  # -rss_limit_mb: a reader that needs more than 2 GB for a small input is a finding too.
  if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
      build-fuzz/fuzz_"$h" -max_total_time="$seconds" -seed="$seed" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
      -artifact_prefix="$findings/" "$corpus" ${seeds:+"$seeds"} > "build-fuzz/fuzz_$h.log" 2>&1; then
    echo "error: fuzz_$h found a problem; input in $findings/, log build-fuzz/fuzz_$h.log" >&2
    tail -40 "build-fuzz/fuzz_$h.log" >&2
    status=1
  fi
  grep -E "^stat::(number_of_executed_units|peak_rss_mb)" "build-fuzz/fuzz_$h.log" | tr '\n' ' '; echo
done
exit $status
