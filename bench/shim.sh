#!/usr/bin/env bash
# containerd start-up of one container, `ctr run --rm`, by runtime: the same
# wasm hello image with wbox's shim (io.containerd.wbox.v1) and with
# runwasi's wasmtime shim (io.containerd.wasmtime.v1), and busybox `echo`
# with containerd's default runc and with wbox's shim (native). Prints
# medians and ratios. Then idle memory: PODS wasm containers sleeping under
# each wasm shim (`ctr run -d`, one shim process each, as containerd starts
# one per pod), 1 and then PODS of them, and the PSS of that runtime's shim
# processes per pod.
#
#   RUNWASI_SHIM=/path/to/containerd-shim-wasmtime-v1 bench/shim.sh [RUNS] [PODS]
#
# As root; builds the shim --release. runwasi is not a dependency: without
# RUNWASI_SHIM its column is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
pods=${2:-100}

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
python3 tests/tools/oci_push.py image "$registry" probe:1 \
    --entrypoint /probe.wasm --file "/probe.wasm=examples/out/probe.wasm" >/dev/null

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
$ctr image pull --plain-http --platform wasi/wasm "$registry/probe:1" >/dev/null

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

# The summed PSS, in KiB, of the processes running shim binary $1.
shims_pss_kib() {
    local total=0 pid
    for pid in $(pgrep -f "^[^ ]*$1 " || true); do
        total=$(( total + $(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0) ))
    done
    echo "$total"
}

# idle RUNTIME SHIM_BINARY LABEL: PSS per idle pod with 1 and with $pods.
idle() {
    local runtime=$1 binary=$2 label=$3 n one many
    for n in 1 "$pods"; do
        for i in $(seq "$n"); do
            $ctr run -d --runtime "$runtime" --platform wasi/wasm "$registry/probe:1" "idle-$i" /probe.wasm sleep 3600 >/dev/null
        done
        sleep 2
        [ "$(pgrep -fc "^[^ ]*$binary " || true)" -ge "$n" ] || { echo "$label: fewer than $n shims run" >&2; exit 1; }
        local pss
        pss=$(shims_pss_kib "$binary")
        if [ "$n" -eq 1 ]; then one=$pss; else many=$pss; fi
        for i in $(seq "$n"); do
            $ctr task kill -s SIGKILL "idle-$i" >/dev/null 2>&1 || true
        done
        for i in $(seq "$n"); do
            for _ in $(seq 50); do $ctr task rm "idle-$i" >/dev/null 2>&1 && break; sleep 0.1; done
            $ctr container rm "idle-$i" >/dev/null
        done
    done
    awk -v label="$label" -v one="$one" -v many="$many" -v n="$pods" \
        'BEGIN { printf "%-36s %10.2f MiB %14.2f MiB\n", label, one / 1024, many / n / 1024 }'
    idle_result=$(( many / pods ))
}

printf '\n%-36s %14s %18s\n' "idle wasm pods, shim PSS" "1 pod" "each of $pods"
idle io.containerd.wbox.v1 containerd-shim-wbox-v1 "wbox shim"
wbox_idle=$idle_result
if [ -n "${RUNWASI_SHIM:-}" ]; then
    idle io.containerd.wasmtime.v1 containerd-shim-wasmtime-v1 "runwasi wasmtime shim"
    awk -v a="$wbox_idle" -v b="$idle_result" \
        'BEGIN { printf "wbox / runwasi PSS per idle pod: %.2fx (target: <= 0.4x)\n", a / b }'
fi
