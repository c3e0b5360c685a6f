#!/usr/bin/env bash
# Installs the Python Docker clients the Engine API tests use (docker-py,
# pytest) from PyPI into the venv at target/python-venv, where
# examples/build-python.sh keeps componentize-py. Nothing is reinstalled
# when the pinned versions are there.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/python-venv
if [ ! -x "$venv/bin/pip" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
requirements=tests/python/requirements.txt
stamp=$venv/.clients-installed
if ! cmp -s "$requirements" "$stamp"; then
    echo "installing the Python Docker clients into $venv"
    "$venv/bin/python" -m pip --quiet --disable-pip-version-check install -r "$requirements"
    cp "$requirements" "$stamp"
fi
