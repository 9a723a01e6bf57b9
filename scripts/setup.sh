#!/usr/bin/env bash
# Installs what cwpkg needs on Debian/Ubuntu, idempotently: the WebAssembly toolchain and build tools
# from apt (only what is missing), then cwpkg with its test extra into .venv/.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32 binaryen autotools-dev crystal make gcc cmake pkg-config
          python3-venv)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
