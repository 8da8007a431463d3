#!/usr/bin/env bash
# Builds everything (library, tools, tests, benchmarks) and runs the test suite. GPU tests skip themselves
# with a reason on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export PATH=/usr/local/cuda/bin:$PATH
cmake --preset default
cmake --build --preset default
ctest --preset default
