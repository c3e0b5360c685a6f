#!/usr/bin/env bash
# wbox for the other systems, from this Linux machine, into the same target
# directory as the rest (build scripts and proc-macros are shared):
#
# - Windows: wbox.exe (x86_64-pc-windows-gnu, linked by mingw-w64), which
#   tests/windows.rs runs under Wine; it passes clippy, warnings as errors.
# - macOS (aarch64 and x86_64): the runtime and the CLI pass clippy. Their C
#   dependencies are compiled by zig's cc, which has macOS's headers
#   (cargo-zigbuild and ziglang from PyPI, in a venv under the target dir).
#   Nothing is linked: that needs Apple's SDK, which no one may ship.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
rustup target add x86_64-pc-windows-gnu aarch64-apple-darwin x86_64-apple-darwin >/dev/null

# Built through clippy's driver, which lints wbox's own crates as it
# compiles them: one pass for the lints and the binary.
RUSTC_WORKSPACE_WRAPPER=clippy-driver RUSTFLAGS="-D warnings" \
    cargo build --locked --target x86_64-pc-windows-gnu -p wbox

venv=$(realpath -m "$target/tools/zig")
if [ ! -x "$venv/bin/cargo-zigbuild" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet cargo-zigbuild ziglang
fi
for mac in aarch64-apple-darwin x86_64-apple-darwin; do
    # cargo-zigbuild finds zig through the venv's python3.
    PATH="$venv/bin:$PATH" cargo-zigbuild clippy --locked --target "$mac" -p wbox-runtime -p wbox -- -D warnings
done
