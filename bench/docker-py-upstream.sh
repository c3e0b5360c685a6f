#!/usr/bin/env bash
# docker-py's own integration tests (7.1.0, the client tests/python pins)
# against `wbox system service`: a conformance figure for the Engine API, in
# Docker's words rather than ours. Failures are expected (endpoints wbox
# lacks, pulls from Docker Hub): the figure is the count, printed last; the
# full output stays in target/docker-py-upstream/last-run.{log,xml}.
#
#   bench/docker-py-upstream.sh [PYTEST ARGS…]   (WBOX names the binary, else
#   target/debug/wbox is built; DOCKER_PY_GIT names a clone of docker-py, a
#   local mirror say, to take the tests from when GitHub cannot be reached)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

scripts/install-deps.sh
tests/python/install.sh
[ -n "${WBOX:-}" ] || cargo build --quiet -p wbox
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
    work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
    # PyPI first, needing no git: but docker's sdist may leave the tests out.
    sdist=$cache/sdist/docker-$version.tar.gz
    [ -f "$sdist" ] || "$venv/bin/pip" download --quiet --disable-pip-version-check \
        --no-binary :all: --no-deps "docker==$version" -d "$cache/sdist" || true
    if [ -f "$sdist" ] && tar tzf "$sdist" | grep -q "^docker-$version/tests/integration/"; then
        tar xzf "$sdist" -C "$work"
        src=$work/docker-$version
    else
        echo "the docker $version sdist has no tests/integration: taking the git tag" >&2
        url=${DOCKER_PY_GIT:-https://github.com/docker/docker-py}
        [ ! -d "$url" ] || url=file://$(realpath "$url")   # else git ignores --depth
        git -c advice.detachedHead=false clone --quiet --depth 1 --branch "$version" "$url" "$work/src"
        src=$work/src
    fi
    mkdir -p "$suite"
    cp -r "$src/tests" "$src/pytest.ini" "$suite/"
    rm -rf "$work"
fi

# Test-only modules, apart from the shared venv, as upstream's CI has them
# (.[dev,ssh,websockets]): pytest-timeout, so that a hung attach cannot stall
# the run; websocket-client for attach over a websocket. tests/helpers.py
# imports paramiko only to tell an SSH channel from a socket: a stand-in does.
pydeps=$cache/pydeps
mkdir -p "$pydeps"
if ! PYTHONPATH=$pydeps "$venv/bin/python" -c 'import pytest_timeout, websocket' 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --upgrade --target "$pydeps" \
        pytest-timeout==2.3.1 websocket-client==1.8.0 || echo "no pytest-timeout: one deadline for the run" >&2
fi
if ! "$venv/bin/python" -c 'import paramiko' 2>/dev/null; then
    echo 'class Channel: pass  # stand-in: see bench/docker-py-upstream.sh' > "$pydeps/paramiko.py"
fi

tmp=$(mktemp -d)
# A copy of the binary: the service starts each container's supervisor from
# its own executable, which a rebuild during the run would replace under it.
echo "testing $wbox, built $(date -r "$wbox" '+%F %T')" >&2
cp "$wbox" "$tmp/wbox"
wbox=$tmp/wbox
export WBOX_ROOT=$tmp/root
socket=$tmp/api.sock
service_pid=""
cleanup() {
    # Containers keep their own supervisors after the service stops: remove
    # them, then the networks (each holds a namespace mounted under the root).
    local ids; ids=$("$wbox" ps -aq 2>/dev/null || true)
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

"$wbox" system service "unix://$socket" 2>"$tmp/service.log" & service_pid=$!
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || { echo "wbox system service did not start:" >&2; cat "$tmp/service.log" >&2; exit 1; }
# DOCKER_CONFIG: no credentials or settings of the host's, and with a
# config.json there, docker-py keeps the context tests' contexts beside it
# (without one, in the working directory, from one run to the next). TMPDIR:
# the tests' bind-mount folders go with the temp dir.
mkdir -p "$tmp/py" "$tmp/docker-config" && echo '{}' > "$tmp/docker-config/config.json"
export DOCKER_HOST=unix://$socket DOCKER_CONFIG=$tmp/docker-config TMPDIR=$tmp/py
export PYTHONPATH=$pydeps${PYTHONPATH:+:$PYTHONPATH}

# Left out: what needs Swarm (services, secrets, configs, nodes, overlay
# networks), managed plugins, and the credential-helper tests, which test
# docker-credential-* binaries, not the engine.
rm -f "$cache/last-run.xml"
args=(tests/integration -q -rN -p no:cacheprovider --junitxml="$cache/last-run.xml"
    --ignore-glob='*swarm*' --ignore-glob='*plugin*' --ignore-glob='*service*'
    --ignore-glob='*secret*' --ignore-glob='*config*' --ignore-glob='*node*'
    --ignore=tests/integration/credentials
    -k 'not test_create_network_attachable and not test_create_network_ingress and not test_create_inspect_network_with_scope')
runner=()   # Every test that does not hang takes well under 15 s here.
if PYTHONPATH=$pydeps "$venv/bin/python" -c 'import pytest_timeout' 2>/dev/null; then
    args+=(--timeout="${PER_TEST_TIMEOUT:-60}")
else
    runner=(timeout 20m)      # no per-test deadline: one for the whole run
fi
status=0
(cd "$suite" && "${runner[@]}" "$venv/bin/python" -m pytest "${args[@]}" "$@") 2>&1 |
    tee "$cache/last-run.log" || status=$?

# Counted per test from the JUnit report (a failure then a teardown error is
# one failed test, not two outcomes); xfailed counts as skipped.
xml=$cache/last-run.xml
[ "$status" -le 1 ] || echo "pytest ended with status $status (cut short?): see $cache/last-run.log" >&2
[ -f "$xml" ] && "$venv/bin/python" - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
tests = {}  # a teardown error comes as a second <testcase> of the same test
for case in ET.parse(sys.argv[1]).iter("testcase"):
    tests.setdefault((case.get("classname"), case.get("name")), set()).update(c.tag for c in case)
n = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
for kinds in tests.values():
    n["failed" if "failure" in kinds else "errors" if "error" in kinds
      else "skipped" if "skipped" in kinds else "passed"] += 1
print("docker-py upstream integration tests: {passed} passed, {failed} failed, "
      "{errors} errors, {skipped} skipped (of {total})".format(total=sum(n.values()), **n))
PY
echo "runtime: $((SECONDS - started)) s"
