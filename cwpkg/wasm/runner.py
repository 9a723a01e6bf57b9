"""Runs a WebAssembly (WASI preview 1) command module under wasmtime, through its Python package."""

from __future__ import annotations

import json
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cwpkg.errors import UsageError
from cwpkg.fs import write_text_atomically
from cwpkg.places import cache_dir
from cwpkg.wasm.module import MalformedWasm, function_exports

if TYPE_CHECKING:  # imported where a module runs: most commands never run one, and the import is slow
    import wasmtime

TRAP_EXIT_CODE = 134  # what a shell shows for a program killed by SIGABRT
TIMEOUT_EXIT_CODE = 124  # what timeout(1) returns
NATIVE_STACK_BYTES = 2 << 20  # regex matchers recurse deeply; wasmtime allows at most 2 MiB here


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stdout: str
    stderr: str
    trap: str | None  # set when the module trapped (unreachable, out-of-bounds access, ...) or timed out
    timed_out: bool = False


def host_like_preopens(cwd: Path) -> list[tuple[Path, str]]:
    """Directories to preopen so that a module sees the host's files as a native program would.

    wasi-libc resolves a relative path against the preopen named "." and an absolute one against the
    longest preopen that prefixes it; "/" itself cannot be preopened beside "." (both become the
    empty prefix), so every top-level directory is preopened under its own name instead.
    """
    tops = [(path, str(path)) for path in sorted(Path("/").iterdir())
            if path.is_dir() and not path.is_symlink() and path.name not in ("proc", "sys")]
    return [(cwd, "."), *tops]


def run_module(module: Path, args: list[str] | None = None, env: dict[str, str] | None = None,
               preopens: list[tuple[Path, str]] | None = None, stdin: Path | None = None,
               capture: bool = True, argv0: str | None = None, timeout: float | None = None) -> RunResult:
    """Instantiates `module` and calls `_start`; argv[0] is `argv0`, else the module's file name.

    Compiled code is kept in wasmtime's cache, so a program run many times is compiled once.
    """
    import wasmtime

    _check_module(module)
    config = wasmtime.WasiConfig()
    config.argv = [argv0 or module.name, *(args or [])]
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
        engine = wasmtime.Engine(_engine_config())
        store = wasmtime.Store(engine)
        store.set_wasi(config)
        store.set_epoch_deadline(1)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        try:
            instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(module)))
        except wasmtime.WasmtimeError as failure:  # imports what WASI does not give
            raise UsageError(f"{module}: wasmtime cannot run it: {_cause(failure)}",
                             hint="link it with `cwpkg link`, which makes WASI programs") from None
        start = instance.exports(store)["_start"]
        alarm = threading.Timer(timeout, engine.increment_epoch) if timeout else None
        exit_code, trap, timed_out = 0, None, False
        try:
            if alarm:
                alarm.start()
            start(store)
        except wasmtime.ExitTrap as stop:
            exit_code = stop.code
        except wasmtime.Trap as failure:
            timed_out = failure.trap_code == wasmtime.TrapCode.INTERRUPT
            exit_code = TIMEOUT_EXIT_CODE if timed_out else TRAP_EXIT_CODE
            trap = f"timed out after {timeout:g} s" if timed_out else _cause(failure)
        except wasmtime.WasmtimeError as failure:  # e.g. an exit status WASI cannot carry
            exit_code, trap = TRAP_EXIT_CODE, _cause(failure)
        finally:
            if alarm:
                alarm.cancel()
        read = (lambda path: path.read_text(encoding="utf-8", errors="replace") if path.exists() else "")
        return RunResult(exit_code, read(out) if capture else "", read(err) if capture else "", trap, timed_out)


def _check_module(module: Path) -> None:
    """A valid WASI program, checked before anything is compiled, so that no broken module enters
    the code cache."""
    import wasmtime

    problem = None
    try:
        wasmtime.Module.validate(wasmtime.Engine(), module.read_bytes())
        if "_start" not in function_exports(module):
            problem = "has no _start function: not a WASI program"
    except wasmtime.WasmtimeError as failure:
        problem = f"wasmtime cannot load it: {_cause(failure)}"
    except MalformedWasm as failure:
        problem = f"not a valid WebAssembly module ({failure})"
    if problem is not None:
        raise UsageError(f"{module}: {problem}", hint="link it with `cwpkg link`, which makes WASI programs")


def _cause(failure: wasmtime.WasmtimeError) -> str:
    """The reason of a wasmtime error: what follows "Caused by:", else its first line."""
    lines = [line.strip() for line in str(failure).splitlines() if line.strip()]
    if "Caused by:" in lines:
        return "; ".join(lines[lines.index("Caused by:") + 1:])
    return lines[0] if lines else type(failure).__name__


def _engine_config() -> wasmtime.Config:
    import wasmtime

    config = wasmtime.Config()
    _use_code_cache(config)
    config.epoch_interruption = True
    config.max_wasm_stack = NATIVE_STACK_BYTES
    return config


def _use_code_cache(config: wasmtime.Config) -> None:
    """wasmtime's compiled-code cache, in cwpkg's cache rather than wasmtime's default place in the
    home directory (cwpkg writes nowhere else). Its settings file changed shape across wasmtime
    releases: newer ones refuse the `enabled` key that older ones require."""
    import wasmtime

    directory = cache_dir() / "wasmtime"
    directory.mkdir(parents=True, exist_ok=True)
    for enabled in ("", "enabled = true\n"):
        settings = directory / ("cache.toml" if not enabled else "cache-enabled.toml")
        text = f"[cache]\n{enabled}directory = {json.dumps(str(directory / 'code'))}\n"
        if not settings.is_file() or settings.read_text(encoding="utf-8") != text:
            write_text_atomically(settings, text)
        try:
            config.cache = str(settings)
            return
        except wasmtime.WasmtimeError:
            continue
    config.cache = True
