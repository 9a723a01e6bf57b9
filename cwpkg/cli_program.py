"""The commands for users' programs: `cwpkg link`, `cwpkg run`, `cwpkg env` and `cwpkg spec`."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cwpkg.context import Context, install_packages, jobs_argument, toolchain_for
from cwpkg.crystal import find_crystal
from cwpkg.crystal_build import compile_crystal, program_kind
from cwpkg.crystal_compat import compat_stdlib
from cwpkg.crystal_spec import (
    CrystalSourceTarball,
    list_examples,
    render_spec_report,
    require_specs_ok,
    run_example,
    std_spec_files,
    write_driver,
)
from cwpkg.environment import render_environment, sysroot_environment
from cwpkg.errors import ToolchainError, UsageError
from cwpkg.layout import cache_dir
from cwpkg.link import STACK_SIZE, LinkOptions, LinkResult, link_program, plan_libraries, require_installed
from cwpkg.linkline import LinkLine, parse_link_arguments
from cwpkg.recipe import SHA256_RE
from cwpkg.runner import run_module
from cwpkg.sources import fetch_unpacked
from cwpkg.wasm_module import is_linked_program

Adder = Callable[[str, str], argparse.ArgumentParser]


def _stack_size(value: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20}
    try:
        size = int(value[:-1]) * units[value[-1].lower()] if value[-1:].lower() in units else int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {value!r} (examples: 8388608, 8M, 512K)") from None
    if size < 64 << 10 or size % 16:
        raise argparse.ArgumentTypeError("must be at least 64K and a multiple of 16 bytes")
    return size


def add_program_commands(command: Adder) -> None:
    link = command("link", "compile a Crystal program (or link a wasm32 object) into a runnable WebAssembly module")
    link.add_argument("program", metavar="APP.cr|APP.o", help="Crystal source, or an object from crystal --cross-compile")
    link.add_argument("-o", "--output", metavar="OUT.wasm", help="the module to write (default: APP.wasm beside APP)")
    link.add_argument("--release", action="store_true", help="compile with crystal --release")
    link.add_argument("--no-install", action="store_true", help="fail instead of installing missing libraries")
    link.add_argument("--asyncify", action="store_true",
                      help="run Binaryen's Asyncify pass (automatic when the program imports 'asyncify')")
    link.add_argument("-O", "--optimize", action="store_true", help="optimize the module with wasm-opt -O")
    link.add_argument("--strip", action="store_true", help="remove debug information and producers")
    link.add_argument("--stack-size", type=_stack_size, default=STACK_SIZE, metavar="BYTES",
                      help=f"stack size of the module (default {STACK_SIZE >> 20}M)")
    link.add_argument("--run", action="store_true",
                      help="then run it under wasmtime (with the current directory, unless --dir says otherwise)")
    add_run_options(link)
    link.set_defaults(handler=cmd_link)
    link.epilog = ("after --: flags for crystal (APP.cr), or for the linker, such as -lgmp (APP.o)\n\n"
                   + (link.epilog or ""))

    run = command("run", "run a WebAssembly (WASI) module under wasmtime; its exit status becomes cwpkg's")
    run.add_argument("module", metavar="APP.wasm")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="the program's arguments")
    add_run_options(run)
    run.set_defaults(handler=cmd_run)

    spec = command("spec", "build Crystal spec files for wasm32-wasi and run every example alone under wasmtime")
    spec.add_argument("files", nargs="*", metavar="FILE_spec.cr",
                      help="spec files (with --crystal-src: paths inside that tree; default its wasm32 std spec)")
    spec.add_argument("--crystal-src", metavar="DIR|URL",
                      help="a Crystal source tree of the installed compiler's version, or its release tarball's URL")
    spec.add_argument("--crystal-src-sha256", metavar="HEX", help="the tarball's sha256 (required with a URL)")
    spec.add_argument("--release", action="store_true", help="compile with crystal --release")
    spec.add_argument("--no-install", action="store_true", help="fail instead of installing missing libraries")
    spec.add_argument("--timeout", type=float, default=120, metavar="SECONDS", help="per example (default 120)")
    spec.add_argument("-j", "--jobs", type=jobs_argument, default=os.cpu_count() or 1,
                      help="examples run at once (default: number of cores)")
    spec.set_defaults(handler=cmd_spec)

    env = command("env", "print the variables that let crystal, pkg-config, make, CMake and meson use the sysroot")
    env.add_argument("--shell", action="store_true", help='as export lines: eval "$(cwpkg env --shell)"')
    env.set_defaults(handler=cmd_env)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST]",
                        help="give the program a host directory, under the same name or as GUEST")
    parser.add_argument("--env", action="append", default=[], metavar="NAME[=VALUE]",
                        help="set a variable for the program; without =VALUE, pass the host's value")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="stop the program after this long")


def build_module(context: Context, source: Path, output: Path, link_options: LinkOptions) -> LinkResult:
    """Compiles (for .cr), installs what the program needs (unless --no-install), links into `output`.

    Flags after `--` go to crystal, or to the linker for an object file.
    """
    kind = program_kind(source)
    if output.resolve() == source.resolve():
        raise UsageError(f"-o {output} would overwrite the input", hint="choose another output name")
    toolchain, sysroot, book = toolchain_for(context), context.sysroot, context.book
    with tempfile.TemporaryDirectory(prefix="cwpkg-link-") as work:
        line = _program_link_line(context, kind, source, Path(work))
        plan = plan_libraries(line, book, sysroot)
        if plan.missing and not context.options.no_install:
            install_packages(context, [recipe.name for recipe in plan.missing], os.cpu_count() or 1, False,
                             summary_to=sys.stderr)
        else:
            require_installed(plan, sysroot)  # before the lock, which would create the sysroot
        with sysroot.locked(context.say, shared=True):
            return link_program(toolchain, sysroot, book, line, output, link_options, context.say)


def _program_link_line(context: Context, kind: str, source: Path, work: Path) -> LinkLine:
    extra = context.options.passthrough
    if kind == "object":
        return parse_link_arguments([str(source.resolve()), *extra])
    compiler = find_crystal()
    stdlib = compat_stdlib(compiler, context.book.root, cache_dir())
    patches = ", ".join(patch.name for patch in stdlib.patches) or "none"
    context.say(f"crystal {compiler.version} ({compiler.executable}); compat patches: {patches}")
    return compile_crystal(compiler, stdlib, source, work, context.sysroot.root, context.options.release, extra)


def _libraries(result: LinkResult) -> str:
    return ", ".join(f"{recipe.name} {recipe.version}" for recipe in result.recipes)


def cmd_link(context: Context) -> int:
    options = context.options
    source = Path(options.program)
    output = Path(options.output) if options.output else source.with_suffix(".wasm")
    link_options = LinkOptions(options.asyncify, options.optimize, options.strip, options.stack_size)
    result = build_module(context, source, output, link_options)
    summary = f"linked {result.output} ({result.output.stat().st_size} bytes) with {_libraries(result)}"
    if not context.options.run:
        print(summary)
        return 0
    context.say(summary)
    return run_with_options(context, result.output, [], default_dirs=(".",))


def _spec_sources(context: Context, version: str) -> tuple[list[Path], Path]:
    """The spec files to build and the directory the examples run in (preopened as ".")."""
    options = context.options
    if options.crystal_src is None:
        if not options.files:
            raise UsageError("name the spec files to run, or give --crystal-src")
        files = [Path(name) for name in options.files]
        for path in files:
            if path.suffix != ".cr" or not path.is_file():
                raise UsageError(f"{path}: not a Crystal spec file (.cr)")
        return files, Path.cwd()
    location = options.crystal_src
    if "://" in location:
        if not options.crystal_src_sha256 or not SHA256_RE.fullmatch(options.crystal_src_sha256):
            raise UsageError("--crystal-src URL needs --crystal-src-sha256 with the tarball's 64-digit sha256")
        tarball = CrystalSourceTarball(version, location, options.crystal_src_sha256)
        root = fetch_unpacked(context.source_cache(), tarball, tarball.target(cache_dir()), context.say)
    else:
        root = Path(location).resolve()
        if not root.is_dir():
            raise UsageError(f"--crystal-src {location}: not a directory")
    return std_spec_files(root, options.files), root


def cmd_spec(context: Context) -> int:
    options = context.options
    version = find_crystal().version
    files, run_dir = _spec_sources(context, version)
    with tempfile.TemporaryDirectory(prefix="cwpkg-spec-") as work:
        driver = write_driver(Path(work), files)
        result = build_module(context, driver, Path(work) / "specs.wasm", LinkOptions())
        module = result.output
        examples = list_examples(module, run_dir)
        context.say(f"{len(files)} spec files linked with {_libraries(result)}; "
                    f"running {len(examples)} examples, each in its own instance")
        with ThreadPoolExecutor(max_workers=options.jobs) as pool:
            outcomes = list(pool.map(lambda example: run_example(module, example, run_dir, options.timeout, version),
                                     examples))
    print(render_spec_report(outcomes, version), end="")
    require_specs_ok(outcomes)
    return 0


def cmd_env(context: Context) -> int:
    toolchain, sysroot = toolchain_for(context), context.sysroot
    try:
        compiler = find_crystal()
        stdlib = compat_stdlib(compiler, context.book.root, cache_dir())
    except ToolchainError as error:  # C builds can still use the sysroot
        context.say(f"cwpkg: no Crystal variables: {error}")
        compiler, stdlib = None, None
    choice = context.options.toolchain or os.environ.get("CWPKG_TOOLCHAIN")
    variables = sysroot_environment(context.book.root, sysroot.root, toolchain, choice, compiler, stdlib)
    print(render_environment(variables, context.options.shell), end="")
    return 0


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
