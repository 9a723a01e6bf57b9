"""Binaryen's wasm-opt: Asyncify (stack switching for fibers, and a stack a GC can see) and optimization."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cwpkg.errors import ProgramError, ToolchainError
from cwpkg.toolchain.tools import find_executable, run_tool

INSTALL_HINT = ("on Debian/Ubuntu: apt-get install binaryen; elsewhere unpack a binaryen release and put its "
                "bin/ on PATH, or point CWPKG_WASM_OPT at wasm-opt")
# Crystal declares the four Asyncify controls as imports from this module; the pass implements them.
ASYNCIFY_MODULE = "asyncify"
ASYNCIFY_EXPORTS = "asyncify_"  # what the pass names the functions it exports (asyncify_start_unwind, ...)


@dataclass(frozen=True)
class WasmOpt:
    executable: str
    version: str

    def describe(self) -> str:
        return f"wasm-opt version {self.version} ({self.executable})"


def find_wasm_opt() -> WasmOpt:
    """CWPKG_WASM_OPT, else wasm-opt on PATH; its version is whatever `--version` reports."""
    executable = find_executable("CWPKG_WASM_OPT", "wasm-opt", "binaryen's wasm-opt is needed here but not found",
                                 INSTALL_HINT)
    result = run_tool([executable, "--version"], INSTALL_HINT)
    match = re.search(r"version\s+(\S+)", result.stdout + result.stderr)
    if result.returncode != 0 or match is None:
        raise ToolchainError(f"{executable} --version failed: {(result.stdout + result.stderr).strip()[:200]}",
                             hint=INSTALL_HINT)
    return WasmOpt(executable, match.group(1))


def wasm_opt_arguments(asyncify: bool, optimize: bool, strip: bool) -> list[str]:
    """Passes in Crystal's own order: Asyncify first, then optimization of the instrumented code.

    asyncify-ignore-imports: no WASI import ever unwinds the stack (only Crystal's own calls to the
    asyncify module do), which spares instrumenting every path that reaches an import.
    """
    arguments = []
    if asyncify:
        arguments += ["--asyncify", "--pass-arg=asyncify-ignore-imports"]
    if optimize:
        arguments += ["-O"]
    if strip:
        arguments += ["--strip-debug", "--strip-producers"]
    return arguments


def run_wasm_opt(tool: WasmOpt, module: Path, output: Path, arguments: list[str]) -> None:
    argv = [tool.executable, str(module), "-o", str(output), *arguments]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise ProgramError(f"{tool.describe()} failed ({' '.join(arguments)}): "
                           f"{(result.stderr or result.stdout).strip()[-2000:]}",
                           hint="if the module uses features this binaryen does not know, install a newer one")
