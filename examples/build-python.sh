#!/usr/bin/env bash
# Builds the Python guests into wasi:http/proxy components with componentize-py:
#   examples/hello-http/app.py   -> examples/out/hello-http/app.wasm
#   examples/fetch-http/app.py   -> examples/out/fetch-http/app.wasm
#   tests/guests/httpfaults.py   -> examples/out/httpfaults.wasm
# componentize-py comes from PyPI into a venv at target/python-venv (kept
# between runs). It ships no WASI WIT files, so the wasi 0.2.0 packages are
# taken from the spin-sdk wheel, which carries them. A component is only
# rebuilt when its source, the WIT or the tool version changed: each build
# bundles CPython (~18 MB) and takes tens of seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

componentize_py_version=0.25.1
spin_sdk_version=5.0.0
world=wasi:http/proxy@0.2.0
out=examples/out
venv=target/python-venv
wit=$venv/wasi-0.2.0-wit-from-spin-sdk-$spin_sdk_version
stamps=target/python-build

die() { echo "build-python.sh: $*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is missing; install python3 and python3-venv"

# A venv whose creation failed half-way (no ensurepip) has no pip: start over.
if [ ! -x "$venv/bin/pip" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 || {
        rm -rf "$venv"
        die "python3 -m venv failed; install python3-venv (scripts/install-deps.sh does)"
    }
fi
pip=("$venv/bin/python" -m pip --quiet --disable-pip-version-check)
componentize_py=$venv/bin/componentize-py
if [ "$("$componentize_py" --version 2>/dev/null)" != "componentize-py $componentize_py_version" ]; then
    echo "installing componentize-py $componentize_py_version into $venv"
    "${pip[@]}" install "componentize-py==$componentize_py_version" ||
        die "could not install componentize-py==$componentize_py_version from PyPI"
fi

# The WIT tree componentize-py reads: wasi:http@0.2.0 at its root (the package
# whose `proxy` world we target), and the packages it uses under deps/.
if [ ! -d "$wit" ]; then
    echo "extracting the wasi 0.2.0 WIT files from spin-sdk $spin_sdk_version"
    rm -rf "$wit.tmp" "$venv/wheels"
    "${pip[@]}" download --no-deps --only-binary=:all: "spin-sdk==$spin_sdk_version" -d "$venv/wheels" ||
        die "could not download spin-sdk==$spin_sdk_version from PyPI"
    "$venv/bin/python" examples/hello-http/wit_from_spin_sdk.py "$venv"/wheels/spin_sdk-*.whl "$wit.tmp" ||
        die "spin-sdk's wheel lacks the wasi 0.2.0 WIT files"
    mv "$wit.tmp" "$wit"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# build SOURCE OUTPUT: SOURCE is one Python file; its module holds the
# IncomingHandler class that componentize-py exports.
build() {
    local source=$1 output=$2
    local module name stamp inputs
    module=$(basename "$source" .py)
    name=${output#"$out"/}
    stamp=$stamps/${name//\//_}.sha256
    inputs=$({
        echo "componentize-py $componentize_py_version $world $module"
        sha256sum < "$source"
        (cd "$wit" && find . -name '*.wit' | LC_ALL=C sort | xargs sha256sum)
    } | sha256sum | cut -d' ' -f1)
    if [ -f "$output" ] && [ -f "$stamp" ] &&
        [ "$(cat "$stamp")" = "$inputs $(sha256sum < "$output" | cut -d' ' -f1)" ]; then
        echo "$output is up to date"
        return
    fi
    echo "building $output from $source"
    # componentize-py writes __pycache__ next to the sources it reads, so it
    # reads a copy.
    rm -rf "$work/src" && mkdir "$work/src"
    cp "$source" "$work/src/"
    mkdir -p "$(dirname "$output")" "$stamps"
    # Unset VIRTUAL_ENV so an activated venv's packages are not bundled.
    # Without a Rust backtrace, a failure is the Python error, short.
    env -u VIRTUAL_ENV -u PYTHONPATH RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0 \
        "$componentize_py" -q -d "$wit" -w "$world" componentize -p "$work/src" "$module" -o "$output.tmp" ||
        { rm -f "$output.tmp"; die "componentize-py failed on $source (above)"; }
    mv "$output.tmp" "$output"
    echo "$inputs $(sha256sum < "$output" | cut -d' ' -f1)" > "$stamp"
}

build examples/hello-http/app.py "$out/hello-http/app.wasm"
build examples/fetch-http/app.py "$out/fetch-http/app.wasm"
build tests/guests/httpfaults.py "$out/httpfaults.wasm"
ls -l "$out/hello-http/app.wasm" "$out/fetch-http/app.wasm" "$out/httpfaults.wasm"
