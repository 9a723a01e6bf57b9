"""The `cwpkg` command line's grammar: every command, its arguments and the function that runs it.

Handlers are named "module:function" (a module of cwpkg.cli) and imported only when their command runs, so that a command
pays for its own imports alone (`cwpkg link` starts the compiler sooner; see main.py).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
from collections.abc import Callable

from cwpkg import __version__
from cwpkg.errors import EXIT_CODES
from cwpkg.places import BINARY_CACHE_VARIABLE
from cwpkg.repro import LOCK_NAME, TEMPLATES
from cwpkg.toolchain import DEFAULT_TARGET, TARGETS
from cwpkg.wasm import STACK_SIZE

EPILOG = "exit codes:\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in sorted(EXIT_CODES.items()))

Adder = Callable[[str, str], argparse.ArgumentParser]


def load_handler(name: str) -> Callable[..., int]:
    """The function a command's handler name ("module:function", a module of cwpkg.cli) stands for."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(f"cwpkg.cli.{module}"), function)


def jobs_argument(value: str) -> int:
    """argparse type of -j/--jobs."""
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return jobs


def seconds_argument(value: str) -> float:
    """argparse type of --timeout: a positive, finite number of seconds."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {value!r}")
    return seconds


def size_argument(minimum: int) -> Callable[[str], int]:
    """argparse type of a size in bytes (8388608, 8M, 512K): at least `minimum`, a multiple of 16."""
    def parse(value: str) -> int:
        units = {"k": 1 << 10, "m": 1 << 20}
        try:
            size = int(value[:-1]) * units[value[-1].lower()] if value[-1:].lower() in units else int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a size: {value!r} (examples: 8388608, 8M, 512K)") from None
        if size < minimum or size % 16:
            raise argparse.ArgumentTypeError(f"must be at least {minimum >> 10}K and a multiple of 16 bytes")
        return size
    return parse


def engine_stack_argument(value: str) -> int:
    """argparse type of --max-wasm-stack: bytes (8388608, 8M, 1G) from 64K to 1G."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    try:
        size = int(value[:-1]) * units[value[-1].lower()] if value[-1:].lower() in units else int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {value!r} (examples: 67108864, 64M, 1G)") from None
    if not 64 << 10 <= size <= 1 << 30:
        raise argparse.ArgumentTypeError("must be from 64K to 1G")
    return size


def add_program_commands(command: Adder) -> None:
    link = command("link", "compile a Crystal program (or link a wasm32 object) into a runnable WebAssembly module")
    link.add_argument("program", metavar="APP.cr|APP.o", help="Crystal source, or an object from crystal --cross-compile")
    link.add_argument("-o", "--output", metavar="OUT.wasm", help="the module to write (default: APP.wasm beside APP)")
    link.add_argument("--release", action="store_true", help="compile with crystal --release")
    link.add_argument("--no-install", action="store_true", help="fail instead of installing missing libraries")
    link.add_argument("--asyncify", action="store_true",
                      help="run Binaryen's Asyncify pass (automatic when the program imports 'asyncify')")
    link.add_argument("--asyncify-asserts", action="store_true",
                      help="with the GC runtime: Binaryen's checks that every function on the stack at an "
                           "unwind is instrumented (a trap names a missed one; for testing)")
    link.add_argument("-O", "--optimize", action="store_true", help="optimize the module with wasm-opt -O")
    link.add_argument("--strip", action="store_true", help="remove debug information and producers")
    link.add_argument("--stack-size", type=size_argument(64 << 10), default=STACK_SIZE, metavar="BYTES",
                      help=f"stack size of the module (default {STACK_SIZE >> 20}M)")
    link.add_argument("--fiber-stack-size", type=size_argument(16 << 10), metavar="BYTES",
                      help="with the collector's runtime: each fiber's stack (default 32K; its unwound frames "
                           "and address-taken locals live there)")
    link.add_argument("--exceptions", action=argparse.BooleanOptionalAction,
                      help="Crystal: raise returns to rescue and ensure through the collector's runtime, as "
                           "natively (the default, unless -Dgc_none); --no-exceptions: a raise ends the "
                           "program, as in upstream Crystal, and the link is faster")
    link.add_argument("--reactor", action="store_true",
                      help="make a plugin: a WASI reactor module whose exported funs a host calls after "
                           "_initialize, each inside cwpkg's runtime (an escaping exception is the call's "
                           "error, read with cwpkg_error); exports cwpkg_alloc and cwpkg_free for the host")
    link.add_argument("--export", action="append", default=[], metavar="NAME",
                      help="with --reactor: export this fun (repeatable; default: every fun the program "
                           "defines itself)")
    link.add_argument("--run", action="store_true",
                      help="then run it under wasmtime (with the current directory, unless --dir says otherwise)")
    add_run_options(link)
    link.set_defaults(handler="program:cmd_link")
    link.epilog = ("after --: flags for crystal (APP.cr), or for the linker, such as -lgmp (APP.o)\n\n"
                   + (link.epilog or ""))

    run = command("run", "run a WebAssembly (WASI) module under wasmtime; its exit status becomes cwpkg's")
    run.add_argument("module", metavar="APP.wasm")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                     help="the program's arguments; or --invoke NAME and the function's arguments")
    run.add_argument("--invoke", metavar="NAME",
                     help="call the module's exported function NAME (after _initialize, for a plugin from "
                          "`cwpkg link --reactor`) with ARGS (integers, floats) and print its result; "
                          "`cwpkg run APP.wasm --invoke NAME ARGS` works too")
    add_run_options(run)
    run.set_defaults(handler="program:cmd_run")

    spec = command("spec", "build Crystal spec files for wasm32-wasi and run their examples under wasmtime")
    spec.add_argument("files", nargs="*", metavar="FILE_spec.cr",
                      help="spec files (with --crystal-src: paths inside that tree; default its wasm32 std spec)")
    spec.add_argument("--crystal-src", metavar="DIR|URL",
                      help="a Crystal source tree of the installed compiler's version, or its release tarball's URL")
    spec.add_argument("--crystal-src-sha256", metavar="HEX", help="the tarball's sha256 (required with a URL)")
    spec.add_argument("--release", action="store_true", help="compile with crystal --release")
    spec.add_argument("--no-install", action="store_true", help="fail instead of installing missing libraries")
    spec.add_argument("--exceptions", action=argparse.BooleanOptionalAction,
                      help="build with cwpkg's exceptions (the default, as for cwpkg link): failures and "
                           "expected raises are caught as natively, and each run's examples share one instance; "
                           "--no-exceptions: each example runs alone")
    spec.add_argument("--timeout", type=seconds_argument, default=120, metavar="SECONDS",
                      help="per example (default 120)")
    spec.add_argument("-j", "--jobs", type=jobs_argument, default=os.cpu_count() or 1,
                      help="examples run at once, and with --report spec files built at once (default: number of cores)")
    spec.add_argument("--report", metavar="FILE.md",
                      help="build and run each spec file alone (one that does not build is reported, not fatal) "
                           "and write a Markdown table of the results to FILE.md; with --crystal-src and no "
                           "files, every spec/std/**/*_spec.cr of the tree")
    spec.set_defaults(handler="spec:cmd_spec")

    bindings = command("bindings", "compare the standard library's lib bindings with the sysroot's C headers, "
                                   "as wasm32 sees them")
    bindings.add_argument("programs", nargs="*", metavar="PROGRAM.cr",
                          help="also check the proc literals these programs hand to C")
    bindings.add_argument("--unpatched", action="store_true",
                          help="check the installed standard library, without the compat patches")
    bindings.add_argument("-v", "--verbose", action="store_true",
                          help="also list partial structs, undeclared funs and what wasm32 does not compile")
    bindings.set_defaults(handler="bindings:cmd_bindings")

    env = command("env", "print the variables that let crystal, pkg-config, make, CMake and meson use the sysroot")
    env.add_argument("--shell", action="store_true", help='as export lines: eval "$(cwpkg env --shell)"')
    env.set_defaults(handler="env:cmd_env")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST]",
                        help="give the program a host directory, under the same name or as GUEST")
    parser.add_argument("--env", action="append", default=[], metavar="NAME[=VALUE]",
                        help="set a variable for the program; without =VALUE, pass the host's value")
    parser.add_argument("--timeout", type=seconds_argument, metavar="SECONDS", help="stop the program after this long")
    parser.add_argument("--max-wasm-stack", type=engine_stack_argument, metavar="BYTES",
                        help="the engine's call stack for the program's calls, fibers included (default: the "
                             "module's own stack size, at least 2M; deeper recursion traps)")


def add_lockfile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lockfile", metavar="FILE",
                        help=f"the lockfile (default: CWPKG_LOCK, else {LOCK_NAME} beside the recipes)")


def add_reproducibility_commands(command: Adder, common: argparse.ArgumentParser) -> None:
    lock = command("lock", f"build packages as needed and record exactly what they were built from in {LOCK_NAME}")
    lock.add_argument("packages", nargs="*", metavar="PKG")
    lock.add_argument("--all", action="store_true", help="every recipe (the lock then holds exactly these)")
    lock.add_argument("-j", "--jobs", type=jobs_argument, default=os.cpu_count() or 1)
    add_lockfile_option(lock)
    lock.set_defaults(handler="reproducible:cmd_lock")

    verify = command("verify", "check every installed file against its manifest, and the packages against the lock")
    verify.add_argument("--no-lock", action="store_true", help="check the files only, even if a lockfile exists")
    add_lockfile_option(verify)
    verify.set_defaults(handler="reproducible:cmd_verify")

    bundle = command("bundle", "pack the installed sysroot into one deterministic archive with its lock and checksums")
    bundle.add_argument("packages", nargs="*", metavar="PKG", help="only these and their dependencies (default: all)")
    bundle.add_argument("-o", "--output", required=True, metavar="FILE.tar.gz")
    bundle.set_defaults(handler="reproducible:cmd_bundle")

    cache = command("cache", f"the binary cache of built packages ({BINARY_CACHE_VARIABLE}: a directory or an http(s) URL)")
    actions = cache.add_subparsers(dest="action", metavar="ACTION", required=True)
    push = actions.add_parser("push", parents=[common], help="publish installed packages' archives (default: all "
                                                                 "installed)")
    push.add_argument("packages", nargs="*", metavar="PKG")
    pull = actions.add_parser("pull", parents=[common],
                              help="install locked packages from the cache only, verified against the lock")
    pull.add_argument("packages", nargs="*", metavar="PKG")
    add_lockfile_option(pull)
    actions.add_parser("list", parents=[common], help="what the cache holds")
    gc = actions.add_parser("gc", parents=[common], help="remove the entries the lockfile does not name")
    add_lockfile_option(gc)
    cache.set_defaults(handler="reproducible:cmd_cache")

    template = command("ci-template", "write a CI workflow that builds the locked sysroot, verifies and bundles it")
    template.add_argument("system", choices=sorted(TEMPLATES))
    template.add_argument("-o", "--output", metavar="FILE", help="where (default: the system's usual place, "
                                                                 "in the checkout)")
    template.add_argument("--force", action="store_true", help="replace an existing file")
    template.set_defaults(handler="reproducible:cmd_ci_template")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--sysroot", metavar="DIR", default=argparse.SUPPRESS,
                        help="install root (default: CWPKG_SYSROOT, else sysroot/ beside the recipes)")
    common.add_argument("--target", choices=TARGETS, default=argparse.SUPPRESS,
                        help="what a new sysroot's libraries are built for (default: CWPKG_TARGET, else the "
                             f"sysroot's own target, else {DEFAULT_TARGET}); wasm32-wasip1 is the newer name")
    common.add_argument("--recipes", metavar="DIR", default=argparse.SUPPRESS,
                        help="checkout holding recipes/ and patches/ (default: CWPKG_RECIPES, else this checkout)")
    common.add_argument("--toolchain", metavar="DIR", default=argparse.SUPPRESS,
                        help="LLVM prefix or wasi-sdk to use (default: CWPKG_TOOLCHAIN, WASI_SDK_PATH, system LLVM)")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="print only errors and results; no progress bars")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="cwpkg", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Builds the C libraries that Crystal programs need as WebAssembly (wasm32-wasi) into a sysroot.",
    )
    parser.add_argument("--version", action="version", version=f"cwpkg {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[common], help=help_text, description=help_text,
                                   formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)

    install = command("install", "build packages (and their dependencies) and install them into the sysroot")
    install.add_argument("packages", nargs="*", metavar="PKG")
    install.add_argument("--all", action="store_true", help="every recipe")
    install.add_argument("-j", "--jobs", type=jobs_argument, default=os.cpu_count() or 1,
                         help="packages built in parallel, and make's -j (default: number of cores)")
    install.add_argument("--explain", action="store_true", help="say why each package is (re)built")
    install.add_argument("--check", action="store_true", help="then run each package's test program")
    install.add_argument("--locked", action="store_true",
                         help="build only what the lockfile records (default: all of it) and insist on its bytes")
    add_lockfile_option(install)
    install.add_argument("--from-bundle", metavar="FILE", help="install a bundle made by `cwpkg bundle`, verified")
    install.add_argument("--keep-build-trees", action="store_true",
                         help="keep the tree of each package built, for `cwpkg test` to run its suite in")
    install.set_defaults(handler="packages:cmd_install")

    uninstall = command("uninstall", "remove packages' files from the sysroot")
    uninstall.add_argument("packages", nargs="+", metavar="PKG")
    uninstall.add_argument("--force", action="store_true", help="even if installed packages depend on them")
    uninstall.set_defaults(handler="packages:cmd_uninstall")

    command("list", "installed packages and their versions").set_defaults(handler="packages:cmd_list")

    info = command("info", "what is known of a package: recipe, and installed version, sources, patches, toolchain")
    info.add_argument("package", metavar="PKG")
    info.set_defaults(handler="packages:cmd_info")

    fetch = command("fetch", "download and verify sources only (default: every recipe's), for offline builds")
    fetch.add_argument("packages", nargs="*", metavar="PKG")
    fetch.set_defaults(handler="packages:cmd_fetch")

    command("recipes", "available recipes").set_defaults(handler="packages:cmd_recipes")
    toolchain = command("toolchain", "the WebAssembly toolchain cwpkg would use")
    toolchain.add_argument("--install", metavar="NAME",
                           help="download a prebuilt toolchain (toolchains/NAME.yaml, e.g. wasi-sdk) into the cache")
    toolchain.set_defaults(handler="packages:cmd_toolchain")

    test = command("test", "build libraries' own upstream test suites for wasm32-wasi and run them under wasmtime")
    test.add_argument("packages", nargs="*", metavar="PKG")
    test.add_argument("--all", action="store_true", help="every recipe that has a suite")
    test.add_argument("-j", "--jobs", type=jobs_argument, default=os.cpu_count() or 1,
                      help="suites run at once, and make's -j (default: number of cores)")
    test.add_argument("--report", action="store_true", help="print the results as a markdown table")
    test.add_argument("--report-file", metavar="FILE", help="also write that table to FILE")
    test.add_argument("--keep", action="store_true", help="keep the build trees the suites ran in")
    test.set_defaults(handler="packages:cmd_test")

    check = command("check", "run installed packages' test programs under wasmtime (default: all installed)")
    check.add_argument("packages", nargs="*", metavar="PKG")
    check.set_defaults(handler="packages:cmd_check")
    add_program_commands(command)
    add_reproducibility_commands(command, common)
    return parser
