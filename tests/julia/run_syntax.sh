#!/usr/bin/env bash
# Syntax check of LibUNet.jl with tree-sitter-julia (from PyPI, in a venv under the meson build
# folder, made on first use and again when requirements.txt changes).
# Usage: run_syntax.sh SOURCE_ROOT VENV_DIR
set -euo pipefail
src=${1:?usage: run_syntax.sh SOURCE_ROOT VENV_DIR}
venv=${2:?usage: run_syntax.sh SOURCE_ROOT VENV_DIR}
requirements="$src/tests/julia/requirements.txt"
python=$(command -v /usr/bin/python3 || command -v python3)

if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
fi
exec "$venv/bin/python" "$src/tests/julia/check_syntax.py" "$src/bindings/julia"
