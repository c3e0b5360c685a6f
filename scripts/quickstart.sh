#!/usr/bin/env bash
# Sets wbox up from a fresh Debian machine and runs the example guests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build -p wbox
examples/build.sh >/dev/null
wbox=target/debug/wbox
export WBOX_ROOT="${WBOX_ROOT:-$PWD/target/wbox-root}"

set -x
$wbox run -e GREETING=Hello examples/out/hello.wasm world
$wbox run -e GREETING=Hej examples/out/hello.component.wasm world
mkdir -p target/quickstart && echo "the quick brown fox" > target/quickstart/in.txt
$wbox run -v ./target/quickstart:/data:ro examples/out/wc.wasm /data/in.txt
