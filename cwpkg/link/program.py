"""A program's source (Crystal, or a wasm32 object) to a linked module: compile, install what it needs, link.

Shared by `cwpkg link`, `cwpkg run`'s callers and `cwpkg spec`. The caller provides the sysroot,
recipes, toolchain and an installer (`ProgramResources`); the toolchain probe and the recipes are
asked for only while crystal compiles, which is most of a link's time.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
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
from cwpkg.places import cache_dir
from cwpkg.sysroot import Sysroot
from cwpkg.wasm import parse_link_arguments

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
    sysroot = resources.sysroot
    with tempfile.TemporaryDirectory(prefix="cwpkg-link-") as work:
        exceptions = options.exceptions_for(kind)
        compilation = _start_compilation(resources, source, Path(work), options, exceptions) if kind == "crystal" else None
        try:
            toolchain, book = resources.toolchain, resources.book
            line = (compilation.link_line() if compilation
                    else parse_link_arguments([str(source.resolve()), *options.flags]))
            if compilation and exceptions:
                line = compilation.lower_exceptions(toolchain, sysroot, line)
        finally:
            if compilation:
                compilation.stop()
        plan = plan_libraries(line, book, sysroot)
        if plan.missing and options.install_missing:
            resources.install([recipe.name for recipe in plan.missing], summary_to=sys.stderr)
        else:
            require_installed(plan, sysroot)  # before the lock, which would create the sysroot
        with sysroot.locked(resources.say, shared=True):
            return link_program(toolchain, sysroot, book, line, output, options.link, resources.say)


def _start_compilation(resources: ProgramResources, source: Path, work: Path,
                       options: ProgramOptions, exceptions: bool) -> CrystalCompilation:
    compiler = find_crystal()
    stdlib = compat_stdlib(compiler, resources.recipe_root, cache_dir())
    patches = ", ".join(patch.name for patch in stdlib.patches) or "none"
    resources.say(f"crystal {compiler.version} ({compiler.executable}); compat patches: {patches}")
    return CrystalCompilation(compiler, stdlib, source, work, resources.sysroot, options.release, list(options.flags),
                              exceptions)
