#!/usr/bin/env bash
# docker-py's own integration tests (release 7.1.0, the client
# tests/python pins) run against `wbox system service`: a conformance figure
# for the Engine API front end, in Docker's own words rather than ours.
# Failures are expected (endpoints wbox lacks, pulls from Docker Hub); the
# figure is the count. Prints one summary line at the end; the full pytest
# output is kept in target/docker-py-upstream/last-run.log.
#
#   bench/docker-py-upstream.sh [PYTEST ARGS…]   (WBOX names the binary; else
#   target/debug/wbox is built. DOCKER_PY_GIT names a clone to take the tests
#   from when GitHub cannot be reached, e.g. a local mirror of docker/docker-py.)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

scripts/install-deps.sh
tests/python/install.sh
if [ -z "${WBOX:-}" ]; then
    cargo build --quiet -p wbox
fi
wbox=${WBOX:-$PWD/target/debug/wbox}
venv=$PWD/target/python-venv
version=7.1.0
cache=$PWD/target/docker-py-upstream
suite=$cache/$version            # just tests/ and pytest.ini: see below
. scripts/lib.sh

# The tests, fetched once. Only tests/ and pytest.ini are kept: run from a
# full source tree, the tree's docker/ package would shadow the pinned
# client installed in the venv, which is the one under test.
if [ ! -d "$suite/tests/integration" ]; then
    mkdir -p "$cache/sdist"
    work=$(mktemp -d)
    # PyPI first, needing no git: but docker's sdist may leave the tests out.
    ls "$cache"/sdist/docker-$version.tar.gz >/dev/null 2>&1 ||
        "$venv/bin/pip" download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
            "docker==$version" -d "$cache/sdist" || true
    sdist=$cache/sdist/docker-$version.tar.gz
    if [ -f "$sdist" ] && tar tzf "$sdist" | grep -q "^docker-$version/tests/integration/"; then
        tar xzf "$sdist" -C "$work"
        src=$work/docker-$version
    else
        echo "the docker $version sdist has no tests/integration: taking the git tag" >&2
        git -c advice.detachedHead=false clone --quiet --depth 1 --branch "$version" \
            "${DOCKER_PY_GIT:-https://github.com/docker/docker-py}" "$work/src"
        src=$work/src
    fi
    mkdir -p "$suite"
    cp -r "$src/tests" "$src/pytest.ini" "$suite/"
    rm -rf "$work"
fi

# Test-only Python modules, apart from the shared venv. pytest-timeout (in
# docker-py's dev extras) gives each test a deadline, so that one hung attach
# cannot stall the run. tests/helpers.py imports paramiko only to tell an SSH
# channel from a socket: over a unix socket a stand-in class does.
pydeps=$cache/pydeps
if [ ! -d "$pydeps" ]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --target "$pydeps" \
        pytest-timeout==2.3.1 || mkdir -p "$pydeps"
fi
if ! "$venv/bin/python" -c 'import paramiko' 2>/dev/null; then
    echo 'class Channel: pass  # stand-in: see bench/docker-py-upstream.sh' > "$pydeps/paramiko.py"
fi

tmp=$(mktemp -d)
# A copy of the binary: the service starts each container's supervisor from
# its own executable, which a rebuild during the run would replace under it.
cp "$wbox" "$tmp/wbox"
wbox=$tmp/wbox
export WBOX_ROOT=$tmp/root
socket=$tmp/api.sock
service_pid=""
cleanup() {
    # Containers keep their own supervisors after the service stops: remove
    # them, then the networks (each holds a namespace mounted under the root).
    local ids
    ids=$("$wbox" ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || "$wbox" rm -f $ids >/dev/null 2>&1 || true
    "$wbox" network prune -f >/dev/null 2>&1 || true
    kill $service_pid $registry_pid 2>/dev/null || true
    wait $service_pid $registry_pid 2>/dev/null || true
    # Whatever is still mounted under the temp dir (deepest first), then it.
    awk -v t="$tmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# The tests' images are Docker Hub's alpine, busybox and hello-world. Hub is
# not used: a busybox-static image, made as tests/harness/images.rs
# push_busybox_image makes it, goes to a private registry on loopback and is
# tagged in wbox under those names. The session fixture (conftest.py) pulls
# only when alpine:3.10 is missing; tests that call pull() themselves go to
# Hub through wbox and fail, which is part of the figure.
port=$(free_port)
start_registry "$port" "$tmp/registry"
image=127.0.0.1:$port/busybox:latest
work=$tmp/image
rootfs=$work/bundle/rootfs
umoci init --layout "$work/layout"
umoci new --image "$work/layout:t"
umoci unpack --rootless --image "$work/layout:t" "$work/bundle" >/dev/null
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/root" "$rootfs/tmp" "$rootfs/var/www"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do   # the list names busybox itself
    [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
echo 'hello from busybox httpd' > "$rootfs/var/www/index.html"
umoci repack --image "$work/layout:t" "$work/bundle"
umoci config --image "$work/layout:t" --os linux --architecture amd64 --config.cmd sh
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$work/layout:t" "docker://$image"
"$wbox" pull -q "$image" >/dev/null
for name in alpine:3.10 alpine:latest busybox:latest hello-world:latest; do
    "$wbox" tag "$image" "$name"
done

"$wbox" system service "unix://$socket" 2>"$tmp/service.log" &
service_pid=$!
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || { echo "wbox system service did not start:" >&2; cat "$tmp/service.log" >&2; exit 1; }
# DOCKER_CONFIG: no credentials or settings of the host's. TMPDIR: the
# tests' bind-mount folders go with the temp dir.
mkdir -p "$tmp/py"
export DOCKER_HOST=unix://$socket DOCKER_CONFIG=$tmp/docker-config TMPDIR=$tmp/py
export PYTHONPATH=$pydeps${PYTHONPATH:+:$PYTHONPATH}

# Left out: what needs Swarm (services, secrets, configs, nodes, overlay
# networks), managed plugins, and the credential-helper tests, which test
# docker-credential-* binaries, not the engine.
args=(tests/integration -q -rN -p no:cacheprovider --junitxml="$cache/last-run.xml"
    --ignore-glob='*swarm*' --ignore-glob='*plugin*' --ignore-glob='*service*'
    --ignore-glob='*secret*' --ignore-glob='*config*' --ignore-glob='*node*'
    --ignore=tests/integration/credentials
    -k 'not test_create_network_attachable and not test_create_network_ingress and not test_create_inspect_network_with_scope')
runner=()
if PYTHONPATH=$pydeps "$venv/bin/python" -c 'import pytest_timeout' 2>/dev/null; then
    args+=(--timeout="${PER_TEST_TIMEOUT:-120}")
else
    runner=(timeout 20m)      # no per-test deadline: one for the whole run
fi
status=0
(cd "$suite" && "${runner[@]}" "$venv/bin/python" -m pytest "${args[@]}" "$@") 2>&1 |
    tee "$cache/last-run.log" || status=$?

# pytest's last line: "3 failed, 40 passed, 2 skipped, 1 error in 9.1s".
last=$(grep -E '^[=]* ?[0-9]+ (passed|failed|skipped|errors?|deselected)' "$cache/last-run.log" | tail -n 1 || true)
count() { grep -oE "[0-9]+ $1" <<<"$last" | grep -oE '^[0-9]+' || echo 0; }
passed=$(count passed); failed=$(count failed); errors=$(count 'errors?'); skipped=$(count skipped)
xfailed=$(count xfailed); xpassed=$(count xpassed)
total=$((passed + failed + errors + skipped + xfailed + xpassed))
[ -n "$last" ] || echo "pytest ended without a summary (status $status): see $cache/last-run.log" >&2
[ $((xfailed + xpassed)) -eq 0 ] || echo "($xfailed xfailed, $xpassed xpassed, counted in the total)"
echo "docker-py upstream integration tests: $passed passed, $failed failed, $errors errors, $skipped skipped (of $total)"
echo "runtime: $((SECONDS - started)) s"
