"""Recipe test programs: a small real use of each library, compiled against the sysroot and run
under wasmtime, with its exit code and output checked."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from cwpkg.errors import CheckFailed, ProgramError
from cwpkg.link import LinkOptions, link_program
from cwpkg.places import scratch_directory
from cwpkg.recipes import Recipe, RecipeBook
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import Toolchain
from cwpkg.wasm import parse_link_arguments, run_module


@dataclass(frozen=True)
class CheckResult:
    recipe: Recipe
    passed: bool
    detail: str


def run_check(recipe: Recipe, book: RecipeBook, toolchain: Toolchain, sysroot: Sysroot,
              say: Callable[[str], None]) -> CheckResult:
    """Compiles the recipe's test program, links it as `cwpkg link` links objects (so a program with
    libgc gets the runtime), runs it under wasmtime and compares what it printed."""
    test = recipe.test
    assert test is not None
    program = book.test_program_path(recipe)
    with scratch_directory(f"check-{recipe.name}") as scratch:
        module, objects = scratch / f"{recipe.name}-check.wasm", scratch / f"{recipe.name}-check.o"
        cflags = [flag.format(sysroot=sysroot.root) for flag in test.cflags]
        compile_argv = [*toolchain.compiler(sysroot.root), "-O2", *cflags, "-c", str(program), "-o", str(objects)]
        compiled = subprocess.run(compile_argv, capture_output=True, text=True)
        if compiled.returncode != 0:
            return CheckResult(recipe, False, f"compiling {program} failed:\n{compiled.stderr.strip()}")
        try:
            link_program(toolchain, sysroot, book, parse_link_arguments([str(objects), *test.libs]), module,
                         LinkOptions(), say)
        except ProgramError as error:
            return CheckResult(recipe, False, f"linking {program} failed: {error}")
        result = run_module(module, list(test.args))
    problems = []
    if result.trap:
        problems.append(f"trapped: {result.trap}")
    elif result.exit_code != 0:
        problems.append(f"exited with {result.exit_code}")
    if test.stdout is not None and result.stdout != test.stdout:
        problems.append(f"stdout differs:\n--- expected\n{test.stdout}--- got\n{result.stdout}")
    if test.stdout_pattern is not None and not re.fullmatch(test.stdout_pattern, result.stdout, re.S):
        problems.append(f"stdout does not match {test.stdout_pattern!r}:\n{result.stdout}")
    if problems:
        return CheckResult(recipe, False, "; ".join(problems) + (f"\nstderr:\n{result.stderr}" if result.stderr else ""))
    return CheckResult(recipe, True, " | ".join(result.stdout.strip().splitlines()) or "ok")


def require_all_passed(results: list[CheckResult]) -> None:
    failed = [result for result in results if not result.passed]
    if failed:
        raise CheckFailed("test program failed: " + "; ".join(f"{r.recipe.name}: {r.detail}" for r in failed))
