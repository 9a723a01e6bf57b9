"""`cwpkg spec`: Crystal spec files built for wasm32-wasi, their examples run under wasmtime.

The spec files are linked once with spec_support.cr, which lists the examples, can keep just one, and
can report each result. Built with cwpkg's exceptions (the default), failures are caught as natively:
all examples run in one instance, which reports each result (`run_together`); only the examples it
did not report (after a trap, say) run alone. Without them (`--no-exceptions`, Crystal 1.6.0's own
wasm32 behaviour) `raise` prints "EXITING: Attempting to raise:" and ends the program, so one failing
`should` would end the whole run: each example runs in a fresh instance, and its outcome is read from
how that instance ended (`run_example`). What Crystal itself cannot do on wasm32 (a method its WASI
port lacks; without exceptions, an exception an example expects) is reported as such, apart from
failures."""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cwpkg.errors import CheckFailed, ProgramError, UsageError
from cwpkg.recipes import Source
from cwpkg.wasm import RunResult, run_module

SUPPORT_FILE = Path(__file__).with_name("spec_support.cr")
RAISE_MARKER = "EXITING: Attempting to raise:"
# Printed on STDERR by expect_raises before it runs its block, with the compat patch
# spec-expect-raises.patch (also when a helper method calls it). A block that does not raise makes
# expect_raises fail (Spec::AssertionFailed), so any other raise in such an example is in the block.
EXPECTS_RAISE = re.compile(r"^expect_raises\(.*\) at .*: a raise in its block cannot be caught on wasm32$", re.M)
STD_SPEC_ENTRY = Path("spec") / "wasm32_std_spec.cr"
STD_SPEC_DIR = Path("spec") / "std"

PASS, FAIL, ERROR, PENDING, UNSUPPORTED = "pass", "fail", "error", "pending", "unsupported"


@dataclass(frozen=True)
class SpecExample:
    index: int
    file: str
    line: int
    end_line: int
    name: str


@dataclass(frozen=True)
class ExampleOutcome:
    example: SpecExample
    status: str
    detail: str = ""


@dataclass(frozen=True)
class CrystalSourceTarball:
    """A Crystal release's source tarball, fetched like a recipe's source (cache, mirrors, sha256)."""

    version: str
    url: str
    sha256: str

    @property
    def name(self) -> str:
        return "crystal-source"

    @property
    def sources(self) -> tuple[Source, ...]:
        return (Source(sha256=self.sha256, url=self.url),)

    @property
    def path(self) -> Path:
        return Path(f"--crystal-src {self.url}")

    def target(self, cache: Path) -> Path:
        return cache / "crystal-source" / f"{self.version}-{self.sha256[:16]}"


def write_driver(directory: Path, spec_files: list[Path]) -> Path:
    """A program requiring the spec runner, the spec files, then spec_support.cr (Crystal's
    `require` takes relative paths, not absolute ones)."""
    shutil.copyfile(SUPPORT_FILE, directory / SUPPORT_FILE.name)
    lines = ['require "spec"']
    for spec in spec_files:
        relative = os.path.relpath(spec.resolve(), directory)
        lines.append(f"require {_crystal_string(relative if relative.startswith('.') else './' + relative)}")
    lines.append(f'require "./{SUPPORT_FILE.name}"')
    driver = directory / "cwpkg_spec_main.cr"
    driver.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return driver


def _crystal_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("#{", "\\#{") + '"'


def std_spec_files(source_root: Path, named: list[str], every: bool = False) -> list[Path]:
    """The spec files to run from a Crystal source tree: those named, else with `every` each spec
    file under spec/std (sorted), else its wasm32 entry point."""
    if named:
        files = [source_root / name for name in named]
    elif every:
        files = sorted((source_root / STD_SPEC_DIR).glob("**/*_spec.cr"))
        if not files:
            raise UsageError(f"{source_root} has no {STD_SPEC_DIR}/**/*_spec.cr",
                             hint="give a Crystal source tree, or name the spec files to run")
    elif (source_root / STD_SPEC_ENTRY).is_file():
        files = [source_root / STD_SPEC_ENTRY]
    else:
        raise UsageError(f"{source_root} has no {STD_SPEC_ENTRY}", hint="name the std spec files to run")
    for path in files:
        if not path.is_file():
            raise UsageError(f"{path}: no such spec file")
    return files


def list_examples(module: Path, cwd: Path) -> list[SpecExample]:
    result = run_module(module, env={"CWPKG_SPEC_LIST": "1"}, preopens=[(cwd, ".")])
    examples = []
    for line in result.stdout.splitlines():
        fields = line.split("\t")
        if fields[0] == "cwpkg-example" and len(fields) == 6:
            examples.append(SpecExample(int(fields[1]), fields[2], int(fields[3]), int(fields[4]), fields[5]))
    if result.exit_code != 0 or result.trap:
        raise ProgramError(f"listing the examples failed (exit {result.exit_code}"
                           f"{', ' + result.trap if result.trap else ''}):\n{(result.stdout + result.stderr)[-3000:]}",
                           hint="the spec files' top-level code must run on wasm32 too")
    return examples


def run_together(module: Path, examples: list[SpecExample], cwd: Path, timeout: float,
                 crystal_version: str) -> tuple[list[ExampleOutcome], list[SpecExample]]:
    """Runs every example in one instance (a module built with exceptions); the outcomes it reported,
    in order, and the examples it did not reach, to run alone."""
    result = run_module(module, env={"CWPKG_SPEC_REPORT": "1"}, preopens=[(cwd, ".")],
                        timeout=timeout * max(1, len(examples)))
    outcomes: list[ExampleOutcome] = []
    for line in result.stdout.splitlines():
        fields = line.split("\t")  # a line of its own, but a line the example printed may precede it
        if fields[0] != "cwpkg-result" or len(fields) != 5 or len(outcomes) == len(examples):
            continue
        example = examples[len(outcomes)]
        if (fields[1], fields[2]) != (example.file, str(example.line)):
            break  # not the next example: the rest run alone
        outcomes.append(_reported(example, fields[3], fields[4], crystal_version))
    return outcomes, examples[len(outcomes):]


def _reported(example: SpecExample, kind: str, message: str, crystal_version: str) -> ExampleOutcome:
    if kind == "success":
        return ExampleOutcome(example, PASS)
    if kind == "pending":
        return ExampleOutcome(example, PENDING)
    if kind == "fail":
        return ExampleOutcome(example, FAIL, message.removeprefix("Spec::AssertionFailed: "))
    if message.startswith("NotImplementedError: "):
        return ExampleOutcome(example, UNSUPPORTED, f"Crystal {crystal_version} does not implement this on wasm32: "
                                                    f"{message.removeprefix('NotImplementedError: ')}")
    return ExampleOutcome(example, ERROR, message)


def run_example(module: Path, example: SpecExample, cwd: Path, timeout: float, crystal_version: str) -> ExampleOutcome:
    result = run_module(module, env={"CWPKG_SPEC_EXAMPLE": str(example.index)}, preopens=[(cwd, ".")],
                        timeout=timeout)
    return classify(result, example, crystal_version)


def _source_mentions(example: SpecExample, word: str) -> bool:
    try:
        lines = Path(example.file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False
    return any(word in line for line in lines[example.line - 1:example.end_line])


# The runner's own timing line, which would make a reason differ from run to run (a --report's bytes too).
RUNNER_TIMING = re.compile(r"^Finished in .*\n?", re.M)


def _output_tail(output: str) -> str:
    """What a reason quotes of an instance's output: its end, without the runner's timing."""
    return RUNNER_TIMING.sub("", output).strip()[-500:]


def classify(result: RunResult, example: SpecExample, crystal_version: str) -> ExampleOutcome:
    output = result.stdout + result.stderr
    if result.timed_out:
        return ExampleOutcome(example, ERROR, result.trap or "timed out")
    if result.trap:
        return ExampleOutcome(example, ERROR, f"crashed: {result.trap}")
    if RAISE_MARKER in output:
        raised = output.split(RAISE_MARKER, 1)[1].strip()
        match = re.search(r"\A(.*?) \(([A-Z][\w:]*)\)$", raised, re.S | re.M)
        message, kind = (match.group(1).strip(), match.group(2)) if match else (raised, "exception")
        if kind == "Spec::AssertionFailed":
            return ExampleOutcome(example, FAIL, message)
        if kind == "Spec::ExamplePending":
            return ExampleOutcome(example, PENDING, message)
        if kind == "NotImplementedError":
            return ExampleOutcome(example, UNSUPPORTED,
                                  f"Crystal {crystal_version} does not implement this on wasm32: {message}")
        if _source_mentions(example, "expect_raises") or EXPECTS_RAISE.search(result.stderr):
            return ExampleOutcome(example, UNSUPPORTED,
                                  f"expects an exception, and Crystal {crystal_version} cannot catch one on wasm32 "
                                  f"without cwpkg's exceptions (built with --no-exceptions, a raise ends the "
                                  f"program): {kind}: {message}")
        return ExampleOutcome(example, ERROR, f"{kind}: {message}")
    summary = re.search(r"(\d+) examples, (\d+) failures, (\d+) errors, (\d+) pending", output)
    if summary is None or summary.group(1) != "1":
        return ExampleOutcome(example, ERROR, f"ended without running the example (exit {result.exit_code}): "
                                              f"{_output_tail(output)}")
    if summary.group(4) == "1":
        return ExampleOutcome(example, PENDING)
    if result.exit_code != 0 or summary.group(2) != "0" or summary.group(3) != "0":
        return ExampleOutcome(example, ERROR, f"exit {result.exit_code}: {_output_tail(output)}")
    return ExampleOutcome(example, PASS)


def render_spec_report(outcomes: list[ExampleOutcome], crystal_version: str) -> str:
    counts = Counter(outcome.status for outcome in outcomes)
    lines = []
    for outcome in outcomes:
        if outcome.status != PASS:
            where = f"{outcome.example.file}:{outcome.example.line}"
            detail = "\n      ".join(outcome.detail.splitlines())
            lines.append(f"{outcome.status.upper():11} {outcome.example.name} ({where})"
                         + (f"\n      {detail}" if detail else ""))
    lines.append(f"{len(outcomes)} examples, {counts[FAIL]} failures, {counts[ERROR]} errors, "
                 f"{counts[PENDING]} pending, {counts[UNSUPPORTED]} unsupported on wasm32 by Crystal {crystal_version}"
                 f" ({counts[PASS]} passed)")
    return "\n".join(lines) + "\n"


def require_specs_ok(outcomes: list[ExampleOutcome]) -> None:
    bad = [outcome for outcome in outcomes if outcome.status in (FAIL, ERROR)]
    if bad:
        raise CheckFailed(f"{len(bad)} of {len(outcomes)} spec examples failed on wasm32: "
                          + ", ".join(outcome.example.name for outcome in bad[:10]))
