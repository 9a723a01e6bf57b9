"""Runs a wasm program as if it were a host executable: `python -m cwpkg.wasm.host_command MODULE NAME ARGS...`.

Upstream test harnesses (make check, RunTest scripts) start their test programs by path; cwpkg
replaces each built wasm program with a small shell script that execs this module, so the harness
runs unchanged. The program gets the caller's arguments, environment, stdio and working directory;
a trap or a timeout (CWPKG_WASM_TIMEOUT seconds) is reported on stderr with a fixed marker and the
exit codes a shell would show for an aborted or timed-out process.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from cwpkg.wasm.runner import host_like_preopens, run_module

TIMEOUT_VARIABLE = "CWPKG_WASM_TIMEOUT"
TRAP_MARKER = "cwpkg: wasm trap:"
TIMEOUT_MARKER = "cwpkg: wasm timeout:"


def wrapper_script(python: str, module: Path, name: str) -> str:
    """The shell script that stands in for the program `name`, whose code is `module`."""
    command = shlex.join([python, "-m", "cwpkg.wasm.host_command", str(module), name])
    return f'#!/bin/sh\nexec {command} "$@"\n'


def main(argv: list[str]) -> int:
    module, name, *args = argv
    timeout = float(os.environ.get(TIMEOUT_VARIABLE, "0")) or None
    sys.stdout.flush()
    result = run_module(Path(module), args, env=dict(os.environ), preopens=host_like_preopens(Path.cwd()),
                        capture=False, argv0=name, timeout=timeout)
    if result.trap:
        marker = TIMEOUT_MARKER if result.timed_out else TRAP_MARKER
        print(f"{marker} {name}: {result.trap}", file=sys.stderr, flush=True)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
