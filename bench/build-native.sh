#!/usr/bin/env bash
# The Docker tutorials' Flask Dockerfile, exactly as they write it (WORKDIR,
# `COPY requirements.txt .`, `RUN pip install -r requirements.txt`,
# `COPY src/ .`, CMD) on a Debian python base image shaped like the official
# python:3.11-slim (pip, no EXTERNALLY-MANAGED marker, `python`), built by
# `wbox build` and by Debian's `buildah bud --layers --isolation chroot` (vfs
# storage, its own root), each with the same command in two cases:
#
#   cold     empty caches: each run starts from a store that holds only the
#            base image, pulled and unpacked (buildah unpacks at pull; wbox at
#            first use, so its preparation runs the image once); pip
#            downloads flask from PyPI every time
#   cached   nothing changed since the last build: every step cached
#
# Prints the medians and the ratios. With WBOX_BEFORE=PATH, an earlier wbox
# binary is timed too, so that a change's cost shows beside it (the path
# confinement of a build's steps was measured so). RUNS=N runs per case (5).
#
#   bench/build-native.sh        (root; needs hyperfine, buildah, debootstrap,
#                                 the network for pip; builds wbox --release)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
command -v buildah >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null
cargo build --quiet --release -p wbox
target=${CARGO_TARGET_DIR:-$PWD/target}
wbox=$target/release/wbox
work=$target/bench
mkdir -p "$work"
. scripts/lib.sh

# The base image's files: Debian bookworm (Python 3.11) with pip, made once,
# in a directory named after its packages so that another list makes another.
packages=python3,python3-venv,python3-pip
base=$work/debian-python-rootfs-${packages//,/+}
if [ ! -x "$base/usr/bin/pip3" ]; then
    rm -rf "$base.tmp"
    debootstrap --variant=minbase --include=$packages bookworm "$base.tmp" http://deb.debian.org/debian >/dev/null
    rm -rf "$base.tmp"/var/cache/apt/archives "$base.tmp"/var/lib/apt/lists "$base.tmp"/usr/share/{doc,locale,man}
    mv "$base.tmp" "$base"
fi

tmp=$(mktemp -d)
port=$(free_port)
trap 'kill $registry_pid 2>/dev/null; rm -rf "$tmp"' EXIT
start_registry "$port" "$tmp/registry"
image="127.0.0.1:$port/python:3.11-slim"
umoci init --layout "$tmp/layout" >/dev/null
umoci new --image "$tmp/layout:t"
umoci unpack --rootless --image "$tmp/layout:t" "$tmp/bundle" >/dev/null
rootfs=$tmp/bundle/rootfs
cp -a "$base/." "$rootfs/"
# As the official python images (and tests/harness/images.rs): pip may install
# into the system Python (Debian marks it externally managed, PEP 668, and its
# pip then refuses), and `python` is python3.
rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
[ -e "$rootfs/usr/bin/python" ] || ln -s python3 "$rootfs/usr/bin/python"
# The host's CA, for where HTTPS is intercepted.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$rootfs/etc/pip.conf"
fi
umoci repack --image "$tmp/layout:t" "$tmp/bundle" >/dev/null
umoci config --image "$tmp/layout:t" --os linux --architecture amd64 --config.cmd bash
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$tmp/layout:t" "docker://$image"

# The app tests/tutorial.rs builds and serves, its FROM pointed at the base.
ctx=$tmp/ctx
cp -r tests/tutorial/flask "$ctx"
sed -i "1s|^FROM python:3.11-slim\$|FROM $image|" "$ctx/Dockerfile"
grep -qx "FROM $image" "$ctx/Dockerfile"

binaries=("now=$wbox")
[ -z "${WBOX_BEFORE:-}" ] || binaries+=("before=$WBOX_BEFORE")
commands=()
for entry in "${binaries[@]}"; do
    name=${entry%%=*} bin=${entry#*=}
    root=$tmp/wbox-$name
    wbox_build="WBOX_ROOT=$root $bin build -q -t bench/flask $ctx"
    empty="rm -rf $root && WBOX_ROOT=$root $bin pull -q $image >/dev/null && WBOX_ROOT=$root $bin run --rm $image true"
    commands+=(--prepare "$empty" -n "wbox $name (cold)" "$wbox_build")
    commands+=(--prepare true -n "wbox $name (cached)" "$wbox_build")
done
buildah="buildah --root $tmp/buildah/root --runroot $tmp/buildah/run --storage-driver vfs"
buildah_build="$buildah bud --isolation chroot --layers -q -t bench/flask $ctx"
empty="rm -rf $tmp/buildah && $buildah pull -q --tls-verify=false $image >/dev/null"
commands+=(--prepare "$empty" -n "buildah bud (cold)" "$buildah_build")
commands+=(--prepare true -n "buildah bud (cached)" "$buildah_build")
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$work/build-native.json" "${commands[@]}" >/dev/null

python3 - "$work/build-native.json" <<'PY'
import json, sys
results = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[1]))["results"]}
has_before = any(name.startswith("wbox before") for name in results)
header = f"{'build':<12}{'wbox ms':>10}{'buildah ms':>12}{'ratio':>8}"
if has_before:
    header += f"{'before ms':>12}{'now/before':>12}"
print(header)
for case in ["cold", "cached"]:
    w, b = results[f"wbox now ({case})"], results[f"buildah bud ({case})"]
    line = f"{case:<12}{w:>10.0f}{b:>12.0f}{w / b:>8.2f}x"
    if has_before:
        old = results[f"wbox before ({case})"]
        line += f"{old:>12.0f}{w / old:>12.3f}x"
    print(line)
PY
