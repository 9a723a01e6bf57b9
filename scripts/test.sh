#!/usr/bin/env bash
# The test suite on a fresh machine: set up, then run every test, the slow real builds included.
# Extra arguments go to pytest (for example -m "not slow" for the quick ones only).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest "$@"
