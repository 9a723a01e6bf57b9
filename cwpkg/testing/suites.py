"""Runs a library's own upstream test suite, built for wasm32-wasi, under wasmtime (`cwpkg test`).

The package is built again in a private work directory (never installed from there), the suite's
build commands make its test programs, and every wasm program the suite names is replaced by a
script that runs it under wasmtime (see wasm/host_command.py), so upstream's harness runs unchanged.
Each test ends as one outcome; a non-passing test is explained only by a reason the recipe gives,
and a test the recipe calls impossible that passes is a problem too: the recipe must say the truth.
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cwpkg.builds import BuildTree, PackageBuild, run_logged, work_directory
from cwpkg.errors import BuildError, CheckFailed, ProgramError
from cwpkg.link import LinkOptions, link_program, plan_libraries
from cwpkg.recipes import Recipe, RecipeBook, Suite
from cwpkg.sysroot import Sysroot
from cwpkg.wasm import (
    STACK_SIZE,
    TIMEOUT_MARKER,
    TIMEOUT_VARIABLE,
    TRAP_MARKER,
    is_linked_program,
    parse_link_arguments,
    wrapper_script,
)

# {test_ldflags}: upstream tests assume the 8 MiB stack a native Linux program gets, as `cwpkg link`
# gives; a wasm program's default stack is 64 KiB, and overflowing it corrupts memory silently.
TEST_LDFLAGS = f"-Wl,-z,stack-size={STACK_SIZE}"

DETAIL_LINES = 12
SKIP_EXIT_CODE = 77  # automake's convention for "this test does not apply here"

PASS, FAIL, CRASH, TIMEOUT, SKIP = "pass", "fail", "crash", "timeout", "skip"


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # PASS, FAIL, CRASH, TIMEOUT or SKIP
    reason: str = ""  # why WASI makes it fail or skip, from the recipe; empty if unexplained
    detail: str = ""  # the last lines of its output, for what did not pass
    ran: bool = True  # False for a test the recipe skips; a test may also skip itself when run

    @property
    def explained(self) -> bool:
        return self.status == PASS or bool(self.reason)


@dataclass
class SuiteResult:
    recipe: Recipe
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what is wrong with the suite or the recipe's account of it

    @property
    def ok(self) -> bool:
        return not self.problems and all(outcome.explained for outcome in self.outcomes)


def run_suite(build: PackageBuild, keep: bool, say: Callable[[str], None], kept: Path | None = None) -> SuiteResult:
    """Builds `build.recipe` with its test programs and runs its suite; the work directory is removed
    afterwards unless `keep` (or the build failed, when the error names it). `kept`: the tree that
    `install --keep-build-trees` kept from this very build (builds/kept.py), used instead of building
    the package again, and removed in the same way."""
    recipe = build.recipe
    suite = recipe.suite
    assert suite is not None
    with work_directory(f"test-{recipe.name}", keep, existing=kept) as work:
        if kept is None:
            tree = build.build_tree(work, install=False)
        else:
            say(f"{recipe.name}: the suite runs in the build tree that install kept: {work}")
            tree = build.tree_in(work)
        values = {**tree.placeholders, "build": str(tree.root),
                  "test_ldflags": TEST_LDFLAGS, "source_archive": str(build.sources.fetch(recipe)[1]),
                  "checks": str(build.book.recipes_dir / "checks")}
        env = {**tree.env, TIMEOUT_VARIABLE: str(suite.timeout)}
        for command in suite.build:
            say(f"{recipe.name}: suite build: {command.format_map(values)}")
            run_logged(recipe, "suite build", ["sh", "-c", command.format_map(values)], tree.root, env, tree.log)
        _link_programs(build, suite, tree)
        _wrap_programs(recipe, suite, tree, work / "wasm-modules")
        result = SuiteResult(recipe, list(_run_everything(recipe, suite, tree, env, values, say)))
        result.problems.extend(_check_account(suite, result.outcomes))
        if keep:
            say(f"{recipe.name}: work directory kept: {work}")
    return result


def suite_link_recipes(recipe: Recipe, book: RecipeBook, sysroot: Sysroot) -> list[str]:
    """The recipes whose libraries the suite's `link:` programs need in the sysroot (cwpkg's runtime
    among them for a program that links libgc), to install before the suite runs."""
    assert recipe.suite is not None
    flags = [member for _, members in recipe.suite.link for member in members if member.startswith("-l")]
    if not flags:
        return []
    return [needed.name for needed in plan_libraries(parse_link_arguments(flags), book, sysroot).recipes]


def _link_programs(build: PackageBuild, suite: Suite, tree: BuildTree) -> None:
    """Links each program of `suite.link` over what the build made, as `cwpkg link` links objects: the
    sysroot's libraries, and cwpkg's runtime and its Asyncify step for a program that links libgc."""
    for program, members in suite.link:
        arguments = [member if member.startswith("-l") else str(tree.root / member) for member in members]
        build.say(f"{build.recipe.name}: suite link: {program}")
        try:
            link_program(build.toolchain, build.sysroot, build.book, parse_link_arguments(arguments),
                         tree.root / program, LinkOptions(), build.say)
        except ProgramError as error:
            raise BuildError(f"{build.recipe.path}: suite.link.{program}: {error.message}", hint=error.hint) from None


def _wrap_programs(recipe: Recipe, suite: Suite, tree: BuildTree, modules: Path) -> None:
    """Moves each wasm program the suite names into `modules` and leaves a runnable script in its place;
    an automake test program that the recipe skips gets a script that reports the skip instead."""
    for pattern in suite.wasm:
        found = [path for path in sorted(tree.root.glob(pattern)) if is_linked_program(path)]
        if not found:
            raise BuildError(f"{recipe.path}: suite.wasm: {pattern!r} matched no wasm program in {tree.root}")
        for program in found:
            relative = program.relative_to(tree.root)
            module = modules / relative.parent / f"{relative.name}.wasm"
            module.parent.mkdir(parents=True, exist_ok=True)
            program.replace(module)
            # automake names a test by its program's path, and runs every program: skip it in the script
            reason = _first_reason(suite.skip, relative.as_posix()) if suite.automake else None
            if reason is None:
                script = wrapper_script(sys.executable, module, program.name)
            else:
                script = f"#!/bin/sh\necho 'skipped: {reason.replace(chr(39), '')}'\nexit {SKIP_EXIT_CODE}\n"
            program.write_text(script)
            program.chmod(0o755)


def _run_everything(recipe: Recipe, suite: Suite, tree: BuildTree, env: dict[str, str], values: dict[str, str],
                    say: Callable[[str], None]) -> Iterator[Outcome]:
    for directory in suite.automake:
        yield from _run_automake(recipe, suite, tree, env, directory, values["jobs"], say)
    for case in suite.cases:
        yield _run_case(suite, case.name, case.run.format_map(values), tree, env, say)
    if suite.generated is not None:
        listing = suite.generated.list_command.format_map(values)
        completed = subprocess.run(["sh", "-c", listing], cwd=tree.root, env=env, capture_output=True, text=True,
                                   timeout=suite.timeout)
        names = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
        if completed.returncode != 0 or not names:
            raise BuildError(f"{recipe.path}: suite.generated.list `{listing}` failed (exit {completed.returncode}) "
                             f"or listed nothing:\n    {_tail(completed.stdout + completed.stderr)}")
        for name in names:
            command = suite.generated.run.format_map({**values, "case": name})
            yield _run_case(suite, name, command, tree, env, say)


def _run_case(suite: Suite, name: str, command: str, tree: BuildTree, env: dict[str, str],
              say: Callable[[str], None]) -> Outcome:
    if _first_reason(suite.skip, name) is not None:
        return _classified(suite, name, SKIP, "", say)
    try:
        completed = subprocess.run(["sh", "-c", command], cwd=tree.root, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=suite.timeout + 30)
    except subprocess.TimeoutExpired as expired:
        output = (expired.output or b"").decode("utf-8", "replace")
        return _classified(suite, name, TIMEOUT, output, say)
    output = completed.stdout.decode("utf-8", "replace")
    _append_log(tree.log, f"$ {command}", output)
    return _classified(suite, name, _status(completed.returncode, output), output, say)


def _status(exit_code: int, output: str) -> str:
    if exit_code == 0:
        return PASS
    if exit_code == SKIP_EXIT_CODE:
        return SKIP
    if TIMEOUT_MARKER in output:
        return TIMEOUT
    if TRAP_MARKER in output:
        return CRASH
    return FAIL


def _run_automake(recipe: Recipe, suite: Suite, tree: BuildTree, env: dict[str, str], directory: str, jobs: str,
                  say: Callable[[str], None]) -> Iterator[Outcome]:
    """`make -k check` in `directory`; each test's result comes from the .trs file automake's harness writes."""
    where = tree.root / directory
    say(f"{recipe.name}: make check in {directory}")
    with open(tree.log, "ab") as log:
        subprocess.run(["make", "-k", f"-j{jobs}", "check"], cwd=where, env=env, stdin=subprocess.DEVNULL,
                       stdout=log, stderr=subprocess.STDOUT)
    results = sorted(where.rglob("*.trs"))
    if not results:
        raise BuildError(f"{recipe.path}: suite.automake: make check in {directory} left no test results "
                         f"(.trs files); see {tree.log}")
    for trs in results:
        name = trs.relative_to(tree.root).with_suffix("").as_posix()
        verdicts = [line.split(":", 2)[2].strip() for line in trs.read_text(errors="replace").splitlines()
                    if line.startswith(":test-result:")]
        log_file = trs.with_suffix(".log")
        output = log_file.read_text(errors="replace") if log_file.exists() else ""
        status = PASS if verdicts and all(v in ("PASS", "XFAIL") for v in verdicts) else (
            SKIP if verdicts and all(v == "SKIP" for v in verdicts) else _status(1, output))
        if TIMEOUT_MARKER in output:
            status = TIMEOUT
        yield _classified(suite, name, status, output, say)


def _classified(suite: Suite, name: str, status: str, output: str, say: Callable[[str], None]) -> Outcome:
    if status == PASS:
        say(f"  pass  {name}")
        return Outcome(name, PASS)
    skipped = _first_reason(suite.skip, name)
    if status == SKIP and skipped is not None:  # the recipe skipped it, by name or through its program
        say(f"  skip  {name}: {skipped}")
        return Outcome(name, SKIP, skipped, ran=False)
    reason = _first_reason(suite.wasi_limits, name) or ""
    say(f"  {status:5} {name}" + (f" (WASI: {reason})" if reason else " (UNEXPLAINED)"))
    return Outcome(name, status, reason, _tail(output))


def _check_account(suite: Suite, outcomes: list[Outcome]) -> list[str]:
    """What the recipe says about its tests that is no longer true."""
    problems = []
    names = [outcome.name for outcome in outcomes]
    for key, reasons in (("skip", suite.skip), ("wasi_limits", suite.wasi_limits)):
        for pattern, _ in reasons:
            if not fnmatch.filter(names, pattern):
                problems.append(f"suite.{key}: {pattern!r} matches no test; remove it")
    for outcome in outcomes:
        if outcome.status == PASS and _first_reason(suite.wasi_limits, outcome.name) is not None:
            problems.append(f"{outcome.name} passes, but suite.wasi_limits says it cannot; remove it there")
    return problems


def _first_reason(reasons: tuple[tuple[str, str], ...], name: str) -> str | None:
    return next((reason for pattern, reason in reasons if fnmatch.fnmatchcase(name, pattern)), None)


def _tail(output: str) -> str:
    return "\n".join(output.strip().splitlines()[-DETAIL_LINES:])


def _append_log(log: Path, header: str, output: str) -> None:
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"\n{header}\n{output}")


def describe_result(result: SuiteResult) -> str:
    """One summary line, then what needs attention: unexplained outcomes with their output, and problems."""
    outcomes = result.outcomes
    counts = {status: sum(o.status == status for o in outcomes) for status in (PASS, FAIL, CRASH, TIMEOUT, SKIP)}
    lines = [f"{result.recipe.name} {result.recipe.version}: {len(outcomes)} tests, "
             + ", ".join(f"{count} {status}" for status, count in counts.items() if count)
             + ("" if result.ok else " -- NOT OK")]
    for outcome in outcomes:
        if not outcome.explained:
            lines.append(f"  {outcome.status} {outcome.name} (no WASI reason in {result.recipe.path.name}):")
            lines.extend(f"    | {line}" for line in outcome.detail.splitlines())
    lines.extend(f"  problem: {problem}" for problem in result.problems)
    return "\n".join(lines)


def require_suites_ok(results: list[SuiteResult]) -> None:
    failed = [result.recipe.name for result in results if not result.ok]
    if failed:
        raise CheckFailed(f"upstream tests not passing without a WASI reason: {', '.join(failed)}",
                          hint="see the lines above; fix the library or patch, or give the reason in the recipe's "
                               "suite.wasi_limits")
