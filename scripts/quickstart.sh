#!/usr/bin/env bash
# Sets wbox up from a fresh Debian machine, starts a local registry, builds
# the example image and pushes it there, then pulls that image and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build -p wbox
examples/build.sh >/dev/null
wbox=target/debug/wbox
export WBOX_ROOT="${WBOX_ROOT:-$PWD/target/wbox-root}"

# A registry on loopback, with its storage in a temporary directory, stopped
# when this script ends.
. scripts/lib.sh
work=$(mktemp -d)
port=${WBOX_QUICKSTART_PORT:-5000}
trap 'kill $registry_pid 2>/dev/null; rm -rf "$work"' EXIT
start_registry "$port" "$work"

image="127.0.0.1:$port/hello:1.0"
set -x
# Build the example's image, ship it to the registry, drop the local copy,
# then pull it back and run it.
$wbox build -t "$image" -f examples/hello/Dockerfile examples/out
$wbox push "$image"
$wbox rmi "$image"
$wbox pull "$image"
$wbox run --rm "$image" world
$wbox run -e GREETING=Hej examples/out/hello.component.wasm world
mkdir -p target/quickstart && echo "the quick brown fox" > target/quickstart/in.txt
$wbox run -v ./target/quickstart:/data:ro examples/out/wc.wasm /data/in.txt
$wbox images
# A native image (Debian's busybox-static) runs as a namespace container
# through the same commands; that needs root here (cgroup v1).
if [ "$(id -u)" -eq 0 ]; then
    { set +x; } 2>/dev/null
    push_busybox "127.0.0.1:$port/busybox:latest"
    set -x
    $wbox run --rm "127.0.0.1:$port/busybox:latest" echo native
fi
