#!/usr/bin/env bash
# GPU checks in two halves, for a GPU machine that has the CUDA runtime libraries but no compiler packages
# or package registry:
#   scripts/gpu-check.sh pack            on the build machine: build the GPU tests, benchmarks and tools for
#                                        sm_90 (portable CPU code), gather them with the non-CUDA shared
#                                        libraries they need into gpu-pack/ (small enough to copy over)
#   scripts/gpu-check.sh run OUT_DIR     on the GPU machine, from the repository root with gpu-pack/ beside
#                                        it: run the GPU tests (plus compute-sanitizer memcheck/racecheck) and
#                                        the GPU benchmarks, write logs and JSON to OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
pack=gpu-pack

case "${1:-}" in
pack)
  export PATH=/usr/local/cuda/bin:$PATH
  cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DUNMIX_NATIVE=OFF -DUNMIX_CUDA_ARCHITECTURES=90 >/dev/null
  targets=(test_device test_gpu_ops test_gpu_umx test_umx_parity unmix_bench_gpu)
  # every GPU test file there is, plus the CPU parity test as a sanity check on that machine's CPU
  for src in tests/gpu/*.cpp; do targets+=("$(basename "${src%.cpp}")"); done
  mapfile -t targets < <(printf '%s\n' "${targets[@]}" | sort -u)
  cmake --build build-gpu -j"$(nproc)" --target "${targets[@]}"
  rm -rf "$pack" && mkdir -p "$pack/bin" "$pack/lib"
  for t in "${targets[@]}"; do
    f=$(find build-gpu/tests build-gpu/bench -maxdepth 1 -type f -name "$t" | head -1)
    [[ -n $f ]] && cp "$f" "$pack/bin/" && strip "$pack/bin/$t"
  done
  # Shared libraries from this machine that the GPU image may lack; CUDA's own libraries (cudart, cuBLAS,
  # cuFFT, cuDNN) and the C runtime are found on the GPU machine instead.
  for bin in "$pack"/bin/*; do
    ldd "$bin" | awk '/=> \//{print $3}'
  done | sort -u | grep -Ev '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*)\.so|libcuda|libcudart|libcublas|libcufft|libcudnn|libnv' |
    while read -r lib; do cp -L "$lib" "$pack/lib/"; done
  cp -r tests/fixtures "$pack/fixtures"
  du -sh "$pack"
  ;;
run)
  out=${2:?usage: scripts/gpu-check.sh run OUT_DIR}
  mkdir -p "$out"
  [[ -d $pack/bin ]] || { echo "error: $pack/ not found; run 'scripts/gpu-check.sh pack' on the build machine" >&2; exit 1; }
  # cuDNN may live only in a Python environment's nvidia/ packages; cuBLAS/cuFFT/cudart in the toolkit or there.
  libdirs=("$PWD/$pack/lib" /usr/local/cuda/lib64)
  while read -r so; do libdirs+=("$(dirname "$so")"); done < <(find / -xdev \( -name 'libcudnn.so.9*' -o -name 'libcublas.so.13*' -o -name 'libcufft.so.12*' -o -name 'libcudart.so.13*' \) 2>/dev/null | sort -u)
  export LD_LIBRARY_PATH=$(printf '%s:' "${libdirs[@]}" | awk -v RS=: '!seen[$0]++ && NF' | paste -sd:)
  export UNMIX_FIXTURE_DIR=$PWD/$pack/fixtures
  { nvidia-smi || true; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; } > "$out/machine.txt" 2>&1
  for bin in "$pack"/bin/*; do ldd "$bin" | grep 'not found' && echo "missing libraries for $bin" >> "$out/missing.txt"; done || true
  status=0
  for t in "$pack"/bin/test_*; do
    name=$(basename "$t")
    echo "== $name"
    "$t" --gtest_output="json:$out/$name.json" > "$out/$name.log" 2>&1 || status=1
    tail -n 3 "$out/$name.log"
  done
  if command -v compute-sanitizer >/dev/null || [[ -x /usr/local/cuda/bin/compute-sanitizer ]]; then
    sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
    "$sanitizer" --tool memcheck --error-exitcode 9 "$pack/bin/test_gpu_ops" > "$out/memcheck.log" 2>&1 || status=1
    # the kernels with shared memory: the column reductions (BatchNorm, input/output stages) and the loss
    "$sanitizer" --tool racecheck --error-exitcode 9 "$pack/bin/test_gpu_ops" \
      --gtest_filter='*BatchNorm*:*OutputMask*:*MseLoss*:*MagnitudeInputNorm*' > "$out/racecheck.log" 2>&1 || status=1
    tail -n 2 "$out/memcheck.log" "$out/racecheck.log"
  fi
  if [[ -x $pack/bin/unmix_bench_gpu ]]; then
    "$pack/bin/unmix_bench_gpu" --benchmark_out="$out/bench_gpu.json" --benchmark_out_format=json \
      > "$out/bench_gpu.log" 2>&1 || status=1
    cat "$out/bench_gpu.log"
  fi
  exit $status
  ;;
*)
  sed -n '2,9p' "$0"
  exit 2
  ;;
esac
