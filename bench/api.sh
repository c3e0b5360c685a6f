#!/usr/bin/env bash
# What the Engine API adds to a run: `docker run --rm IMAGE` through `wbox
# system service` beside `wbox run --rm IMAGE` direct (the probe guest,
# exiting at once; the mean of N runs each), and containers made, started,
# waited for and removed through docker-py, N in a row, in operations per
# second. Prints a table.
#
# The docker CLI spends some 10 ms of its own on every command, before and
# between its requests (`docker --help`, which sends none, is on the
# table): no service can take that away. What the service adds is measured
# by replaying the requests `docker run --rm` sends, in its order and on
# its connections (ping, create, attach, wait for removal, start, the
# attachment read to its end), from one client that stays up.
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
cli_alone=$(mean_ms docker --help)
replayed=$("$python" - "$socket" "$image" "$n" <<'PY'
import http.client, json, socket, sys, time
path, image, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)

def call(conn, method, target, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, target, json.dumps(body) if body is not None else None, headers)
    return conn.getresponse()

def run(main, starter):
    call(main, "HEAD", "/_ping").read()
    config = {"Image": image, "Cmd": ["exit", "0"], "AttachStdout": True, "AttachStderr": True,
              "HostConfig": {"AutoRemove": True}}
    made = json.loads(call(main, "POST", "/v1.44/containers/create", config).read())
    attach = socket.socket(socket.AF_UNIX)
    attach.connect(path)
    attach.sendall(f"POST /v1.44/containers/{made['Id']}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                   "Host: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += attach.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    removed = call(main, "POST", f"/v1.44/containers/{made['Id']}/wait?condition=removed")
    assert call(starter, "POST", f"/v1.44/containers/{made['Id']}/start").read() == b""
    while attach.recv(65536):
        pass
    attach.close()
    assert json.loads(removed.read())["StatusCode"] == 0

main, starter = Unix("wbox"), Unix("wbox")
run(main, starter)
start = time.perf_counter()
for _ in range(n):
    run(main, starter)
print(f"{(time.perf_counter() - start) / n * 1000:.2f}")
PY
)
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
printf '%-44s %10s ms\n' "  of which the docker CLI alone (--help)" "$cli_alone"
printf '%-44s %10s ms\n' "docker run's requests replayed, mean of $n" "$replayed"
printf '%-44s %10s ms\n' "what the API adds to a run (replayed-direct)" "$(awk -v a="$replayed" -v b="$direct" 'BEGIN { printf "%.2f", a - b }')"
printf '%-44s %10s /s\n' "docker-py create+start+wait+remove, $n" "$ops"
printf '%-44s %10s ms\n' "  a docker-py run, less wbox run --rm direct" "$(awk -v o="$ops" -v b="$direct" 'BEGIN { printf "%.2f", 1000 / o - b }')"
