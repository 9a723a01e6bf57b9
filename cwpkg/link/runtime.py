"""Linking with cwpkg's wasm32 runtime (runtime/, libcwpkg_rt.a): the wasm-ld flags and the Asyncify step.

A program that links libgc gets the runtime too. The link wraps the functions the runtime wraps
(`--wrap=NAME` for each `__wrap_NAME` that libcwpkg_rt.a defines: the program's entry points, bdwgc's
allocation and collection functions, exit). Afterwards Binaryen's Asyncify pass instruments exactly the
functions that can be on the stack when the runtime unwinds it (cwpkg.link.asyncify_lists), under
placeholder names that are put back afterwards; a program whose exceptions the runtime catches gets
early returns after its calls that may raise first (cwpkg.link.raise_returns). See docs/wasm-runtime.md.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cwpkg.errors import ProgramError
from cwpkg.link.asyncify_lists import (
    Cuts,
    UnwindPaths,
    prepare_for_asyncify,
    restore_names,
    runtime_cuts,
    unwind_paths,
    without_runtime_assertions,
    wrapped_functions,
)
from cwpkg.link.raise_returns import raise_checks
from cwpkg.wasm import defined_function_names, read_code_module

RUNTIME_LIBRARY = "cwpkg_rt"  # libcwpkg_rt.a, from recipes/cwpkg-rt.yaml
GC_LIBRARY = "gc"  # libgc.a: a program that links it gets the runtime
# The unwound frames are written below the stack pointer: the stack's size bounds how deep a call stack
# can be collected. The same 8 MiB that cwpkg link gives every program.
STACK_SIZE = 8 << 20
# The runtime's weak setting of each fiber's stack size, defined by the link (cwpkg link --fiber-stack-size).
FIBER_STACK_SYMBOL = "cwpkg_rt_fiber_stack_bytes"
# Asyncify on its own (ignoring imports: no WASI import unwinds), then -g so that wasm-opt keeps the
# name section, which carries the placeholders that restore_names maps back.
ASYNCIFY_ARGUMENTS = ["--asyncify", "--pass-arg=asyncify-ignore-imports", "-g"]
# The optimization level that runs with the Asyncify pass (see docs/wasm-runtime.md for the measurements).
OPTIMIZATION = "-O1"


def wrap_flags(runtime_library: Path) -> list[str]:
    """wasm-ld's --wrap flags for the runtime: one for each __wrap_NAME it defines."""
    return [f"--wrap={name}" for name in sorted(wrapped_functions(runtime_library))]


@dataclass(frozen=True)
class Instrumented:
    paths: UnwindPaths
    raise_checks: int  # early returns put after calls that may raise (cwpkg.link.raise_returns)
    analysis_seconds: float
    wasm_opt_seconds: float
    wasm_opt_arguments: list[str]


def asyncify_arguments(onlylist_file: Path, optimize: str | None, asserts: bool) -> list[str]:
    """wasm-opt's arguments for the Asyncify step, the onlylist in a response file (comma-separated: a
    list of thousands of names would exceed the length of one command-line argument). -O after Asyncify
    matters more than usual with Binaryen 108, whose Asyncify flattens every function of the module,
    instrumented or not. The asserts build is never optimized: without_runtime_assertions looks for
    the checks as Asyncify writes them."""
    arguments = [*ASYNCIFY_ARGUMENTS, f"--pass-arg=asyncify-onlylist@@{onlylist_file}"]
    if asserts:
        arguments.append("--pass-arg=asyncify-asserts")
    elif optimize:
        arguments.append(optimize)
    return arguments


def instrument(linked: Path, output: Path, libgc: Path, runtime_library: Path, wasm_opt: str = "wasm-opt",
               optimize: str | None = OPTIMIZATION, asserts: bool = False, cuts: Cuts | None = None,
               only_called: frozenset[str] = frozenset(), frames: Sequence[str] = ()) -> Instrumented:
    """Runs Asyncify on the linked module `linked` with the call-graph onlylist, writing `output`;
    `only_called`: LinkLine.only_called; `frames`: the functions numbered for backtraces
    (cwpkg.link.backtraces)."""
    started = time.perf_counter()
    data = linked.read_bytes()
    module = read_code_module(data)
    if cuts is None:
        cuts = runtime_cuts(defined_function_names(libgc), wrapped_functions(runtime_library))
    cuts = replace(cuts, only_called=only_called)
    paths = unwind_paths(module, cuts)
    checks = raise_checks(module, data, only_called, frames)
    renamed, onlylist, originals = prepare_for_asyncify(data, paths, checks)
    with tempfile.TemporaryDirectory(prefix="cwpkg-asyncify-") as scratch:
        before, after, listed = Path(scratch, "renamed.wasm"), Path(scratch, "asyncified.wasm"), Path(scratch, "onlylist")
        before.write_bytes(renamed)
        listed.write_text(",".join(onlylist))
        arguments = asyncify_arguments(listed, optimize, asserts)
        analysed = time.perf_counter()
        result = subprocess.run([wasm_opt, str(before), "-o", str(after), *arguments], capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise ProgramError(f"{wasm_opt} failed on the runtime's Asyncify step ({' '.join(arguments)}): "
                               f"{(result.stderr or result.stdout).strip()[-2000:]}",
                               hint="if the module uses features this binaryen does not know, install a newer one")
        optimized = time.perf_counter()
        finished = restore_names(after.read_bytes(), originals)
        if asserts:
            finished = without_runtime_assertions(finished, {module.name(index) for index in
                                                             paths.unwinders | paths.bottoms | paths.pass_through})
        output.write_bytes(finished)
    return Instrumented(paths, len(checks), analysed - started, optimized - analysed, arguments)
