#!/usr/bin/env bash
# Installs the Debian packages wbox's examples, tests and benchmarks need
# (protobuf-compiler: the shim's containerd API client is generated at build;
# mingw-w64 and Wine: wbox.exe is cross-built and tested under Wine; procps:
# `wbox top` runs the host's ps, as Docker does).
set -euo pipefail

packages=(protobuf-compiler iproute2 libseccomp-dev slirp4netns busybox-static debootstrap bzip2 xz-utils clang lld wasi-libc libclang-rt-14-dev-wasm32 hyperfine docker-registry skopeo umoci apache2-utils containerd docker.io docker-compose zstd python3-venv wrk curl procps)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# Installs those of the packages after the first argument that are missing,
# with the first argument's apt-get options.
install() {
    local options=$1 missing=()
    shift
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}"
        $sudo apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $options "${missing[@]}" >/dev/null
    fi
}

install "" "${packages[@]}"
# Without recommends: Wine's would bring a desktop's worth of fonts and sound.
install --no-install-recommends gcc-mingw-w64-x86-64 wine64
