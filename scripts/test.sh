#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: system packages, the
# formatting and lint gate (rustfmt, clippy with warnings as errors), the
# Windows and macOS builds (scripts/cross.sh), the example guests built from
# source, then every test (the Windows ones run wbox.exe under Wine), then a
# short fuzzing smoke of each parser of untrusted input from its checked-in
# corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
scripts/cross.sh
examples/build.sh
examples/build-python.sh
tests/wasi-testsuite/build.sh
tests/python/install.sh
cargo test --workspace "$@"
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
