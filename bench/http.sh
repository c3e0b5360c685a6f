#!/usr/bin/env bash
# The hello-http Python component (examples/hello-http) served by wbox and by
# `wasmtime serve`, and the same greeting from Flask under gunicorn, each
# loaded by wrk (2 threads, 50 connections) on loopback. Prints requests/s
# and p99 latency side by side.
#
#   bench/http.sh [SECONDS]    (needs wrk, pip; builds wbox --release)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}

scripts/install-deps.sh
cargo build --quiet --release -p wbox
examples/build-python.sh
wbox=$PWD/target/release/wbox
work=$PWD/target/bench
mkdir -p "$work"
. scripts/lib.sh
wasmtime=$(fetch_wasmtime "$work")
component=examples/out/hello-http/app.wasm
if [ ! -x "$work/flask-venv/bin/gunicorn" ]; then
    python3 -m venv "$work/flask-venv"
    "$work/flask-venv/bin/pip" install --quiet flask gunicorn
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    WBOX_ROOT="$tmp/wbox-root" "$wbox" rm -f bench-http >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

wait_for() {
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$1/" >/dev/null && return 0
        sleep 0.1
    done
    echo "nothing answers on port $1" >&2
    return 1
}

results=()
load() {
    local name=$1 port=$2
    wait_for "$port"
    wrk -t2 -c50 -d2s "http://127.0.0.1:$port/" >/dev/null # warm-up
    local out rps p99
    out=$(wrk -t2 -c50 -d"${duration}s" --latency "http://127.0.0.1:$port/")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    if grep -q "Non-2xx" <<<"$out"; then echo "$name: some responses were not 2xx:" >&2; echo "$out" >&2; fi
    results+=("$(printf '%-52s %12s %10s' "$name" "$rps" "$p99")")
}

export WBOX_ROOT="$tmp/wbox-root"
"$wbox" build -q -t hello-http -f examples/hello-http/Dockerfile examples/out >/dev/null
port=$(free_port)
"$wbox" run -d --name bench-http -p "127.0.0.1:$port:80" hello-http >/dev/null
load "wbox run -p (fresh instance per request)" "$port"
"$wbox" rm -f bench-http >/dev/null
port=$(free_port)
"$wbox" run -d --name bench-http --instance-reuse 1000 -p "127.0.0.1:$port:80" hello-http >/dev/null
load "wbox run -p --instance-reuse 1000" "$port"
"$wbox" rm -f bench-http >/dev/null

port=$(free_port)
"$wasmtime" serve -S cli=y --addr "127.0.0.1:$port" "$component" 2>/dev/null &
pids+=($!)
load "wasmtime serve -S cli=y (its default)" "$port"
kill "${pids[-1]}"

port=$(free_port)
"$wasmtime" serve -S cli=y --max-instance-reuse-count 1000 --addr "127.0.0.1:$port" "$component" 2>/dev/null &
pids+=($!)
load "wasmtime serve --max-instance-reuse-count 1000" "$port"
kill "${pids[-1]}"

port=$(free_port)
(cd bench && exec "$work/flask-venv/bin/gunicorn" -w 2 -b "127.0.0.1:$port" flask_hello:app 2>/dev/null) &
pids+=($!)
load "Flask under gunicorn -w 2" "$port"

printf '\n%-52s %12s %10s\n' "server (wrk -t2 -c50 -d${duration}s)" "requests/s" "p99"
printf '%s\n' "${results[@]}"
