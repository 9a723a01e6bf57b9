#!/usr/bin/env bash
# The main job on a fresh machine: set up, build the whole sysroot, run every recipe's test program
# under wasmtime. Extra arguments go to `cwpkg install` (for example --sysroot DIR or -j 4).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/cwpkg install --all --check "$@"
