#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: system packages, the
# example guests built from source, then every test, then a short fuzzing
# smoke of each parser of untrusted input from its checked-in corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
examples/build.sh
examples/build-python.sh
cargo test --workspace "$@"
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
