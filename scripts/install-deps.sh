#!/usr/bin/env bash
# Installs the build and test dependencies from Debian's packages. Idempotent: does nothing when all are
# present. The CUDA toolkit (nvcc 13, cuBLAS, cuFFT, cuDNN 9) is expected in /usr/local/cuda.
set -euo pipefail

packages=(
  cmake make g++ pkg-config ccache
  libeigen3-dev libsndfile1-dev libsamplerate0-dev nlohmann-json3-dev libcli11-dev libyaml-cpp-dev
  libfluidsynth-dev timgm6mb-soundfont libebur128-dev libcairo2-dev
  liblilv-dev lv2-dev guitarix-lv2 lsp-plugins-lv2 x42-plugins
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin
  clang libclang-rt-dev  # libFuzzer and the sanitizers of the fuzz harnesses (scripts/fuzz.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

nvcc=${CUDACXX:-/usr/local/cuda/bin/nvcc}
if [[ ! -x $nvcc ]] && ! command -v nvcc >/dev/null; then
  echo "error: the CUDA toolkit (nvcc) was not found in /usr/local/cuda; install CUDA 13 with cuDNN 9 there" >&2
  exit 1
fi
