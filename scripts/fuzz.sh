#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input with cargo fuzz (libFuzzer, nightly):
# the Dockerfile parser, image references, manifests/indexes/configs, layer
# unpacking (nothing may land beside the root it unpacks into),
# .dockerignore patterns and auth.json.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]    default: 30 s each, every target
#
# Each target starts from fuzz/corpus/TARGET (read only: what it finds goes
# to a scratch corpus); a crash stops the script, its input is in
# fuzz/artifacts/TARGET/. Fix it, then add the input to fuzz/corpus/TARGET:
# `cargo test` replays the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(dockerfile reference manifest layer dockerignore auth)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
# Instrumentation without a sanitizer: the targets are safe Rust, and
# AddressSanitizer would rebuild wasmtime (a dependency of the runtime)
# several times slower for nothing.
fuzz=(cargo +nightly fuzz)
(cd fuzz && "${fuzz[@]}" build --sanitizer none -O)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    echo "fuzz: $target for ${seconds}s"
    if ! (cd fuzz && "${fuzz[@]}" run --sanitizer none -O "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1) >"$scratch/$target.log" 2>&1; then
        tail -n 40 "$scratch/$target.log" >&2
        echo "fuzz: $target failed; its input is in fuzz/artifacts/$target" >&2
        exit 1
    fi
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$scratch/$target.log" | sed 's/^/  /'
done
