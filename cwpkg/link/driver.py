"""Links a wasm32-wasi program against the sysroot: libraries to recipes, wasm-ld, then wasm-opt if needed.

Shared by `cwpkg link`, the recipes' test programs and the `wasm-ld` that `cwpkg env` puts on PATH for
a plain `crystal build`, so all give the same module for the same object. A program that links libgc
gets cwpkg's runtime with it and is instrumented for it (cwpkg.link.runtime, docs/wasm-runtime.md).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cwpkg.errors import ProgramError, UsageError
from cwpkg.link.backtraces import compile_frame_names, frame_symbols
from cwpkg.link.exceptions import (
    compile_catchers,
    invoke_types,
    require_exception_runtime,
)
from cwpkg.link.generated import compile_generated
from cwpkg.link.reactor import PROGRAM_EXPORTS, compile_wrappers, export_types
from cwpkg.link.runtime import (
    FIBER_STACK_SYMBOL,
    GC_LIBRARY,
    OPTIMIZATION,
    RUNTIME_LIBRARY,
    Instrumented,
    instrument,
    wrap_flags,
)
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import (
    ASYNCIFY_EXPORTS,
    ASYNCIFY_MODULE,
    Toolchain,
    find_wasm_opt,
    run_wasm_opt,
    wasm_opt_arguments,
)
from cwpkg.wasm import (
    STACK_SIZE,
    LinkLine,
    defined_symbols,
    imports,
    object_function_types,
    read_code_module,
    without_exports,
)

if TYPE_CHECKING:  # the link driver starts the compiler before it reads recipes (see link/program.py)
    from cwpkg.recipes import Recipe, RecipeBook

LIBC_RECIPE = "wasi-libc"


@dataclass(frozen=True)
class LinkOptions:
    asyncify: bool = False  # force the Asyncify pass (it runs anyway when the module imports "asyncify")
    asyncify_asserts: bool = False  # the runtime's Asyncify step with Binaryen's checks (for tests)
    optimize: bool = False
    strip: bool = False
    stack_size: int = STACK_SIZE
    fiber_stack_size: int | None = None  # with the runtime: each fiber's stack (None: the runtime's default)
    reactor: tuple[str, ...] | None = None  # a plugin exporting these funs (cwpkg.link.reactor); None: a command


@dataclass
class LibraryPlan:
    recipes: list[Recipe]  # the recipes whose libraries are linked, dependencies after their users
    missing: list[Recipe]  # of those, the ones not installed in the sysroot
    own: list[str]  # libraries found in the program's own -L directories, not from recipes
    linked_from: dict[str, list[str]]  # recipe name -> the program's -l flags it answers
    runtime: bool  # the program links libgc, and cwpkg's runtime with it


@dataclass(frozen=True)
class LinkResult:
    output: Path
    recipes: list[Recipe]
    wasm_opt: str | None  # what wasm-opt did, or None when it did not run
    instrumented: Instrumented | None = None  # the runtime's Asyncify step, when the program links libgc
    exceptions: bool = False  # the runtime catches the program's exceptions (it calls invoke_SIG)

    def libraries(self) -> str:
        """The recipes linked, with their versions, for a summary line."""
        return ", ".join(f"{recipe.name} {recipe.version}" for recipe in self.recipes)


def library_providers(book: RecipeBook) -> dict[str, Recipe]:
    return {library: book.get(name) for name in book.names() for library in book.get(name).provides.libs}


def plan_libraries(line: LinkLine, book: RecipeBook, sysroot: Sysroot) -> LibraryPlan:
    """Maps every -lNAME to the recipe providing it; the program's own -L directories come second."""
    providers = library_providers(book)
    own_dirs = [Path(d) for d in line.library_dirs if Path(d).resolve() != sysroot.lib_dir.resolve()]
    needed: list[str] = [LIBC_RECIPE]
    own: list[str] = []
    linked_from: dict[str, list[str]] = {}
    for library in line.libraries:
        if library in providers:
            needed.append(providers[library].name)
            linked_from.setdefault(providers[library].name, []).append(f"-l{library}")
        elif any((directory / f"lib{library}.a").is_file() for directory in own_dirs):
            own.append(library)
        else:
            raise ProgramError(
                f"the program links -l{library}, and no recipe provides lib{library}.a "
                f"(recipes provide: {', '.join(sorted(providers))})",
                hint=f"write a recipe that provides {library}, or pass the directory holding lib{library}.a "
                     "to the linker with -L",
            )
    runtime = GC_LIBRARY in [*line.libraries, *_sysroot_archives(line, sysroot)] and GC_LIBRARY in providers
    if runtime:  # libgc collects only under the runtime (its collection gate refuses otherwise)
        if RUNTIME_LIBRARY not in providers:
            raise ProgramError(f"the program links -l{GC_LIBRARY}, and no recipe provides cwpkg's runtime "
                               f"lib{RUNTIME_LIBRARY}.a, without which it never collects",
                               hint="use a recipe checkout that has recipes/cwpkg-rt.yaml")
        needed.append(providers[RUNTIME_LIBRARY].name)
        linked_from.setdefault(providers[RUNTIME_LIBRARY].name, []).append(f"-l{GC_LIBRARY}")
    recipes = book.with_dependencies(list(dict.fromkeys(needed)))
    installed = sysroot.installed()
    missing = [recipe for recipe in recipes if recipe.name not in installed]
    return LibraryPlan(recipes[::-1], missing, own, linked_from, runtime)


def _sysroot_archives(line: LinkLine, sysroot: Sysroot) -> list[str]:
    """The libraries a link names by their archive's path in the sysroot (as CMake's find_library
    gives them) rather than by -lNAME."""
    libdir = sysroot.lib_dir.resolve()
    return [path.name[3:-2] for path in map(Path, line.objects)
            if path.name.startswith("lib") and path.suffix == ".a" and path.parent.resolve() == libdir]


def require_installed(plan: LibraryPlan, sysroot: Sysroot) -> None:
    if plan.missing:
        names = " ".join(recipe.name for recipe in plan.missing)
        described = ", ".join(f"{recipe.name} ({' '.join(plan.linked_from[recipe.name])})"
                              if recipe.name in plan.linked_from else recipe.name for recipe in plan.missing)
        raise ProgramError(f"the program needs recipes not installed in {sysroot.root}: {described}",
                           hint=f"cwpkg install {names}  (or link without --no-install)")


def object_symbols(path: Path) -> set[str]:
    """The symbols a wasm32 object file or archive defines; a clear error for anything else."""
    if not path.is_file():
        raise ProgramError(f"{path}: no such file")
    symbols = defined_symbols(path)
    if symbols is None:
        raise ProgramError(f"{path}: not a wasm32 object file or archive of them",
                           hint="give objects from crystal --cross-compile or clang --target=wasm32-wasi")
    return symbols


def wasm_ld_arguments(toolchain: Toolchain, sysroot: Sysroot, line: LinkLine, plan: LibraryPlan, output: Path,
                      options: LinkOptions, defines_start: bool) -> list[str]:
    """wasm-ld's command line; `defines_start`: the objects define the WASI entry point `_start` (Crystal
    does), else it comes from crt1-command.o (a C program's). A reactor has no entry point: the host
    calls `_initialize`, then its exports."""
    libdir = sysroot.lib_dir
    argv = [toolchain.wasm_ld]
    if options.reactor is not None:
        argv += ["--no-entry", *(f"--export={name}" for name in PROGRAM_EXPORTS)]
    elif not defines_start:
        argv.append(str(libdir / "crt1-command.o"))
    argv += [*line.objects, "-o", str(output), "-L", str(libdir)]
    argv += [f"-L{directory}" for directory in line.library_dirs]
    argv += ["-z", f"stack-size={options.stack_size}", *line.flags]
    libraries = [*line.libraries, *plan.own]
    if plan.runtime:  # before libgc, whose functions it wraps (it calls the __real_ ones)
        argv += wrap_flags(runtime_archive(sysroot))
        libraries.insert(0, RUNTIME_LIBRARY)
    for recipe in plan.recipes:  # a library's dependencies' libraries, as a static link needs them
        if recipe.name != LIBC_RECIPE:
            libraries += recipe.provides.libs
    argv += [f"-l{library}" for library in dict.fromkeys([*libraries, "c"])]
    argv.append(toolchain.builtins)
    return argv


def runtime_archive(sysroot: Sysroot) -> Path:
    return sysroot.lib_dir / f"lib{RUNTIME_LIBRARY}.a"


def link_program(toolchain: Toolchain, sysroot: Sysroot, book: RecipeBook, line: LinkLine, output: Path,
                 options: LinkOptions, say: Callable[[str], None]) -> LinkResult:
    """wasm-ld into a scratch file, wasm-opt where needed, then the finished module replaces `output`."""
    if not line.objects:
        raise UsageError("nothing to link: no object files")
    # Each one a wasm32 object or archive, or a clear error names it; read once.
    defined = set().union(*(object_symbols(Path(path)) for path in line.objects))
    plan = plan_libraries(line, book, sysroot)
    require_installed(plan, sysroot)
    output.parent.mkdir(parents=True, exist_ok=True)
    if options.fiber_stack_size is not None and not plan.runtime:
        raise UsageError("--fiber-stack-size sizes the fibers of cwpkg's runtime, which only a program that "
                         f"links -l{GC_LIBRARY} has", hint="leave it out, or link the program with the collector")
    with tempfile.TemporaryDirectory(prefix=".cwpkg-link-", dir=output.parent) as scratch:
        linked = Path(scratch) / "linked.wasm"
        if options.fiber_stack_size is not None:
            line = replace(line, objects=[*line.objects, str(_fiber_stack_setting(
                toolchain, sysroot, options.fiber_stack_size, Path(scratch)))])
        invokes = invoke_types([Path(path) for path in line.objects], defined)
        if invokes:  # exceptions lowered the Emscripten way: the runtime catches them
            if not plan.runtime:
                raise UsageError(f"the program's exceptions were lowered to invoke_SIG calls ({len(invokes)}, "
                                 f"such as {next(iter(invokes))}), which cwpkg's runtime implements, and only a "
                                 f"program that links -l{GC_LIBRARY} has it",
                                 hint="link the program with the collector (leave out -Dgc_none), or link it "
                                      "with --no-exceptions")
            require_exception_runtime(runtime_archive(sysroot))
            line = replace(line, objects=[*line.objects, str(compile_catchers(toolchain, sysroot, invokes,
                                                                              Path(scratch)))])
        if options.reactor is not None:
            program = Path(line.objects[0])  # the program's own object: its funs' types
            wrappers = compile_wrappers(toolchain, sysroot, export_types(options.reactor, object_function_types(program)),
                                        output.name, Path(scratch))
            line = replace(line, objects=[*line.objects, str(wrappers)])
        _wasm_ld(wasm_ld_arguments(toolchain, sysroot, line, plan, linked, options, "_start" in defined), say)
        frames: list[str] = []
        if invokes:  # again, with the names of the functions a backtrace can show (cwpkg.link.backtraces)
            frames = frame_symbols(read_code_module(linked.read_bytes()), line.only_called)
            line = replace(line, objects=[*line.objects, str(compile_frame_names(toolchain, sysroot, frames,
                                                                                 Path(scratch)))])
            _wasm_ld(wasm_ld_arguments(toolchain, sysroot, line, plan, linked, options, "_start" in defined),
                     lambda _: None)
        instrumented = None
        if plan.runtime:  # the runtime's own Asyncify step replaces the plain one
            linked, instrumented = _instrument(sysroot, linked, Path(scratch) / "instrumented.wasm", options,
                                               line.only_called, frames, say)
            asyncify, optimize = False, False
        else:
            asyncify = options.asyncify or ASYNCIFY_MODULE in {entry.module for entry in imports(linked)}
            optimize = options.optimize
        arguments = wasm_opt_arguments(asyncify, optimize, options.strip)
        done = None
        if arguments:
            tool = find_wasm_opt()
            finished = Path(scratch) / "optimized.wasm"
            say(f"{tool.describe()}: {' '.join(arguments)}")
            run_wasm_opt(tool, linked, finished, arguments)
            linked, done = finished, f"{tool.describe()}: {' '.join(arguments)}"
        if options.reactor is not None:  # Binaryen exports its asyncify_* functions: not for a plugin's host
            linked.write_bytes(without_exports(linked.read_bytes(), lambda name: name.startswith(ASYNCIFY_EXPORTS)))
        # Without a wasm-opt run the module imported nothing from asyncify (else Asyncify would have run).
        if (done or instrumented) and ASYNCIFY_MODULE in {entry.module for entry in imports(linked)}:
            raise ProgramError(f"the module still imports from '{ASYNCIFY_MODULE}': wasm-opt did not implement it",
                               hint="install a binaryen that implements it (version 97 or newer)")
        os.replace(linked, output)
    return LinkResult(output, plan.recipes, done, instrumented, bool(invokes))


def _wasm_ld(argv: list[str], say: Callable[[str], None]) -> None:
    """Runs wasm-ld; its warnings are said (e.g. a binding whose signature differs from C's)."""
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise ProgramError(f"wasm-ld failed:\n{(result.stderr or result.stdout).strip()[-4000:]}",
                           hint="undefined symbols usually mean a library is missing: add -lNAME, or a "
                                "recipe that provides it")
    for warning in (result.stderr or "").splitlines():
        say(f"wasm-ld: {warning.strip()}")


def _fiber_stack_setting(toolchain: Toolchain, sysroot: Sysroot, size: int, scratch: Path) -> Path:
    """An object that sets the runtime's fiber stack size (its weak `cwpkg_rt_fiber_stack_bytes`):
    wasm-ld has no option that defines a symbol's value."""
    return compile_generated(toolchain, sysroot, "fiber_stack_size",
                             f"#include <stddef.h>\nconst size_t {FIBER_STACK_SYMBOL} = {size};\n", scratch,
                             "the fiber stack size setting")


def _instrument(sysroot: Sysroot, linked: Path, output: Path, options: LinkOptions, only_called: frozenset[str],
                frames: list[str], say: Callable[[str], None]) -> tuple[Path, Instrumented]:
    """Asyncify on exactly the functions that can be on the stack when the runtime unwinds it; -O1 after
    it (or -O when asked to optimize), never with the asserts build (see cwpkg.link.runtime)."""
    tool = find_wasm_opt()
    instrumented = instrument(linked, output, libgc=sysroot.lib_dir / f"lib{GC_LIBRARY}.a",
                              runtime_library=runtime_archive(sysroot), wasm_opt=tool.executable,
                              optimize="-O" if options.optimize else OPTIMIZATION, asserts=options.asyncify_asserts,
                              only_called=only_called, frames=frames)
    checks = f", {instrumented.raise_checks} raise returns" if instrumented.raise_checks else ""
    say(f"cwpkg runtime: {tool.describe()} instrumented {instrumented.paths.count} of "
        f"{instrumented.paths.defined} functions{checks} (call graph {instrumented.analysis_seconds:.2f} s, "
        f"wasm-opt {instrumented.wasm_opt_seconds:.2f} s)")
    return output, instrumented
