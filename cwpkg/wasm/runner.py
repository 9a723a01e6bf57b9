"""Runs a WebAssembly (WASI preview 1) command module under wasmtime, through its Python package, or
calls an exported function of a module (a plugin, from `cwpkg link --reactor`)."""

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
from cwpkg.wasm.module import MalformedWasm, function_exports, linear_stack_size

if TYPE_CHECKING:  # imported where a module runs: most commands never run one, and the import is slow
    import wasmtime

TRAP_EXIT_CODE = 134  # what a shell shows for a program killed by SIGABRT
TIMEOUT_EXIT_CODE = 124  # what timeout(1) returns
# The engine's call stack: wasm code runs on a native stack of its own, which wasmtime bounds with
# max_wasm_stack and checks in every function's entry ("call stack exhausted"). A module gets at
# least its own linear-memory stack's size (8 MiB from `cwpkg link`, as a native main thread has),
# and never less than wasmtime's default.
ENGINE_STACK_MIN = 2 << 20
ENGINE_STACK_MAX = 1 << 30
HOST_STACK_MARGIN = 8 << 20  # the thread's stack beyond the engine's: the host calls (WASI) made from wasm
_THREAD_STACK_LOCK = threading.Lock()  # threading.stack_size is one setting for the whole process


# A plugin's exports (cwpkg.link.reactor): WASI's initialization, and the exception that ended a call.
INITIALIZE = "_initialize"  # WASI's reactor ABI: the host calls it once, first
ERROR_EXPORT = "cwpkg_error"  # the exception that ended the last call of a fun, or null
ERROR_TEXT_LIMIT = 1 << 16  # bytes of an error's text read from the module's memory
# How --invoke reads an argument for each parameter type: a Python type, and an integer's bits.
ARGUMENT_KINDS = {"i32": (int, 32), "i64": (int, 64), "f32": (float, 0), "f64": (float, 0)}


@dataclass(frozen=True)
class Invocation:
    """An exported function to call instead of `_start`, with its arguments as the command line gave them."""

    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stdout: str
    stderr: str
    trap: str | None  # set when the module trapped (unreachable, out-of-bounds access, ...) or timed out
    timed_out: bool = False
    results: tuple[int | float, ...] = ()  # an invocation's results
    error: str | None = None  # what a plugin's cwpkg_error said after an invocation (an exception it raised)


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
               capture: bool = True, argv0: str | None = None, timeout: float | None = None,
               max_stack: int | None = None, invocation: Invocation | None = None) -> RunResult:
    """Instantiates `module` and calls `_start`, or the `invocation`'s export (after `_initialize`, if
    the module has one); argv[0] is `argv0`, else the module's file name.

    The module's calls may take `max_stack` bytes of the engine's call stack (default: what
    `engine_stack_size` gives the module); it runs in a thread whose native stack holds that much.
    Compiled code is kept in wasmtime's cache, so a program run many times is compiled once.
    """
    import wasmtime

    _check_module(module, invocation.name if invocation else "_start")
    stack = max_stack or engine_stack_size(module)
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
        engine = wasmtime.Engine(_engine_config(stack))
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
        if invocation is None:
            start = instance.exports(store)["_start"]

            def call():
                return start(store), None
        else:
            call = _invoker(instance, store, invocation)
        alarm = threading.Timer(timeout, engine.increment_epoch) if timeout else None
        exit_code, trap, timed_out, results, error = 0, None, False, (), None
        try:
            if alarm:
                alarm.start()
            results, error = _on_engine_stack(call, stack, engine)
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
        return RunResult(exit_code, read(out) if capture else "", read(err) if capture else "", trap, timed_out,
                         _as_tuple(results), error)


def _as_tuple(results) -> tuple:
    """wasmtime-py's results: None for none, the value for one, a list for more."""
    if results is None:
        return ()
    return tuple(results) if isinstance(results, list) else (results,)


def _invoker(instance: wasmtime.Instance, store: wasmtime.Store, invocation: Invocation):
    """The call of an invocation: `_initialize` first if the module has it (WASI's reactor ABI), then
    the export with its arguments converted to its parameters' types; with the text of the plugin's
    error after either, if it has cwpkg_error and that gives one."""
    exports = instance.exports(store)
    function = exports[invocation.name]
    values = _arguments(invocation, [str(value) for value in function.type(store).params])
    initialize, error_text = exports.get(INITIALIZE), exports.get(ERROR_EXPORT)
    memory = exports.get("memory")

    def plugin_error() -> str | None:
        if error_text is None or memory is None:
            return None
        address = error_text(store)
        if not address:
            return None
        text = memory.read(store, address, min(address + ERROR_TEXT_LIMIT, memory.data_len(store)))
        return text.split(b"\0", 1)[0].decode("utf-8", "replace")

    def call():
        if initialize is not None:
            initialize(store)
            failed = plugin_error()
            if failed is not None:
                return None, failed
        return function(store, *values), plugin_error()
    return call


def _arguments(invocation: Invocation, params: list[str]) -> list[int | float]:
    """The command line's arguments as the export's parameters take them; a clear error otherwise."""
    signature = f"{invocation.name}({', '.join(params)})"
    if len(invocation.args) != len(params):
        raise UsageError(f"--invoke {invocation.name}: it takes {len(params)} argument(s), {signature}; "
                         f"{len(invocation.args)} given")
    values: list[int | float] = []
    for text, param in zip(invocation.args, params):
        if param not in ARGUMENT_KINDS:
            raise UsageError(f"--invoke {invocation.name}: a parameter of type {param} cannot be given on the "
                             f"command line ({signature})")
        kind, bits = ARGUMENT_KINDS[param]
        try:
            value = int(text, 0) if kind is int else float(text)
        except ValueError:
            raise UsageError(f"--invoke {invocation.name}: {text!r} is not {'an integer' if kind is int else 'a number'}"
                             f" ({signature})") from None
        if kind is int:
            if not -(1 << (bits - 1)) <= value < 1 << bits:
                raise UsageError(f"--invoke {invocation.name}: {text} does not fit in {param} ({signature})")
            value = value - (1 << bits) if value >= 1 << (bits - 1) else value  # unsigned, as wasm reads it
        values.append(value)
    return values


def engine_stack_size(module: Path) -> int:
    """The engine's call stack a module gets unless told otherwise: its linear-memory stack's size
    (wasm-ld's `-z stack-size`), at least wasmtime's default (2 MiB) and at most 1 GiB."""
    try:
        linear = linear_stack_size(module) or 0
    except MalformedWasm:
        linear = 0
    return min(max(linear, ENGINE_STACK_MIN), ENGINE_STACK_MAX)


def _on_engine_stack(call, stack: int, engine: wasmtime.Engine):
    """Runs `call` in a thread whose native stack holds `stack` bytes of wasm frames and the host's
    margin, and returns what it returns or raises what it raises.

    wasmtime runs wasm code on the calling thread's stack and checks only that the wasm frames stay
    within max_wasm_stack: a limit beyond what the thread has overruns the stack's guard page, which
    ends the whole process with SIGSEGV instead of the trap "call stack exhausted". Python's main
    thread has what `ulimit -s` gave it, less what Python itself is using; a thread of its own has a
    known stack. Interrupted (Ctrl-C, SIGTERM) while waiting, it stops the module as a timeout
    would, then passes the interruption on.
    """
    outcome: list = []

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as failure:  # handed to the waiting thread
            outcome.append((False, failure))

    thread = threading.Thread(target=run, name="cwpkg-wasm", daemon=True)
    host_stack = -(-(stack + HOST_STACK_MARGIN) // (1 << 20)) << 20  # whole MiB: whole pages everywhere
    with _THREAD_STACK_LOCK:
        previous = threading.stack_size(host_stack)
        try:
            thread.start()
        finally:
            threading.stack_size(previous)
    try:
        thread.join()
    except BaseException:  # KeyboardInterrupt: stop the module at its next function entry or loop
        engine.increment_epoch()
        thread.join(timeout=5)  # a module blocked in a host call (reading stdin) is left to exit with us
        raise
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


def _check_module(module: Path, entry: str) -> None:
    """A valid WASI module that exports `entry` (`_start`, or the function to invoke), checked before
    anything is compiled, so that no broken module enters the code cache."""
    import wasmtime

    problem, hint = None, "link it with `cwpkg link`, which makes WASI programs"
    try:
        wasmtime.Module.validate(wasmtime.Engine(), module.read_bytes())
        exported = function_exports(module)
        if entry == "_start" and entry not in exported:
            problem = "has no _start function: not a WASI program"
            if INITIALIZE in exported:
                problem, hint = "is a plugin (a WASI reactor): it has no main to run", \
                    "call one of its functions: cwpkg run MODULE --invoke NAME [ARGS]"
        elif entry not in exported:
            problem = f"exports no function {entry}"
            hint = f"its functions: {', '.join(sorted(exported - {INITIALIZE})) or 'none'}"
    except wasmtime.WasmtimeError as failure:
        problem = f"wasmtime cannot load it: {_cause(failure)}"
    except MalformedWasm as failure:
        problem = f"not a valid WebAssembly module ({failure})"
    if problem is not None:
        raise UsageError(f"{module}: {problem}", hint=hint)


def _cause(failure: wasmtime.WasmtimeError) -> str:
    """The reason of a wasmtime error: what follows "Caused by:", else its first line."""
    lines = [line.strip() for line in str(failure).splitlines() if line.strip()]
    if "Caused by:" in lines:
        return "; ".join(lines[lines.index("Caused by:") + 1:])
    return lines[0] if lines else type(failure).__name__


def _engine_config(stack: int) -> wasmtime.Config:
    import wasmtime

    config = wasmtime.Config()
    _use_code_cache(config)
    config.epoch_interruption = True
    config.max_wasm_stack = _settable_stack(config, stack)
    return config


def _settable_stack(config: wasmtime.Config, stack: int) -> int:
    """`stack`, once the engine accepts it as max_wasm_stack; wasmtime's default otherwise.

    wasmtime refuses (by aborting the process, in its C API) an engine whose max_wasm_stack exceeds
    its async_stack_size, the stack of async calls, 2 MiB by default; cwpkg makes no async calls,
    so that stack is raised to match. wasmtime-py has no property for it: its C function is called
    through the package's bindings, and a wasmtime without it keeps the default limit.
    """
    if stack <= ENGINE_STACK_MIN:
        return stack
    try:
        from wasmtime import _bindings

        _bindings.wasmtime_config_async_stack_size_set(config.ptr(), stack)
    except (ImportError, AttributeError):
        return ENGINE_STACK_MIN
    return stack


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
