"""Runs a WebAssembly (WASI preview 1) command module under wasmtime, through its Python package."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import wasmtime


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stdout: str
    stderr: str
    trap: str | None  # set when the module trapped (unreachable, out-of-bounds access, ...)


def run_module(module: Path, args: list[str] | None = None, env: dict[str, str] | None = None,
               preopens: list[tuple[Path, str]] | None = None, stdin: Path | None = None,
               capture: bool = True) -> RunResult:
    """Instantiates `module` and calls `_start`; argv[0] is the module's file name."""
    config = wasmtime.WasiConfig()
    config.argv = [module.name, *(args or [])]
    config.env = sorted((env or {}).items())
    for host, guest in preopens or []:
        config.preopen_dir(str(host), guest)
    if stdin is not None:
        config.stdin_file = str(stdin)
    else:
        config.inherit_stdin()
    with tempfile.TemporaryDirectory(prefix="cwpkg-run-") as scratch:
        out, err = Path(scratch, "stdout"), Path(scratch, "stderr")
        if capture:
            config.stdout_file = str(out)
            config.stderr_file = str(err)
        else:
            config.inherit_stdout()
            config.inherit_stderr()
        engine = wasmtime.Engine()
        store = wasmtime.Store(engine)
        store.set_wasi(config)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(module)))
        exit_code, trap = 0, None
        try:
            instance.exports(store)["_start"](store)
        except wasmtime.ExitTrap as stop:
            exit_code = stop.code
        except wasmtime.Trap as failure:
            exit_code, trap = 134, str(failure).splitlines()[0]
        read = (lambda path: path.read_text(encoding="utf-8", errors="replace") if path.exists() else "")
        return RunResult(exit_code, read(out) if capture else "", read(err) if capture else "", trap)
