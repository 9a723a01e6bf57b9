"""Exceptions under cwpkg's runtime (the default of `cwpkg link`): Crystal programs that raise and rescue
print what their native builds print (runtime/exceptions.c, cwpkg/link/exceptions.py,
patches/crystal/1.6.0/wasm32-runtime-exceptions.patch; docs/wasm-runtime.md, "Exceptions")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

import handbuild  # noqa: E402
from helpers import run_cwpkg  # noqa: E402

PROGRAMS = Path(__file__).parent / "crystal"

pytestmark = pytest.mark.slow


def linked(name: str, out: Path, env: dict[str, str], *flags: str) -> Path:
    module = out / f"{name}{''.join(flags)}.wasm"
    result = run_cwpkg("link", str(PROGRAMS / f"{name}.cr"), "--exceptions", *flags, "-o", str(module), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return module


def native(name: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(handbuild.native_executable(PROGRAMS / f"{name}.cr"))], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)


@pytest.mark.parametrize("flags", [(), ("--asyncify-asserts",)], ids=["optimized", "asyncify-asserts"])
def test_rescue_ensure_reraise_and_raising_fibers_print_what_native_prints(tmp_path: Path, gc: handbuild.Bdwgc,
                                                                           full_sysroot: dict[str, str],
                                                                           flags: tuple[str, ...]) -> None:
    """Typed rescue through a class hierarchy 200 frames down, else/ensure, re-raise, raises in blocks
    and procs, nested handlers, a raise inside ensure, the standard library's overflow, index, division,
    nil and parse errors, 20,000 raises among collections, and fibers: one rescues, one ends with an
    unhandled exception, reported as native Crystal reports it (the first line: backtraces differ), and
    one catches 10,000 raises from a call that also switches fibers (the stack pointer each catch puts
    back must be the one from before the switch's rewind, or the fiber's stack runs out)."""
    ran = handbuild.execute(linked("exceptions", tmp_path, full_sysroot, *flags))
    expected = native("exceptions")
    assert (ran.status, ran.trap) == (expected.returncode, None), ran.stderr[-2000:]
    assert ran.stdout == expected.stdout
    assert ran.stderr.splitlines()[0] == expected.stderr.splitlines()[0]


def backtrace_functions(stderr: str) -> list[str]:
    """The functions of a backtrace as Crystal prints it: `  from FILE in 'FUNCTION'`."""
    return re.findall(r"^  from .* in '(.*)'$", stderr, flags=re.MULTILINE)


def test_an_uncaught_exception_ends_the_program_as_natively(tmp_path: Path, gc: handbuild.Bdwgc,
                                                            full_sysroot: dict[str, str]) -> None:
    """The report, the status and the backtrace: the native one's functions down to __crystal_main
    (below it, native Crystal shows Crystal's main and its C entry points), in order, after an ensure
    and a rescue that raises the exception again. wasm32 names a method with its type (`Service#start`,
    natively `start`, which comes with a file and line)."""
    ran = handbuild.execute(linked("uncaught", tmp_path, full_sysroot))
    expected = native("uncaught")
    assert (ran.status, ran.trap, ran.stdout) == (expected.returncode, None, expected.stdout)
    assert ran.status == 1
    report = "Unhandled exception: top level (ArgumentError)"
    assert ran.stderr.splitlines()[0] == expected.stderr.splitlines()[0] == report
    native_frames = backtrace_functions(expected.stderr)
    program_frames = native_frames[:native_frames.index("__crystal_main") + 1]
    assert len(program_frames) == 4
    wasm_frames = backtrace_functions(ran.stderr)[:len(program_frames)]
    assert [re.split(r"#|::", name)[-1] for name in wasm_frames] == program_frames, ran.stderr
    assert "Service#start" in wasm_frames


def test_a_deep_backtrace_keeps_the_innermost_frames_it_holds(tmp_path: Path, gc: handbuild.Bdwgc,
                                                             full_sysroot: dict[str, str]) -> None:
    """A raise 100 frames down: the report as natively, and the 64 innermost frames (the trace buffer
    of the Crystal patch; the runtime writes no further, or the buffer's neighbours would be overwritten
    and the report read past it)."""
    ran = handbuild.execute(linked("deep_backtrace", tmp_path, full_sysroot))
    expected = native("deep_backtrace")
    assert (ran.status, ran.trap, ran.stdout) == (expected.returncode, None, expected.stdout)
    assert ran.stderr.splitlines()[0] == expected.stderr.splitlines()[0]
    assert backtrace_functions(expected.stderr).count("descend") == 101
    assert backtrace_functions(ran.stderr) == ["descend"] * 64, ran.stderr[-2000:]


def test_exceptions_need_the_collectors_runtime(tmp_path: Path, full_sysroot: dict[str, str]) -> None:
    result = run_cwpkg("link", str(PROGRAMS / "uncaught.cr"), "--exceptions", "-o", str(tmp_path / "x.wasm"),
                       "--", "-Dgc_none", env=full_sysroot)
    assert result.returncode == 2, result.stderr
    assert "only a program that links -lgc has it" in result.stderr and "leave out -Dgc_none" in result.stderr
    assert not (tmp_path / "x.wasm").exists()


def test_an_exception_escaping_a_finalizer_ends_the_program(tmp_path: Path, gc: handbuild.Bdwgc,
                                                            full_sysroot: dict[str, str]) -> None:
    """Natively a raise from a finalizer crosses the collector's C frames, which have no unwind tables;
    on wasm32 it would reach the program's rescue and leave finalizers stopped for good."""
    ran = handbuild.execute(linked("finalizer_raises", tmp_path, full_sysroot))
    assert (ran.status, ran.trap, ran.stdout) == (1, None, ""), (ran.stdout, ran.stderr[-2000:])
    assert "cwpkg_rt: an exception escaped a finalizer" in ran.stderr


def test_a_catch_after_a_switch_on_a_raise_path_lets_the_fiber_collect_again(tmp_path: Path, gc: handbuild.Bdwgc,
                                                                               full_sysroot: dict[str, str]) -> None:
    """The catcher puts back the raise paths that invoke_SIG read: read again by the catcher when the
    switch's rewind runs it, they would be those of the raise's own path, and the fiber would never
    collect again."""
    program = handbuild.compile_c(Path(__file__).parent / "c" / "raise_path_switch.c", gc, tmp_path)
    module = tmp_path / "raise_path_switch.wasm"
    result = run_cwpkg("link", str(program.objects[0]), "-o", str(module), "--", "-lgc", env=full_sysroot)
    assert result.returncode == 0, result.stderr[-3000:]
    ran = handbuild.execute(module)
    assert (ran.status, ran.trap, ran.stdout) == (0, None, "threw 1, raise paths 0, collected 1\n"), ran.stderr[-2000:]
