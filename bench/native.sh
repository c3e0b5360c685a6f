#!/usr/bin/env bash
# Start of a native container, `run --rm busybox echo hi`: wbox (youki's
# libcontainer) against containerd + runc (`ctr run --rm`) and podman (crun)
# on the same image from the same local registry; and wbox's wasm start of
# the hello image in the same table. Prints medians and ratios.
#
#   bench/native.sh [RUNS]      (as root; builds wbox --release)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}

scripts/install-deps.sh
cargo build --quiet --release -p wbox
examples/build.sh >/dev/null

. scripts/lib.sh
work=$(mktemp -d)
port=$(free_port)
cleanup() {
    kill "$registry_pid" ${containerd_pid:+"$containerd_pid"} 2>/dev/null || true
    wait 2>/dev/null || true
    # What podman mounted under the work directory.
    awk -v w="$work" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
    rm -rf "$work"
}
trap cleanup EXIT
start_registry "$port" "$work/registry"
registry=127.0.0.1:$port
push_busybox "$registry/busybox:latest"

export WBOX_ROOT="$work/wbox-root"
wbox=target/release/wbox
# The wasm image: the hello module built into an image from scratch.
mkdir -p "$work/hello"
cp examples/out/hello.wasm "$work/hello/hello.wasm"
printf 'FROM scratch\nCOPY hello.wasm /hello.wasm\nENTRYPOINT ["/hello.wasm"]\n' > "$work/hello/Dockerfile"
$wbox build -q -t "$registry/hello:1" "$work/hello" >/dev/null
$wbox pull -q "$registry/busybox:latest" >/dev/null
$wbox run --rm "$registry/busybox:latest" echo hi >/dev/null
$wbox run --rm "$registry/hello:1" >/dev/null

commands=(
    -n "wbox run --rm (native, private network)" "$wbox run --rm $registry/busybox:latest echo hi"
    -n "wbox run --rm --network none (native)" "$wbox run --rm --network none $registry/busybox:latest echo hi"
    -n "wbox run --rm (wasm hello image)" "$wbox run --rm $registry/hello:1"
)

start_containerd "$work/containerd"
ctr="ctr --address $work/containerd/containerd.sock --namespace bench"
$ctr image pull --plain-http "$registry/busybox:latest" >/dev/null
if $ctr run --rm "$registry/busybox:latest" probe echo hi >/dev/null 2>&1; then
    commands+=(-n "ctr run --rm (containerd + runc)" "$ctr run --rm $registry/busybox:latest bench echo hi")
else
    echo "ctr run does not work on this machine; its column is left out" >&2
fi

if command -v podman >/dev/null || apt-get install -y -qq podman >/dev/null 2>&1; then
    podman="podman --root $work/podman/root --runroot $work/podman/run"
    $podman pull -q --tls-verify=false "$registry/busybox:latest" >/dev/null 2>&1 || true
    if why=$($podman run --rm --network none "$registry/busybox:latest" echo hi 2>&1); then
        commands+=(-n "podman run --rm (crun)" "$podman run --rm --network none $registry/busybox:latest echo hi")
    else
        echo "podman cannot start a container on this machine; its column is left out: $why" | head -3 >&2
    fi
fi

hyperfine --warmup 3 --runs "$runs" -N --export-json "$work/native.json" "${commands[@]}" >/dev/null
python3 - "$work/native.json" <<'PY'
import json, sys
results = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[1]))["results"]}
for name, median in results.items():
    print(f"{name:44} median {median:7.1f} ms")
native = results["wbox run --rm (native, private network)"]
wasm = results["wbox run --rm (wasm hello image)"]
print(f"wbox wasm / wbox native start: {wasm / native:.2f}x (target: <= 0.2x)")
for other in ("ctr run --rm (containerd + runc)", "podman run --rm (crun)"):
    if other in results:
        print(f"wbox native / {other}: {native / results[other]:.2f}x (target: <= 1x vs podman)")
PY
