#!/usr/bin/env bash
# The training pipeline on data it makes itself: synthesize songs with FluidSynth, train a small model on the guitar
# (GPU when present, else CPU), separate the held-out songs, evaluate them next to the oracles. Outputs in
# ./demo-out/. Extra arguments go to the demo tool (see build/tools/demo --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export PATH=/usr/local/cuda/bin:$PATH
cmake --preset default >/dev/null
cmake --build --preset default --target unmix-demo
build/tools/demo --out demo-out "$@"
