#!/usr/bin/env bash
# Sets wbox up from a fresh Debian machine, starts a local registry with the
# example image in it, then pulls that image and runs it.
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

# Until `wbox build` exists, the tests' plain HTTP client makes and pushes the image.
python3 tests/tools/oci_push.py image "127.0.0.1:$port" hello:1.0 \
    --entrypoint /hello.wasm --env GREETING=Hello --file "/hello.wasm=examples/out/hello.wasm" >/dev/null

set -x
$wbox pull "127.0.0.1:$port/hello:1.0"
$wbox run --rm "127.0.0.1:$port/hello:1.0" world
$wbox run -e GREETING=Hej examples/out/hello.component.wasm world
mkdir -p target/quickstart && echo "the quick brown fox" > target/quickstart/in.txt
$wbox run -v ./target/quickstart:/data:ro examples/out/wc.wasm /data/in.txt
$wbox images
