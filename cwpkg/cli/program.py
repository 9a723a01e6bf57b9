"""`cwpkg link` and `cwpkg run`: a Crystal program (or a wasm32 object) to a running WebAssembly module."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from cwpkg.cli.context import Context
from cwpkg.crystal.compat import compat_stdlib
from cwpkg.crystal.compile import CrystalCompilation, program_kind
from cwpkg.crystal.compiler import find_crystal
from cwpkg.errors import UsageError
from cwpkg.link.driver import (
    LinkOptions,
    LinkResult,
    link_program,
    object_symbols,
    plan_libraries,
    require_installed,
)
from cwpkg.places import cache_dir
from cwpkg.sysroot.location import check_output_path
from cwpkg.wasm.linkline import parse_link_arguments
from cwpkg.wasm.module import is_linked_program
from cwpkg.wasm.runner import run_module


def build_module(context: Context, source: Path, output: Path, link_options: LinkOptions) -> LinkResult:
    """Compiles (for .cr), installs what the program needs (unless --no-install), links into `output`.

    Flags after `--` go to crystal, or to the linker for an object file.
    """
    kind = program_kind(source)
    if kind == "object":
        object_symbols(source)  # a damaged object is reported as such before anything else
    if output.resolve() == source.resolve():
        raise UsageError(f"-o {output} would overwrite the input", hint="choose another output name")
    sysroot = context.sysroot
    with tempfile.TemporaryDirectory(prefix="cwpkg-link-") as work:
        compilation = _start_compilation(context, source, Path(work)) if kind == "crystal" else None
        try:  # the toolchain probe and the recipes are read while crystal compiles (most of a link's time)
            toolchain, book = context.toolchain, context.book
            line = (compilation.link_line() if compilation
                    else parse_link_arguments([str(source.resolve()), *context.options.passthrough]))
        finally:
            if compilation:
                compilation.stop()
        plan = plan_libraries(line, book, sysroot)
        if plan.missing and not context.options.no_install:
            # the build engine is imported only when there is something to build
            context.install([recipe.name for recipe in plan.missing], summary_to=sys.stderr)
        else:
            require_installed(plan, sysroot)  # before the lock, which would create the sysroot
        with sysroot.locked(context.say, shared=True):
            return link_program(toolchain, sysroot, book, line, output, link_options, context.say)


def _start_compilation(context: Context, source: Path, work: Path) -> CrystalCompilation:
    compiler = find_crystal()
    stdlib = compat_stdlib(compiler, context.recipe_root, cache_dir())
    patches = ", ".join(patch.name for patch in stdlib.patches) or "none"
    context.say(f"crystal {compiler.version} ({compiler.executable}); compat patches: {patches}")
    return CrystalCompilation(compiler, stdlib, source, work, context.sysroot, context.options.release,
                              context.options.passthrough)


def libraries_linked(result: LinkResult) -> str:
    return ", ".join(f"{recipe.name} {recipe.version}" for recipe in result.recipes)


def cmd_link(context: Context) -> int:
    options = context.options
    source = Path(options.program)
    output = check_output_path(Path(options.output) if options.output else source.with_suffix(".wasm"),
                               context.sysroot, "-o")
    link_options = LinkOptions(options.asyncify, options.optimize, options.strip, options.stack_size)
    result = build_module(context, source, output, link_options)
    summary = f"linked {result.output} ({result.output.stat().st_size} bytes) with {libraries_linked(result)}"
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
    if not is_linked_program(module):
        raise UsageError(f"{module}: not a linked WebAssembly module", hint="make one with `cwpkg link APP.cr`")
    result = run_module(module, args, env=_environment(options.env), preopens=_preopens(options.dir or default_dirs),
                        capture=False, argv0=module.name, timeout=options.timeout)
    if result.trap:
        print(f"cwpkg: {module.name}: {result.trap}", file=sys.stderr)
    return result.exit_code


def cmd_run(context: Context) -> int:
    options = context.options
    return run_with_options(context, Path(options.module), [*options.args, *options.passthrough])
