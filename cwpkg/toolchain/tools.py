"""Finding and running the external programs cwpkg drives besides the C toolchain (crystal, wasm-opt)."""

from __future__ import annotations

import os
import shutil
import subprocess

from cwpkg.errors import ToolchainError


def find_executable(variable: str, name: str, not_found: str, hint: str) -> str:
    """The program that the environment variable `variable` names, else `name` on PATH."""
    chosen = os.environ.get(variable)
    executable = shutil.which(chosen or name)
    if executable is None:
        where = f"{variable}={chosen} is not an executable" if chosen else f"no `{name}` on PATH"
        raise ToolchainError(f"{not_found}: {where}", hint=hint)
    return executable


def run_tool(argv: list[str], hint: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs a tool for its output; a tool that cannot start (or hangs) is a ToolchainError."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ToolchainError(f"{argv[0]} does not run: {error}", hint=hint) from None
