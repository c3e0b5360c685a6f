#!/usr/bin/env bash
# containerd start-up of one container, `ctr run --rm`, by runtime: the same
# wasm hello image with wbox's shim (io.containerd.wbox.v1) and with
# runwasi's wasmtime shim (io.containerd.wasmtime.v1), and busybox `echo`
# with containerd's default runc and with wbox's shim (native). Prints
# medians and ratios.
#
#   RUNWASI_SHIM=/path/to/containerd-shim-wasmtime-v1 bench/shim.sh [RUNS]
#
# As root; builds the shim --release. runwasi is not a dependency: without
# RUNWASI_SHIM its column is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}

scripts/install-deps.sh
cargo build --quiet --release -p containerd-shim-wbox
examples/build.sh >/dev/null

. scripts/lib.sh
work=$(mktemp -d)
port=$(free_port)
cleanup() {
    kill "$registry_pid" ${containerd_pid:+"$containerd_pid"} 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
start_registry "$port" "$work/registry"
registry=127.0.0.1:$port
push_busybox "$registry/busybox:latest"
python3 tests/tools/oci_push.py image "$registry" hello:1 \
    --entrypoint /hello.wasm --file "/hello.wasm=examples/out/hello.wasm" >/dev/null

# containerd finds shims on its PATH.
mkdir -p "$work/bin"
cp target/release/containerd-shim-wbox-v1 "$work/bin/"
if [ -n "${RUNWASI_SHIM:-}" ]; then
    cp "$RUNWASI_SHIM" "$work/bin/containerd-shim-wasmtime-v1"
fi
PATH="$work/bin:$PATH" WBOX_ROOT="$work/wbox-root" start_containerd "$work/containerd"
ctr="ctr --address $work/containerd/containerd.sock --namespace bench"
$ctr image pull --plain-http "$registry/busybox:latest" >/dev/null
$ctr image pull --plain-http --platform wasi/wasm "$registry/hello:1" >/dev/null

wasm="--platform wasi/wasm $registry/hello:1"
commands=(
    -n "wbox shim, wasm hello" "$ctr run --rm --runtime io.containerd.wbox.v1 $wasm b1 /hello.wasm"
    -n "runc, busybox echo" "$ctr run --rm $registry/busybox:latest b2 echo hi"
    -n "wbox shim, busybox echo (native)" "$ctr run --rm --runtime io.containerd.wbox.v1 $registry/busybox:latest b3 echo hi"
)
if [ -n "${RUNWASI_SHIM:-}" ]; then
    commands+=(-n "runwasi wasmtime shim, wasm hello" "$ctr run --rm --runtime io.containerd.wasmtime.v1 $wasm b4 /hello.wasm")
else
    echo "RUNWASI_SHIM is not set: runwasi's column is left out" >&2
fi

hyperfine --warmup 3 --runs "$runs" -N --export-json "$work/shim.json" "${commands[@]}" >/dev/null
python3 - "$work/shim.json" <<'PY'
import json, sys
results = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[1]))["results"]}
for name, median in results.items():
    print(f"{name:40} median {median:7.1f} ms")
wasm = results["wbox shim, wasm hello"]
runc = results["runc, busybox echo"]
print(f"wbox wasm / runc native start: {wasm / runc:.2f}x (target: several times faster)")
if "runwasi wasmtime shim, wasm hello" in results:
    print(f"wbox wasm / runwasi wasm start: {wasm / results['runwasi wasmtime shim, wasm hello']:.2f}x (target: < 1x)")
PY
