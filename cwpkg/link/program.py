"""A program's source (Crystal, or a wasm32 object) to a linked module: compile, install what it needs, link.

Shared by `cwpkg link`, `cwpkg run`'s callers and `cwpkg spec`. The caller provides the sysroot,
recipes, toolchain and an installer (`ProgramResources`); the toolchain probe and the recipes are
asked for only while crystal compiles, which is most of a link's time.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from cwpkg.crystal import (
    CrystalCompilation,
    chooses_no_collector,
    compat_stdlib,
    find_crystal,
    program_kind,
)
from cwpkg.errors import UsageError
from cwpkg.link.driver import (
    LinkOptions,
    LinkResult,
    link_program,
    object_symbols,
    plan_libraries,
    require_installed,
)
from cwpkg.link.reactor import check_export_names
from cwpkg.places import cache_dir
from cwpkg.sysroot import Sysroot
from cwpkg.wasm import LinkLine, parse_link_arguments

if TYPE_CHECKING:
    from cwpkg.recipes import Recipe, RecipeBook
    from cwpkg.toolchain import Toolchain


class ProgramResources(Protocol):
    """What building a program needs from its caller (the CLI's Context is one)."""

    recipe_root: Path
    sysroot: Sysroot
    toolchain: Toolchain
    book: RecipeBook
    say: Callable[[str], None]

    def install(self, requested: list[str], jobs: int | None = None, explain: bool = False,
                summary_to: TextIO = sys.stdout) -> list[Recipe]: ...


@dataclass(frozen=True)
class ProgramOptions:
    link: LinkOptions = field(default_factory=LinkOptions)
    release: bool = False
    flags: tuple[str, ...] = ()  # to crystal, or to the linker for an object file
    install_missing: bool = True  # install the recipes the program needs (else: an error naming them)
    # Crystal: raise returns to rescue through the runtime (runtime/exceptions.c); None: if the program
    # has the runtime (a Crystal source not built with -Dgc_none)
    exceptions: bool | None = None
    reactor: bool = False  # a plugin (cwpkg.link.reactor) rather than a command
    exports: tuple[str, ...] = ()  # the plugin's exported funs; none named: every fun of the program's own

    def exceptions_for(self, kind: str) -> bool:
        """Whether a program of `kind` (program_kind) is compiled with exceptions."""
        if self.exceptions is not None:
            return self.exceptions
        return kind == "crystal" and not chooses_no_collector(self.flags)


def build_module(resources: ProgramResources, source: Path, output: Path, options: ProgramOptions) -> LinkResult:
    """Compiles (for .cr), installs what the program needs (if allowed), links into `output`."""
    kind = program_kind(source)
    if kind == "object":
        object_symbols(source)  # a damaged object is reported as such before anything else
        if options.exceptions:  # asked for
            raise UsageError("--exceptions compiles a Crystal program for exceptions; an object is linked as "
                             "it was compiled", hint="leave --exceptions out: an object compiled with -mllvm "
                                                     "-enable-emscripten-cxx-exceptions gets its catchers anyway")
    if output.resolve() == source.resolve():
        raise UsageError(f"-o {output} would overwrite the input", hint="choose another output name")
    exceptions = options.exceptions_for(kind)
    _check_reactor(source, kind, options, exceptions)
    sysroot = resources.sysroot
    with tempfile.TemporaryDirectory(prefix="cwpkg-link-") as work:
        if kind == "crystal":
            line, link = _compile(resources, source, Path(work) / "first", options, exceptions)
        else:
            line, link = parse_link_arguments([str(source.resolve()), *options.flags]), options.link
        plan = plan_libraries(line, resources.book, sysroot)
        if plan.missing and options.install_missing:
            resources.install([recipe.name for recipe in plan.missing], summary_to=sys.stderr)
            if kind == "crystal":  # its macros may have asked pkg-config about what was missing (OpenSSL's
                # version picks the functions LibSSL binds), so it is compiled against what is there now
                line, link = _compile(resources, source, Path(work) / "installed", options, exceptions)
        else:
            require_installed(plan, sysroot)  # before the lock, which would create the sysroot
        with sysroot.locked(resources.say, shared=True):
            return link_program(resources.toolchain, sysroot, resources.book, line, output, link, resources.say)


def _compile(resources: ProgramResources, source: Path, work: Path, options: ProgramOptions,
             exceptions: bool) -> tuple[LinkLine, LinkOptions]:
    """A Crystal program compiled in `work`: its link line (exceptions lowered, if asked) and the link
    options (a plugin's exports from what it defines)."""
    work.mkdir()
    link = options.link
    compilation = _start_compilation(resources, source, work, options, exceptions)
    try:
        toolchain, _ = resources.toolchain, resources.book  # probed and read while crystal compiles
        line = compilation.link_line()
        if exceptions:
            line = compilation.lower_exceptions(toolchain, resources.sysroot, line)
        if options.reactor:
            link = replace(link, reactor=_plugin_exports(source, options.exports, compilation.defined_funs()))
    finally:
        compilation.stop()
    return line, link


def _check_reactor(source: Path, kind: str, options: ProgramOptions, exceptions: bool) -> None:
    """--reactor and --export: a Crystal program, with the runtime's exceptions, valid names."""
    if options.exports and not options.reactor:
        raise UsageError("--export names a plugin's exported funs", hint="add --reactor")
    if not options.reactor:
        return
    if kind != "crystal":
        raise UsageError(f"{source}: --reactor makes a plugin of a Crystal program, not of an object",
                         hint="give the program's .cr file")
    if not exceptions:
        raise UsageError("a plugin (--reactor) runs each exported call under cwpkg's runtime, which catches "
                         "what the call raises; --no-exceptions and -Dgc_none leave that out",
                         hint="leave out --no-exceptions and -Dgc_none")
    check_export_names(options.exports)


def _plugin_exports(source: Path, named: tuple[str, ...], defined: list[str]) -> tuple[str, ...]:
    """The funs a plugin exports: those --export names, which the program must define, else every fun
    the program defines itself."""
    for name in named:
        if name not in defined:
            raise UsageError(f"--export {name}: {source} defines no fun {name}"
                             + (f" (it defines: {', '.join(defined)})" if defined else ""),
                             hint="name a top-level `fun` of the program; a `def` cannot be exported")
    if named:
        return tuple(dict.fromkeys(named))
    if not defined:
        raise UsageError(f"{source} defines no fun for a plugin to export",
                         hint="define a top-level `fun` (such as `fun add(a : Int32, b : Int32) : Int32`); "
                              "with --no-debug, cwpkg cannot tell the program's funs from the standard "
                              "library's: name them with --export NAME")
    return tuple(defined)


def _start_compilation(resources: ProgramResources, source: Path, work: Path,
                       options: ProgramOptions, exceptions: bool) -> CrystalCompilation:
    compiler = find_crystal()
    stdlib = compat_stdlib(compiler, resources.recipe_root, cache_dir())
    patches = ", ".join(patch.name for patch in stdlib.patches) or "none"
    resources.say(f"crystal {compiler.version} ({compiler.executable}); compat patches: {patches}")
    return CrystalCompilation(compiler, stdlib, source, work, resources.sysroot, options.release, list(options.flags),
                              exceptions, options.reactor)
