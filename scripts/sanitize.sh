#!/usr/bin/env bash
# The CPU test suite with the library, the tests and the tools built with AddressSanitizer and
# UndefinedBehaviorSanitizer (float-to-int overflow included), preset "sanitize" in build-sanitize/: a memory
# error, a leak or undefined behaviour in any test or in any command a test runs fails the run. Device code
# is built as usual (the sanitizers see the host side); benchmarks, GPU tests and MPI are left out to keep
# it lean: the main suite (scripts/test.sh) covers those.
# Third-party findings only are exempt (CMakePresets.json "sanitize" test preset, scripts/lsan-suppressions.txt).
#   scripts/sanitize.sh                 # CI
#   scripts/sanitize.sh -R reliability  # by hand: ctest's arguments select tests
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export PATH=/usr/local/cuda/bin:$PATH
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize
ctest --preset sanitize "$@"
