"""`cwpkg spec`: Crystal spec files built for wasm32-wasi by the link driver, their examples run under
wasmtime; with --report, each file built and run alone and a Markdown table of the results written."""

from __future__ import annotations

import queue
import shutil
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import cwpkg
from cwpkg.cli.context import Context
from cwpkg.crystal import (
    CrystalCompiler,
    CrystalSourceTarball,
    ExampleOutcome,
    ReportPaths,
    SpecExample,
    SpecFileRun,
    SpecJournal,
    build_failure,
    compat_stdlib,
    find_crystal,
    list_examples,
    listing_failure,
    render_spec_report,
    render_spec_table,
    require_specs_ok,
    run_example,
    run_together,
    spec_totals,
    std_spec_files,
    tree_identity,
    write_driver,
)
from cwpkg.errors import ProgramError, UsageError
from cwpkg.fs import value_sha256, write_text_atomically
from cwpkg.link import build_module
from cwpkg.names import SHA256_RE
from cwpkg.places import cache_dir
from cwpkg.sources import fetch_unpacked
from cwpkg.sysroot import check_output_path

if TYPE_CHECKING:
    from cwpkg.link import LinkResult, ProgramOptions, ProgramResources


def _check_options(options) -> None:
    """The command line's own mistakes, found before the compiler is asked anything."""
    if options.crystal_src is None:
        if not options.files:
            raise UsageError("name the spec files to run, or give --crystal-src")
        for name in options.files:
            if not name.endswith(".cr") or not Path(name).is_file():
                raise UsageError(f"{name}: not a Crystal spec file (.cr)")
    elif "://" in options.crystal_src:
        if not options.crystal_src_sha256 or not SHA256_RE.fullmatch(options.crystal_src_sha256):
            raise UsageError("--crystal-src URL needs --crystal-src-sha256 with the tarball's 64-digit sha256")
    elif not Path(options.crystal_src).is_dir():
        raise UsageError(f"--crystal-src {options.crystal_src}: not a directory")


def _report_path(context: Context) -> Path | None:
    """Where --report writes, checked before hours of builds: a file in an existing directory,
    outside the sysroot."""
    if context.options.report is None:
        return None
    path = check_output_path(Path(context.options.report), context.sysroot, "--report")
    if not path.parent.is_dir():
        raise UsageError(f"--report {context.options.report}: the directory {path.parent} does not exist",
                         hint="create it, or name a file in an existing directory")
    return path


def _spec_sources(context: Context, version: str) -> tuple[list[Path], Path]:
    """The spec files to build and the directory the examples run in (preopened as ".")."""
    options = context.options
    if options.crystal_src is None:
        return [Path(name) for name in options.files], Path.cwd()
    location = options.crystal_src
    if "://" in location:
        tarball = CrystalSourceTarball(version, location, options.crystal_src_sha256)
        root = fetch_unpacked(context.source_cache(), tarball, tarball.target(cache_dir()), context.say)
    else:
        root = Path(location).resolve()
    return std_spec_files(root, options.files, every=options.report is not None), root


def _build_specs(resources: ProgramResources, options: ProgramOptions, files: list[Path], work: Path) -> LinkResult:
    """The spec files linked into one module in `work`, with the spec runner and spec_support.cr."""
    result = build_module(resources, write_driver(work, files), work / "specs.wasm", options)
    resources.say(f"{len(files)} spec files linked with {result.libraries()}"
                f"{' and exceptions' if result.exceptions else ''}")
    return result


def _run_examples(context: Context, built: LinkResult, examples: list[SpecExample], run_dir: Path,
                  version: str) -> list[ExampleOutcome]:
    """Every example's outcome: with exceptions all in one instance first, then each one that
    instance did not report in an instance of its own."""
    options, module = context.options, built.output
    outcomes: list[ExampleOutcome] = []
    alone = examples
    if built.exceptions:
        context.say(f"running {len(examples)} examples in one instance")
        outcomes, alone = run_together(module, examples, run_dir, options.timeout, version)
    if alone:
        context.say(f"running {len(alone)} examples, each in its own instance")
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        outcomes += pool.map(lambda example: run_example(module, example, run_dir, options.timeout, version), alone)
    return outcomes


@dataclass(frozen=True)
class _Built:
    """One spec file's build for a --report run: its module, or why there is none."""

    file: Path
    work: Path
    module: LinkResult | None = None
    failure: str | None = None


@dataclass(frozen=True)
class _InstallRequest:
    """A build thread's install, for the main thread to do (the build engine, SCons, sets signal
    handlers, which only the main thread may)."""

    requested: list[str]
    jobs: int | None
    explain: bool
    summary_to: TextIO
    answer: Future = field(default_factory=Future)


@dataclass
class _BuildResources:
    """What a build thread of a --report run links with: the command's own, but installs are asked of
    the main thread, and an interruption of the command ends the thread at its next message."""

    context: Context
    stopping: threading.Event = field(default_factory=threading.Event)
    installs: queue.Queue[_InstallRequest] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:  # made once, here, not by threads racing to make them
        self.recipe_root, self.sysroot = self.context.recipe_root, self.context.sysroot
        self.toolchain, self.book = self.context.toolchain, self.context.book

    def say(self, message: str) -> None:
        if self.stopping.is_set():
            raise KeyboardInterrupt
        self.context.say(message)

    def install(self, requested: list[str], jobs: int | None = None, explain: bool = False,
                summary_to: TextIO = sys.stdout):
        request = _InstallRequest(requested, jobs, explain, summary_to)
        self.installs.put(request)
        while True:
            try:
                return request.answer.result(timeout=0.5)
            except TimeoutError:
                if self.stopping.is_set():
                    raise KeyboardInterrupt from None

    def serve_installs_until(self, build: Future[_Built]) -> _Built:
        """`build`'s result, doing the installs the build threads ask for meanwhile (main thread)."""
        while not build.done():
            try:
                request = self.installs.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                request.answer.set_result(self.context.install(request.requested, request.jobs, request.explain,
                                                               summary_to=request.summary_to))
            except BaseException as error:  # the build that asked fails with it; an interrupt ends the run
                request.answer.set_exception(error)
                if isinstance(error, KeyboardInterrupt):
                    raise
        return build.result()


def _build_file(resources: _BuildResources, built: _Built) -> _Built:
    """One spec file built on its own; a build error is its result, not the end of the run."""
    try:
        module = _build_specs(resources, resources.context.program_options(), [built.file], built.work)
    except (ProgramError, UsageError) as error:
        return replace(built, failure=build_failure(error.message))
    return replace(built, module=module)


def _run_built(context: Context, built: _Built, run_dir: Path, version: str) -> SpecFileRun:
    """A built spec file's examples, listed and run; a listing error is its result."""
    if built.module is None:
        return SpecFileRun(built.file, failure=built.failure)
    try:
        examples = list_examples(built.module.output, run_dir)
    except (ProgramError, UsageError) as error:
        return SpecFileRun(built.file, failure=listing_failure(error.message))
    return SpecFileRun(built.file, tuple(_run_examples(context, built.module, examples, run_dir, version)))


def _run_files_alone(context: Context, files: list[tuple[Path, str]], run_dir: Path, version: str,
                     finish: Callable[[SpecFileRun], None]) -> None:
    """Each of `files` (a path and the line that announces it) built and run on its own, `finish`
    called with each run in order.

    Up to -j files build at once, ahead of the one whose examples run (a build is mostly one core:
    the Crystal compile, then wasm-opt). The examples, and the installs the builds ask for, run here
    in the main thread, where Ctrl-C stops a running module; interrupted, the builds stop at their
    next step.
    """
    resources = _BuildResources(context)
    scratch = Path(tempfile.mkdtemp(prefix="cwpkg-spec-"))
    jobs = context.options.jobs
    pool = ThreadPoolExecutor(max_workers=jobs)
    queued: deque[Future[_Built]] = deque()

    def submit(index: int) -> None:
        file, announcement = files[index]
        work = scratch / str(index)
        work.mkdir()
        resources.say(announcement)
        queued.append(pool.submit(_build_file, resources, _Built(file, work)))

    try:
        ahead = iter(range(len(files)))
        for index in islice(ahead, jobs):
            submit(index)
        while queued:
            built = resources.serve_installs_until(queued.popleft())
            for index in islice(ahead, 1):
                submit(index)
            finish(_run_built(context, built, run_dir, version))
            shutil.rmtree(built.work, ignore_errors=True)
    finally:
        resources.stopping.set()
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _report_journal(context: Context, report: Path, files: list[Path], paths: ReportPaths,
                    compiler: CrystalCompiler) -> SpecJournal:
    """The journal of this --report run: named by every input its results depend on."""
    options = context.program_options()
    return SpecJournal(cache_dir(), {
        "report": str(report), "tree": str(paths.tree), "specs": tree_identity(paths.tree / "spec"),
        "files": [str(file) for file in files],
        "crystal": [compiler.version, compiler.executable], "stdlib": str(paths.stdlib),
        "release": options.release, "flags": list(options.flags), "exceptions": options.exceptions_for("crystal"),
        "timeout": context.options.timeout,
        "cwpkg": tree_identity(Path(cwpkg.__file__).parent)})


def _installed_state(context: Context) -> str:
    """The sysroot's installed packages, each by its build's identity: what a spec file's build used."""
    return value_sha256({name: manifest.identity or manifest.archive_sha256
                         for name, manifest in context.sysroot.installed().items()})


def _write_report(context: Context, report: Path, files: list[Path], run_dir: Path, compiler: CrystalCompiler) -> None:
    """--report: each spec file built and run alone, and the table of what each did written to
    `report`. Each finished file goes into a journal, so that an interrupted run, started again,
    continues where it stopped."""
    paths = ReportPaths(run_dir, compat_stdlib(compiler, context.recipe_root, cache_dir()).path)
    journal = _report_journal(context, report, files, paths, compiler)
    finished = journal.finished(files, _installed_state(context))
    if finished:
        context.say(f"continuing an interrupted run: {len(finished)} of {len(files)} files done ({journal.path})")
    done = dict(finished)

    def finish(run: SpecFileRun) -> None:
        done[run.path] = run
        journal.record(run, _installed_state(context))

    announced = [(file, f"[{number}/{len(files)}] {paths.file(file)}")
                 for number, file in enumerate(files, 1) if file not in finished]
    _run_files_alone(context, announced, run_dir, compiler.version, finish)
    runs = [done[file] for file in files]
    exceptions = context.program_options().exceptions_for("crystal")
    write_text_atomically(report, render_spec_table(runs, paths, compiler.version, exceptions))
    journal.discard()
    print(f"wrote {report}: {spec_totals(runs)}")


def cmd_spec(context: Context) -> int:
    options = context.options
    _check_options(options)
    report = _report_path(context)
    compiler = find_crystal()
    version = compiler.version
    files, run_dir = _spec_sources(context, version)
    if report is not None:
        _write_report(context, report, files, run_dir, compiler)
        return 0
    with tempfile.TemporaryDirectory(prefix="cwpkg-spec-") as work:
        built = _build_specs(context, context.program_options(), files, Path(work))
        outcomes = _run_examples(context, built, list_examples(built.output, run_dir), run_dir, version)
    print(render_spec_report(outcomes, version), end="")
    require_specs_ok(outcomes)
    return 0
