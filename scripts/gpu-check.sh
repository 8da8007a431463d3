#!/usr/bin/env bash
# The whole GPU check as two short runs on a GPU machine that has the CUDA driver and runtime libraries
# but no compiler packages, no package registry, and little time:
#
#   scripts/gpu-check.sh pack          here (the build machine): build the GPU tests and benchmarks for sm_90
#                                      with portable CPU code into gpu-pack/ (a few MB; it travels with the
#                                      working tree, which holds the test fixtures)
#   scripts/gpu-check.sh run1 OUT_DIR  there, from the repository root: every GPU test (a skip counts as a
#                                      failure), the CPU parity suite as a sanity check of that machine, and
#                                      the GPU benchmarks (about 3 minutes)
#   scripts/gpu-check.sh run2 OUT_DIR  there: compute-sanitizer memcheck on the op tests and the small-config
#                                      model tests, racecheck on every kernel with shared memory (the column
#                                      reductions and the Wiener peak); never the default-size model
#
# Each run writes at most four files to OUT_DIR (a summary, a tar of every log, the benchmark JSON) and ends
# by printing a short table. Every step has its own timeout. Exit status 0 only when every step passed.
set -uo pipefail
cd "$(dirname "$0")/.."
pack=gpu-pack

# Shared libraries a binary needs that are neither glibc's, the GCC runtime's (the GPU machine's own are
# newer; shipping ours would shadow them) nor CUDA's (found there, see find_cuda_libraries).
not_shipped='/(libc|libm|libdl|libpthread|librt|libresolv|ld-linux[^/]*|libstdc\+\+|libgcc_s)\.so|lib(cuda|cudart|cublas|cublasLt|cufft|cudnn[a-z_]*|nvrtc|nvJitLink|nvidia)[.-]'

pack() {
  export PATH=/usr/local/cuda/bin:$PATH
  cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DUNMIX_NATIVE=OFF -DUNMIX_CUDA_ARCHITECTURES=90 >/dev/null || return 1
  local targets=(test_umx_parity test_gpu_host_side unmix_bench_gpu unmix_bench_separate)
  # test_gpu_data_parallel needs two GPUs and mpirun (docs/training.md), so it is not part of this check.
  for src in tests/gpu/*.cpp; do
    [[ $(basename "$src") == test_gpu_data_parallel.cpp ]] || targets+=("$(basename "${src%.cpp}")")
  done
  cmake --build build-gpu -j"$(nproc)" --target "${targets[@]}" || return 1
  rm -rf "$pack" && mkdir -p "$pack/bin" "$pack/lib"
  for t in "${targets[@]}"; do
    local f
    f=$(find build-gpu/tests build-gpu/bench -maxdepth 1 -type f -name "$t" | head -1)
    [[ -n $f ]] || { echo "error: $t was not built" >&2; return 1; }
    cp "$f" "$pack/bin/" && strip "$pack/bin/$t"
  done
  # Candidates only: run1/run2 use one of these only where the GPU machine has no library of that name.
  for bin in "$pack"/bin/*; do ldd "$bin" | awk '/=> \//{print $3}'; done | sort -u | grep -Ev "$not_shipped" |
    while read -r lib; do cp -L "$lib" "$pack/lib/"; done
  for bin in "$pack"/bin/test_*; do "$bin" --gtest_list_tests >/dev/null || return 1; done
  git describe --always --dirty > "$pack/commit" 2>/dev/null || true
  du -sh "$pack"
}

# Directories holding cuDNN, cuBLAS, cuFFT and cudart on this machine: the toolkit, then the Python
# environments' nvidia-* wheels (where PyTorch images keep cuDNN). Looked up by name, never by find /.
find_cuda_libraries() {
  local dirs=()
  for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
    [[ -d $d ]] && dirs+=("$d")
  done
  local py
  for py in python3 /opt/*/.venv/bin/python3; do
    command -v "$py" >/dev/null 2>&1 || continue
    while read -r site; do
      [[ -d $site/nvidia ]] || continue
      for d in "$site"/nvidia/*/lib "$site"/nvidia/*/lib64; do
        compgen -G "$d/lib*.so*" >/dev/null && dirs+=("$d")
      done
    done < <("$py" -c 'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null)
  done
  printf '%s\n' "${dirs[@]}" | awk '!seen[$0]++'
}

setup_environment() {
  local out=$1
  [[ -d $pack/bin ]] || { echo "error: $pack/ not found; run 'scripts/gpu-check.sh pack' on the build machine" >&2; exit 2; }
  # Shipped libraries go in only where this machine lacks one of that name.
  local fallback=/tmp/unmix-gpu-pack-lib
  rm -rf "$fallback" && mkdir -p "$fallback"
  local cache
  cache=$(ldconfig -p 2>/dev/null)
  for lib in "$pack"/lib/*; do
    [[ -e $lib ]] || continue
    grep -q "^[[:space:]]*$(basename "$lib") " <<<"$cache" || ln -s "$PWD/$lib" "$fallback/"
  done
  local dirs
  dirs=$(find_cuda_libraries | paste -sd:)
  export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}${dirs:+$dirs:}$fallback
  export UNMIX_FIXTURE_DIR=$PWD/tests/fixtures
  export UNMIX_GPU_TESTS_MUST_RUN=1
  mkdir -p "$out/logs"
  {
    echo "pack commit: $(cat "$pack/commit" 2>/dev/null || echo ?)"
    if command -v nvidia-smi >/dev/null; then
      nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1
    else
      echo "nvidia-smi: not found"
    fi
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    echo "shipped libraries used: $(ls "$fallback" | paste -sd' ')"
    for bin in "$pack"/bin/*; do ldd "$bin" | grep 'not found' | sed "s|^|$(basename "$bin"): |"; done
  } > "$out/logs/machine.txt" 2>&1
}

declare -a rows=()
status=0
deadline=$((SECONDS + 280))  # each run ends within 5 minutes, its summary written, whatever its steps do

# step NAME SECONDS COMMAND...: runs under its own timeout, log in OUT/logs/NAME.log; a gtest JSON report
# (if the command writes OUT/logs/NAME.json) decides pass/fail/skip counts.
step() {
  local name=$1 seconds=$2
  shift 2
  local log=$out/logs/$name.log start=$SECONDS
  local left=$((deadline - SECONDS))
  if ((left < 5)); then
    rows+=("$(printf '%-24s %-26s' "$name" "NOT RUN (out of time)")")
    status=1
    return
  fi
  ((seconds > left)) && seconds=$left
  timeout --kill-after=5 "$seconds" "$@" > "$log" 2>&1
  local rc=$? took=$((SECONDS - start)) verdict
  local counts=""
  if [[ -f $out/logs/$name.json ]]; then
    counts=$(python3 - "$out/logs/$name.json" <<'EOF' 2>/dev/null
import json, sys
r = json.load(open(sys.argv[1]))
tests = [t for s in r.get("testsuites", []) for t in s.get("testsuite", [])]
skipped = sum(t.get("result") == "SKIPPED" for t in tests)
failed = sum(bool(t.get("failures")) for t in tests)
print(f"{len(tests)} tests, {failed} failed, {skipped} skipped")
EOF
)
    [[ -z $counts ]] && counts="$(grep -c '^\[       OK \]' "$log") ok, $(grep -c '^\[  FAILED  \]' "$log") failed lines, $(grep -c '^\[  SKIPPED \]' "$log") skipped"
  fi
  local bench_errors=0
  if [[ -n ${bench_json:-} && -f $bench_json ]]; then
    bench_errors=$(python3 -c 'import json, sys; print(sum(bool(b.get("error_occurred")) for b in json.load(open(sys.argv[1]))["benchmarks"]))' "$bench_json" 2>/dev/null || echo 1)
    counts="$(grep -c '"run_name"' "$bench_json") benchmarks, $bench_errors with errors"
  fi
  if ((rc == 124 || rc == 137)); then
    verdict="TIMEOUT (${seconds}s)"
  elif ((rc != 0)); then
    verdict="FAIL (exit $rc)"
  elif ((bench_errors > 0)); then
    verdict="FAIL (benchmark errors)"  # on the GPU machine every benchmark must run
    rc=1
  elif grep -q '^\[  SKIPPED \]' "$log"; then
    verdict="FAIL (skipped tests)"  # on the GPU machine nothing may skip
    rc=1
  else
    verdict=PASS
  fi
  ((rc != 0)) && status=1
  rows+=("$(printf '%-24s %-26s %5ss  %s' "$name" "$verdict" "$took" "$counts")")
}

gtest() {  # gtest NAME SECONDS BINARY [ARGS...]
  local name=$1 seconds=$2 bin=$3
  shift 3
  step "$name" "$seconds" "$pack/bin/$bin" --gtest_output="json:$out/logs/$name.json" "$@"
}

sanitizer_binary() {
  command -v compute-sanitizer 2>/dev/null || { [[ -x /usr/local/cuda/bin/compute-sanitizer ]] && echo /usr/local/cuda/bin/compute-sanitizer; }
}

sanitized() {  # sanitized NAME SECONDS TOOL BINARY [ARGS...]
  local name=$1 seconds=$2 tool=$3 bin=$4
  shift 4
  # API errors inside cuDNN/cuBLAS/cuFFT (their own probing) are not ours; our calls are all checked and
  # throw, which fails the test anyway.
  step "$name" "$seconds" "$sanitizer" --tool "$tool" --error-exitcode 9 --print-limit 20 --report-api-errors no \
    "$pack/bin/$bin" --gtest_output="json:$out/logs/$name.json" "$@"
}

finish() {
  local run=$1
  # Machine, the errors the tests measured, the benchmarks, and last the table of steps.
  {
    echo "# $run, $(date -u +%FT%TZ)"
    cat "$out/logs/machine.txt"
    grep -h '^GPU report:' "$out"/logs/*.log | head -1
    echo
    echo "## measured errors (test output)"
    grep -h -E 'rel(\.|ative)? error' "$out"/logs/*.log | sed 's/^ *//' | sort -u
    if compgen -G "$out/bench_*.json" >/dev/null; then
      echo
      echo "## benchmarks"
      python3 - "$out"/bench_*.json <<'EOF' 2>/dev/null || echo "(no table: python3 failed; see the JSON)"
import json, sys
skip = {"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
        "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "label", "aggregate_name"}
for path in sys.argv[1:]:
    for b in json.load(open(path)).get("benchmarks", []):
        if b.get("error_occurred"):
            print(f"{b['name']:<44} ERROR {b.get('error_message', '')}")
            continue
        counters = "  ".join(f"{k} {v:.4g}" for k, v in b.items() if k not in skip and isinstance(v, (int, float)))
        print(f"{b['name']:<44} {b['real_time']:>10.3f} {b['time_unit']:<3} {counters}  {b.get('label', '')}")
EOF
    fi
    echo
    echo "## steps"
    printf '%s\n' "${rows[@]}"
    echo "$run: $([[ $status == 0 ]] && echo PASSED || echo FAILED)"
  } > "$out/$run-summary.txt"
  tar -czf "$out/$run-logs.tar.gz" -C "$out" logs && rm -rf "$out/logs"
  cat "$out/$run-summary.txt"
  exit $status
}

case "${1:-}" in
pack)
  pack
  ;;
run1)
  out=${2:?usage: scripts/gpu-check.sh run1 OUT_DIR}
  setup_environment "$out"
  gtest device 20 test_device
  gtest host_side 20 test_gpu_host_side
  gtest gpu_ops 40 test_gpu_ops
  gtest wiener_gpu 30 test_wiener_gpu
  gtest gpu_umx 40 test_gpu_umx
  gtest gpu_train 60 test_gpu_train
  gtest gpu_separate 60 test_gpu_separate
  gtest cpu_parity 30 test_umx_parity
  bench_json=$out/bench_gpu.json step bench_gpu 90 "$pack/bin/unmix_bench_gpu" --benchmark_min_time=0.2 \
    --benchmark_out="$out/bench_gpu.json" --benchmark_out_format=json
  # end to end: the GPU on 30 s and 3 min, the CPU on the same 3 min in the same run (the ratio's reference)
  bench_json=$out/bench_separate.json step bench_separate 90 "$pack/bin/unmix_bench_separate" \
    --benchmark_filter='BM_SeparateGpu|BM_SeparateCpu/180/1|BM_WienerGpu' \
    --benchmark_out="$out/bench_separate.json" --benchmark_out_format=json
  finish run1
  ;;
run2)
  out=${2:?usage: scripts/gpu-check.sh run2 OUT_DIR}
  setup_environment "$out"
  sanitizer=$(sanitizer_binary)
  if [[ -z $sanitizer ]]; then
    rows+=("compute-sanitizer             FAIL (not found)")
    status=1
    finish run2
  fi
  sanitized memcheck_ops 70 memcheck test_gpu_ops
  sanitized memcheck_wiener 40 memcheck test_wiener_gpu
  # small configs only: GpuUmxDefaultSize.* and the default-size separation stay out of the sanitizer
  sanitized memcheck_umx 60 memcheck test_gpu_umx --gtest_filter='GpuUmx.*'
  sanitized memcheck_train 40 memcheck test_gpu_train --gtest_filter='GpuTrainEngine.*'
  # shared memory: the column reductions (BatchNorm, input and output stages), the MSE loss, the Wiener peak
  sanitized racecheck_reductions 60 racecheck test_gpu_ops \
    --gtest_filter='*BatchNorm*:*OutputMask*:*MseLoss*:*MagnitudeInputNorm*'
  sanitized racecheck_wiener 30 racecheck test_wiener_gpu --gtest_filter='*EveryStage*'
  finish run2
  ;;
*)
  sed -n '2,16p' "$0"
  exit 2
  ;;
esac
