#!/usr/bin/env bash
# Builds the example guests (and the test guests) from source into
# examples/out/: core modules with Debian's clang + wasi-libc, and WASI 0.2
# components from those modules with the preview-1 adapter.
set -euo pipefail
cd "$(dirname "$0")/.."
out=examples/out
mkdir -p "$out"

command -v clang >/dev/null || {
    echo "build.sh: clang is missing; install clang lld wasi-libc libclang-rt-14-dev-wasm32" >&2
    exit 1
}

cc() { clang --target=wasm32-wasi -O2 -Wall -Werror -Wl,--strip-debug "$@"; }

cc examples/hello/hello.c -o "$out/hello.wasm"
cc examples/wc/wc.c -o "$out/wc.wasm"
cc examples/escape/escape.c -o "$out/escape.wasm"
cc tests/guests/probe.c -o "$out/probe.wasm"
cc tests/guests/netprobe.c -o "$out/netprobe.core.wasm" -Wl,--allow-undefined
cc -DHONOUR_INITIAL_CWD -mexec-model=reactor tests/guests/probe.c -o "$out/probe-cwd.core.wasm" -Wl,--allow-undefined

cargo build --quiet -p componentize
componentize=${CARGO_TARGET_DIR:-target}/debug/componentize
for name in hello wc escape probe; do
    "$componentize" "$out/$name.wasm" "$out/$name.component.wasm"
done
# netprobe imports WASI 0.2 sockets directly, as named in its WIT world over
# the WASI packages that wasmtime-wasi itself is built from.
wasi_wit=$(cargo metadata --format-version 1 --locked |
    python3 -c 'import json, os, sys; print(next(os.path.dirname(p["manifest_path"]) for p in json.load(sys.stdin)["packages"] if p["name"] == "wasmtime-wasi"))')/src/p2/wit
"$componentize" "$out/netprobe.core.wasm" "$out/netprobe.component.wasm" "$wasi_wit" tests/guests/netprobe.wit
# probe-cwd is probe that moves to WASI 0.2's initial-cwd before main.
"$componentize" "$out/probe-cwd.core.wasm" "$out/probe-cwd.component.wasm" "$wasi_wit" tests/guests/cwd.wit
# WASI 0.3 guests in Rust, an HTTP service and a command (their bindings
# from the WASI 0.3 WIT the vendored wasi-testsuite carries).
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
cargo build --quiet --release --target wasm32-wasip2 --manifest-path tests/guests/hello-p3/Cargo.toml \
    --bin hello-p3 --bin greet-p3 \
    --target-dir "${CARGO_TARGET_DIR:-$PWD/target}"
for name in hello-p3 greet-p3; do
    cp "${CARGO_TARGET_DIR:-$PWD/target}/wasm32-wasip2/release/$name.wasm" "$out/$name.wasm"
done
ls -l "$out"
