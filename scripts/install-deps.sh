#!/usr/bin/env bash
# Installs the Debian packages wbox's examples, tests and benchmarks need
# (protobuf-compiler: the shim's containerd API client is generated at build).
set -euo pipefail

packages=(protobuf-compiler libseccomp-dev slirp4netns busybox-static debootstrap bzip2 xz-utils clang lld wasi-libc libclang-rt-14-dev-wasm32 hyperfine docker-registry skopeo umoci apache2-utils containerd docker.io zstd python3-venv wrk curl)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
