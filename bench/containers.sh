#!/usr/bin/env bash
# Idle detached wasm containers: for 10, 100 and 500 containers sleeping in
# the host, what each costs in memory (the supervisors' summed PSS, and the
# machine's used-memory delta, divided by the count), and how long `wbox run
# -d` takes to return with the guest running (the mean of the first, the
# middle and the last ten). Prints a table.
#
#   bench/containers.sh [COUNTS…]     (default 10 100 500; builds wbox --release,
#                                      or takes the binary WBOX names, to compare two)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
if [ -z "${WBOX:-}" ]; then
    cargo build --quiet --release -p wbox
fi
examples/build.sh >/dev/null
wbox=${WBOX:-$PWD/target/release/wbox}
counts=${*:-10 100 500}

. scripts/lib.sh
tmp=$(mktemp -d)
port=$(free_port)
export WBOX_ROOT="$tmp/root"
cleanup() {
    "$wbox" ps -q | xargs -r "$wbox" rm -f >/dev/null 2>&1 || true
    kill "$registry_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
start_registry "$port" "$tmp/registry"
image=$(probe_image "$port")

available_kib() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }

printf '%-12s %18s %14s %24s %18s %12s %12s %12s\n' containers "PSS per container" "PSS in all" \
    "used-memory delta each" "run -d → running" "first 10" "middle 10" "last 10"
for n in $counts; do
    sync; sleep 1
    before=$(available_kib)
    start_ns=$(date +%s%N)
    for i in $(seq "$n"); do
        one_ns=$(date +%s%N)
        "$wbox" run -d "$image" sleep 3600 >/dev/null
        one_us=$(( ($(date +%s%N) - one_ns) / 1000 ))
        # Each end's mean of ten: one run alone is noise.
        [ "$i" -le 10 ] && first_us=$(( ${first_us:-0} + one_us ))
        [ "$i" -gt $(( n / 2 - 5 )) ] && [ "$i" -le $(( n / 2 + 5 )) ] && middle_us=$(( ${middle_us:-0} + one_us ))
        [ "$i" -gt $(( n - 10 )) ] && last_us=$(( ${last_us:-0} + one_us ))
    done
    first_us=$(( first_us / 10 )); middle_us=$(( middle_us / 10 )); last_us=$(( last_us / 10 ))
    elapsed_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
    sleep 2
    after=$(available_kib)
    running=$("$wbox" ps -q | wc -l)
    [ "$running" -eq "$n" ] || { echo "only $running of $n containers run" >&2; exit 1; }
    pss_kib=0
    for state in "$WBOX_ROOT"/containers/*/state.json; do
        pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"] or "")' "$state")
        [ -n "$pid" ] && pss_kib=$(( pss_kib + $(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup") ))
    done
    awk -v n="$n" -v pss="$pss_kib" -v delta=$((before - after)) -v ms="$elapsed_ms" \
        -v first="$first_us" -v middle="$middle_us" -v last="$last_us" \
        'BEGIN { printf "%-12s %14.2f MiB %10.0f MiB %20.2f MiB %15.1f ms %9.1f ms %9.1f ms %9.1f ms\n",
                 n, pss / n / 1024, pss / 1024, delta / n / 1024, ms / n, first / 1000, middle / 1000, last / 1000 }'
    "$wbox" ps -q | xargs "$wbox" stop -t 0 >/dev/null
    "$wbox" container prune -f >/dev/null
    unset first_us middle_us last_us
done
echo "(targets: under 1 MiB per idle wasm container; the last run -d within 1.5x of the first)"
