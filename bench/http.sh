#!/usr/bin/env bash
# The hello-http Python component (examples/hello-http) served by wbox and by
# `wasmtime serve`, and the same greeting from Flask under gunicorn; then the
# same Rust greeting as a WASI 0.3 `wasi:http/service` and as a 0.2
# `wasi:http/proxy` component (tests/guests/hello-p3), each served by wbox
# and by `wasmtime serve`, with a fresh instance per request and with reuse.
# Each is loaded by wrk (2 threads, 50 connections) on loopback. Prints
# requests/s and p99 latency side by side.
#
#   bench/http.sh [SECONDS]    (needs wrk, pip; builds wbox --release, or takes the binary WBOX names)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}

scripts/install-deps.sh
if [ -z "${WBOX:-}" ]; then
    cargo build --quiet --release -p wbox
fi
examples/build-python.sh
wbox=${WBOX:-$PWD/target/release/wbox}
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

# The Rust greeting as 0.3 and 0.2 components; the 0.2 one's WIT is
# wasmtime-wasi-http's own.
http_wit=$(cargo metadata --format-version 1 --locked |
    python3 -c 'import json, os, sys; print(next(os.path.dirname(p["manifest_path"]) for p in json.load(sys.stdin)["packages"] if p["name"] == "wasmtime-wasi-http"))')/wit
rm -rf target/wasi-http-0.2-wit
cp -r "$http_wit" target/wasi-http-0.2-wit
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
guests=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --quiet --release --target wasm32-wasip2 --manifest-path tests/guests/hello-p3/Cargo.toml \
    --bin hello-p3 --bin hello-p2 --target-dir "$guests"
for wasi in 0.3 0.2; do
    guest="$guests/wasm32-wasip2/release/hello-p${wasi#0.}.wasm"
    for reuse in 1 1000; do
        port=$(free_port)
        "$wbox" run --instance-reuse "$reuse" -p "127.0.0.1:$port:80" "$guest" 2>/dev/null &
        pids+=($!)
        load "Rust hello, WASI $wasi: wbox run --instance-reuse $reuse" "$port"
        kill -INT "${pids[-1]}"
        wait "${pids[-1]}" || true
    done
    async_flags=()
    if [ "$wasi" = 0.3 ]; then async_flags=(-Wcomponent-model-async -Sp3,http); fi
    for reuse in 1 1000; do
        port=$(free_port)
        "$wasmtime" serve "${async_flags[@]}" -S cli=y --max-instance-reuse-count "$reuse" \
            --addr "127.0.0.1:$port" "$guest" 2>/dev/null &
        pids+=($!)
        load "Rust hello, WASI $wasi: wasmtime serve, reuse $reuse" "$port"
        kill "${pids[-1]}"
    done
done

printf '\n%-52s %12s %10s\n' "server (wrk -t2 -c50 -d${duration}s)" "requests/s" "p99"
printf '%s\n' "${results[@]}"
