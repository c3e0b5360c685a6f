#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: system packages, the
# example guests built from source, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
examples/build.sh
examples/build-python.sh
cargo test --workspace "$@"
