#!/usr/bin/env bash
# The Docker tutorials' Flask Dockerfile (WORKDIR, `COPY requirements.txt ./`,
# `RUN pip install`, `COPY src/ .`) on a Debian python base image, built by
# `wbox build` and by Debian's `buildah bud` (vfs storage, its own root):
# every step again (`--no-cache`), then fully cached. Prints the medians and
# the ratios. With WBOX_BEFORE=PATH, an earlier wbox binary is timed too, so
# that a change's cost shows beside it (the path confinement of a build's
# steps was measured so).
#
#   bench/build-native.sh        (root; needs hyperfine, buildah, debootstrap,
#                                 the network for pip; builds wbox --release)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
command -v buildah >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null
cargo build --quiet --release -p wbox
wbox=${CARGO_TARGET_DIR:-$PWD/target}/release/wbox
work=$PWD/target/bench
mkdir -p "$work"
. scripts/lib.sh

# The base image: Debian bookworm with python3 and venv, made once.
base=$work/debian-python
if [ ! -x "$base/usr/bin/python3" ]; then
    rm -rf "$base.tmp"
    debootstrap --variant=minbase --include=python3,python3-venv bookworm "$base.tmp" http://deb.debian.org/debian >/dev/null
    rm -rf "$base.tmp"/var/cache/apt/archives "$base.tmp"/var/lib/apt/lists "$base.tmp"/usr/share/{doc,locale,man}
    mv "$base.tmp" "$base"
fi

tmp=$(mktemp -d)
port=$(free_port)
trap 'kill $registry_pid 2>/dev/null; rm -rf "$tmp"' EXIT
start_registry "$port" "$tmp/registry"
image="127.0.0.1:$port/python:3.11"
umoci init --layout "$tmp/layout" >/dev/null
umoci new --image "$tmp/layout:t"
umoci unpack --rootless --image "$tmp/layout:t" "$tmp/bundle" >/dev/null
cp -a "$base/." "$tmp/bundle/rootfs/"
cp /etc/ssl/certs/ca-certificates.crt "$tmp/bundle/rootfs/etc/ssl/certs/" 2>/dev/null || true
umoci repack --image "$tmp/layout:t" "$tmp/bundle" >/dev/null
umoci config --image "$tmp/layout:t" --os linux --architecture amd64 --config.cmd bash
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$tmp/layout:t" "docker://$image"

ctx=$tmp/ctx
mkdir -p "$ctx/src"
echo flask > "$ctx/requirements.txt"
cat > "$ctx/src/server.py" <<'PY'
from flask import Flask
app = Flask(__name__)
@app.route("/")
def hello():
    return "Hello from Flask!\n"
if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
PY
# Debian's python is externally managed (PEP 668): pip goes into a venv.
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $image
WORKDIR /code
RUN python3 -m venv /venv
ENV PATH=/venv/bin:\$PATH
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY src/ .
CMD ["python", "./server.py"]
DOCKERFILE

buildah=(buildah --root "$tmp/buildah/root" --runroot "$tmp/buildah/run" --storage-driver vfs)
"${buildah[@]}" pull -q --tls-verify=false "$image" >/dev/null
binaries=("now=$wbox")
[ -z "${WBOX_BEFORE:-}" ] || binaries+=("before=$WBOX_BEFORE")
commands=()
for entry in "${binaries[@]}"; do
    name=${entry%%=*} bin=${entry#*=}
    export WBOX_ROOT=$tmp/wbox-$name
    "$bin" pull -q "$image" >/dev/null
    commands+=(-n "wbox $name (no cache)" "WBOX_ROOT=$WBOX_ROOT $bin build -q --no-cache -t bench/flask $ctx")
    commands+=(-n "wbox $name (cached)" "WBOX_ROOT=$WBOX_ROOT $bin build -q -t bench/flask $ctx")
done
commands+=(-n "buildah bud (no cache)" "${buildah[*]} bud --isolation chroot --no-cache -q -t bench/flask $ctx")
commands+=(-n "buildah bud (cached)" "${buildah[*]} bud --isolation chroot --layers -q -t bench/flask $ctx")
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$work/build-native.json" "${commands[@]}" >/dev/null

python3 - "$work/build-native.json" <<'PY'
import json, sys
results = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[1]))["results"]}
has_before = any(name.startswith("wbox before") for name in results)
header = f"{'build':<12}{'wbox ms':>10}{'buildah ms':>12}{'ratio':>8}"
if has_before:
    header += f"{'before ms':>12}{'now/before':>12}"
print(header)
for case in ["no cache", "cached"]:
    w, b = results[f"wbox now ({case})"], results[f"buildah bud ({case})"]
    line = f"{case:<12}{w:>10.0f}{b:>12.0f}{w / b:>8.2f}x"
    if has_before:
        old = results[f"wbox before ({case})"]
        line += f"{old:>12.0f}{w / old:>12.3f}x"
    print(line)
PY
