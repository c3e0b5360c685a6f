#!/usr/bin/env bash
# What the Engine API adds to a run: `docker run --rm IMAGE` through `wbox
# system service` beside `wbox run --rm IMAGE` direct (the probe guest,
# exiting at once; the mean of N runs each), and containers made, started,
# waited for and removed through docker-py, N in a row, in operations per
# second. Prints a table.
#
#   bench/api.sh [N]     (default 100; builds wbox --release, or takes the binary WBOX names)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
tests/python/install.sh
if [ -z "${WBOX:-}" ]; then
    cargo build --quiet --release -p wbox
fi
examples/build.sh >/dev/null
wbox=${WBOX:-$PWD/target/release/wbox}
n=${1:-100}
python=$PWD/target/python-venv/bin/python

. scripts/lib.sh
tmp=$(mktemp -d)
port=$(free_port)
export WBOX_ROOT="$tmp/root"
socket="$tmp/api.sock"
cleanup() {
    kill "$service_pid" "$registry_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
start_registry "$port" "$tmp/registry"
image=$(probe_image "$port")
"$wbox" system service "unix://$socket" 2>/dev/null &
service_pid=$!
while [ ! -S "$socket" ]; do sleep 0.05; done
export DOCKER_HOST="unix://$socket" DOCKER_CONFIG="$tmp/docker-config"

# mean_ms COMMAND…: the mean wall time of N runs, in milliseconds.
mean_ms() {
    local start_ns
    "$@" >/dev/null
    start_ns=$(date +%s%N)
    for _ in $(seq "$n"); do "$@" >/dev/null; done
    awk -v ns="$(( $(date +%s%N) - start_ns ))" -v n="$n" 'BEGIN { printf "%.2f", ns / 1e6 / n }' 
}
direct=$(mean_ms "$wbox" run --rm "$image" exit 0)
through=$(mean_ms docker run --rm "$image" exit 0)
ops=$("$python" - "$image" "$n" <<'PY'
import sys, time, docker
image, n = sys.argv[1], int(sys.argv[2])
client = docker.from_env()
start = time.monotonic()
for _ in range(n):
    c = client.containers.create(image, ["exit", "0"])
    c.start()
    c.wait()
    c.remove()
print(f"{n / (time.monotonic() - start):.1f}")
PY
)
printf '%-44s %12s\n' "what" "figure"
printf '%-44s %10s ms\n' "wbox run --rm (direct), mean of $n" "$direct"
printf '%-44s %10s ms\n' "docker run --rm via the service, mean of $n" "$through"
printf '%-44s %10s ms\n' "what the API adds to a run" "$(awk -v a="$through" -v b="$direct" 'BEGIN { printf "%.2f", a - b }')"
printf '%-44s %10s /s\n' "docker-py create+start+wait+remove, $n" "$ops"
