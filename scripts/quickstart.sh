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
work=$(mktemp -d)
port=${WBOX_QUICKSTART_PORT:-5000}
cat > "$work/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: 127.0.0.1:$port
  secret: quickstart
YAML
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
registry=$!
trap 'kill $registry 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do
    python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/v2/')" 2>/dev/null && break
    sleep 0.1
done

# Until `wbox push` exists, the image is pushed by the tests' plain HTTP client.
python3 tests/tools/oci_push.py image "127.0.0.1:$port" hello:1.0 \
    --entrypoint /hello.wasm --env GREETING=Hello --file "/hello.wasm=examples/out/hello.wasm" >/dev/null

set -x
$wbox pull "127.0.0.1:$port/hello:1.0"
$wbox run "127.0.0.1:$port/hello:1.0" world
$wbox run -e GREETING=Hej examples/out/hello.component.wasm world
mkdir -p target/quickstart && echo "the quick brown fox" > target/quickstart/in.txt
$wbox run -v ./target/quickstart:/data:ro examples/out/wc.wasm /data/in.txt
$wbox images
