"""`cwpkg link` and `cwpkg run`: a Crystal program (or a wasm32 object) to a running WebAssembly module."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cwpkg.cli.context import Context
from cwpkg.errors import UsageError
from cwpkg.link import LinkOptions, build_module
from cwpkg.sysroot import check_output_path
from cwpkg.wasm import Invocation, is_linked_program, run_module


def cmd_link(context: Context) -> int:
    options = context.options
    source = Path(options.program)
    if options.reactor and options.run:
        raise UsageError("--run runs a program's main; a plugin (--reactor) has none",
                         hint="call its functions: cwpkg run PLUGIN.wasm --invoke NAME [ARGS]")
    output = check_output_path(Path(options.output) if options.output else source.with_suffix(".wasm"),
                               context.sysroot, "-o")
    link_options = LinkOptions(asyncify=options.asyncify, asyncify_asserts=options.asyncify_asserts,
                               optimize=options.optimize, strip=options.strip, stack_size=options.stack_size,
                               fiber_stack_size=options.fiber_stack_size)
    result = build_module(context, source, output, context.program_options(link_options))
    summary = f"linked {result.output} ({result.output.stat().st_size} bytes) with {result.libraries()}"
    if not context.options.run:
        print(summary)
        return 0
    context.say(summary)
    return run_with_options(context, result.output, [], default_dirs=(".",))


def _preopens(specs: list[str] | tuple[str, ...]) -> list[tuple[Path, str]]:
    preopens = []
    for spec in specs:
        host, _, guest = spec.partition("::")
        if not Path(host).is_dir():
            raise UsageError(f"--dir {spec}: {host} is not a directory")
        preopens.append((Path(host), guest or host))
    return preopens


def _environment(specs: list[str]) -> dict[str, str]:
    env = {}
    for spec in specs:
        name, has_value, value = spec.partition("=")
        if not name:
            raise UsageError(f"--env {spec}: no variable name")
        if not has_value:
            if name not in os.environ:
                continue
            value = os.environ[name]
        env[name] = value
    return env


def run_with_options(context: Context, module: Path, args: list[str], default_dirs: tuple[str, ...] = ()) -> int:
    options = context.options
    _require_linked(module)
    result = run_module(module, args, env=_environment(options.env), preopens=_preopens(options.dir or default_dirs),
                        capture=False, argv0=module.name, timeout=options.timeout, max_stack=options.max_wasm_stack)
    if result.trap:
        print(f"cwpkg: {module.name}: {result.trap}", file=sys.stderr)
    return result.exit_code


def cmd_run(context: Context) -> int:
    options = context.options
    invoke, args = options.invoke, [*options.args, *options.passthrough]
    if invoke is None and args[:1] == ["--invoke"]:  # after the module: cwpkg's, not the program's
        if len(args) < 2:
            raise UsageError("--invoke needs the name of the function to call", hint="--invoke NAME [ARGS]")
        invoke, args = args[1], args[2:]
    if invoke is not None:
        return _invoke(context, Path(options.module), Invocation(invoke, tuple(args)))
    return run_with_options(context, Path(options.module), args)


def _invoke(context: Context, module: Path, invocation: Invocation) -> int:
    """--invoke: the function's result on standard output; an exception it raised (a plugin's
    cwpkg_error) on standard error, with exit status 1."""
    options = context.options
    _require_linked(module)
    result = run_module(module, env=_environment(options.env), preopens=_preopens(options.dir), capture=False,
                        argv0=module.name, timeout=options.timeout, max_stack=options.max_wasm_stack,
                        invocation=invocation)
    if result.trap:
        print(f"cwpkg: {module.name}: {result.trap}", file=sys.stderr)
        return result.exit_code
    if result.error is not None:
        print(f"cwpkg: {module.name}: {invocation.name} raised: {result.error}", file=sys.stderr)
        return 1
    if result.results:
        print(" ".join(map(str, result.results)))
    return result.exit_code


def _require_linked(module: Path) -> None:
    if not is_linked_program(module):
        raise UsageError(f"{module}: not a linked WebAssembly module", hint="make one with `cwpkg link APP.cr`")
