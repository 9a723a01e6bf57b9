#!/usr/bin/env bash
# The main job on a fresh machine: set up, build the whole sysroot, run every recipe's test program
# under wasmtime, then link every Crystal example against the sysroot and run it under wasmtime, and
# build the plugin example and run its Python host.
# Extra arguments go to `cwpkg install` (for example --sysroot DIR or -j 4).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/cwpkg install --all --check "$@"
sysroot=()
for ((i = 1; i <= $#; i++)); do  # the examples use the sysroot the install used
    if [ "${!i}" = "--sysroot" ]; then j=$((i + 1)); sysroot=(--sysroot "${!j}"); fi
done
mkdir -p build/examples
for example in examples/*.cr; do
    name=$(basename "$example" .cr)
    echo "== $example"
    (cd build/examples && ../../.venv/bin/cwpkg link "../../$example" -o "$name.wasm" --run "${sysroot[@]}")
done
echo "== examples/plugin: greeter.cr as a plugin, called by host.py"
(cd build/examples && ../../.venv/bin/cwpkg link ../../examples/plugin/greeter.cr --reactor -o greeter.wasm "${sysroot[@]}" \
    && ../../.venv/bin/python ../../examples/plugin/host.py greeter.wasm)
