#!/usr/bin/env bash
# The same small wasm Dockerfile built by `wbox build` and by `buildah bud`
# (Debian's, into its own storage, with --layers so that it caches steps):
# cold, fully cached, and after a change to one file. Prints the medians and
# the ratios.
#
#   bench/build.sh            (needs hyperfine, buildah; builds wbox --release)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
command -v buildah >/dev/null || { apt-get install -y buildah >/dev/null || sudo apt-get install -y buildah >/dev/null; }
cargo build --quiet --release -p wbox
examples/build.sh >/dev/null
wbox=$PWD/target/release/wbox
work=$PWD/target/bench
mkdir -p "$work"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ctx=$tmp/ctx
mkdir -p "$ctx/static"
cp examples/out/hello.wasm "$ctx/"
echo "<p>hello</p>" > "$ctx/static/index.html"
echo 0 > "$ctx/static/stamp"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
LABEL org.opencontainers.image.title="hello"
COPY hello.wasm /app/hello.wasm
COPY static/ /app/static/
ENV GREETING=Hello
WORKDIR /app
ENTRYPOINT ["/app/hello.wasm"]
DOCKERFILE

export WBOX_ROOT=$tmp/wbox-root
buildah=(buildah --root "$tmp/buildah/root" --runroot "$tmp/buildah/run" --storage-driver vfs)
wbox_build="$wbox build -q -t bench/hello $ctx"
buildah_build="${buildah[*]} bud --layers -q -t bench/hello $ctx"
change="date +%s%N > $ctx/static/stamp"

hyperfine --warmup 1 --runs 10 --export-json "$work/build.json" \
    --prepare "rm -rf $WBOX_ROOT" -n "wbox build (cold)" "$wbox_build" \
    --prepare "rm -rf $tmp/buildah" -n "buildah bud (cold)" "$buildah_build" \
    --prepare "true" -n "wbox build (cached)" "$wbox_build" \
    --prepare "true" -n "buildah bud (cached)" "$buildah_build" \
    --prepare "$change" -n "wbox build (one file changed)" "$wbox_build" \
    --prepare "$change" -n "buildah bud (one file changed)" "$buildah_build" \
    >/dev/null

python3 - "$work/build.json" <<'PY'
import json, sys
results = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[1]))["results"]}
print(f"{'build':<34}{'wbox ms':>10}{'buildah ms':>12}{'ratio':>8}")
for case in ["cold", "cached", "one file changed"]:
    w, b = results[f"wbox build ({case})"], results[f"buildah bud ({case})"]
    print(f"{case:<34}{w:>10.1f}{b:>12.1f}{w / b:>8.2f}x")
PY
