"""Asks a compiled probe for numbers: the compiler's own answers for wasm32 (sizeof, offsetof).

A probe object defines one function per question, returning a constant. It is linked with nothing
(every undefined function becomes an import), instantiated with each import a trap, and only those
functions are called: no start code runs, so neither what the probe references nor what it would do
as a program matters.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from cwpkg.errors import ToolchainError
from cwpkg.toolchain import INSTALL_HINT, Toolchain


class ProbeModule:
    def __init__(self, toolchain: Toolchain, obj: Path, output: Path) -> None:
        argv = [toolchain.wasm_ld, "--no-entry", "--export-all", "--allow-undefined", str(obj), "-o", str(output)]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ToolchainError(f"{toolchain.wasm_ld} does not run: {error}", hint=INSTALL_HINT) from None
        if result.returncode != 0:
            raise ToolchainError(f"wasm-ld cannot link the probe {obj}:\n{result.stderr[-2000:]}",
                                 hint="report this: the probe should link with every symbol left undefined")
        self.module = output

    def call_all(self, names: list[str]) -> dict[str, int]:
        """Each exported function's result (functions without parameters returning a number)."""
        if not names:
            return {}
        import wasmtime

        engine = wasmtime.Engine()
        store = wasmtime.Store(engine)
        module = wasmtime.Module.from_file(engine, str(self.module))
        linker = wasmtime.Linker(engine)
        linker.define_unknown_imports_as_traps(module)
        exports = linker.instantiate(store, module).exports(store)
        return {name: int(exports[name](store)) for name in names}
