"""Fibers and the WASI event loop under cwpkg's runtime: Crystal programs with spawn, channels, select,
sleep, Fiber.yield, Mutex and stdin print what their native builds print (patches/crystal/1.6.0/
wasm32-runtime-fibers.patch, runtime/fiber.c; docs/wasm-runtime.md, "Fibers")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import handbuild  # noqa: E402

PROGRAMS = Path(__file__).parent / "crystal"

pytestmark = pytest.mark.slow


def built(name: str, out: Path, *, asserts: bool = False, fiber_stack_size: int | None = None) -> Path:
    program = handbuild.compile_crystal(PROGRAMS / f"{name}.cr", out)
    suffix = (".asserts" if asserts else "") + (f".{fiber_stack_size}" if fiber_stack_size else "")
    return handbuild.build(program, out / f"{name}{suffix}.wasm", asserts=asserts,
                           fiber_stack_size=fiber_stack_size).module


@pytest.mark.parametrize("asserts", [False, True], ids=["optimized", "asyncify-asserts"])
def test_channels_select_sleep_yield_and_mutex_print_what_native_prints(tmp_path: Path, gc: handbuild.Bdwgc,
                                                                        asserts: bool) -> None:
    ran = handbuild.execute(built("fibers", tmp_path, asserts=asserts), env={"CWPKG_RT_STATS": "1"})
    assert (ran.status, ran.trap) == (0, None), ran.stderr[-2000:]
    assert ran.stdout == handbuild.native_output(PROGRAMS / "fibers.cr")
    assert "fibers whose data survived: 20 of 20" in ran.stdout
    collections = int(ran.stderr.split("cwpkg_rt: ")[-1].split()[0])
    assert collections > 20, ran.stderr  # collections ran while fibers were suspended


def test_a_fiber_reads_stdin_while_others_run(tmp_path: Path, gc: handbuild.Bdwgc) -> None:
    feed = tmp_path / "input.txt"
    feed.write_text("alpha\nbeta\ngamma delta\n" + "".join(f"line {i}\n" for i in range(200)))
    ran = handbuild.execute(built("fibers_stdin", tmp_path), stdin=feed)
    assert (ran.status, ran.trap) == (0, None), ran.stderr[-2000:]
    assert ran.stdout == handbuild.native_output(PROGRAMS / "fibers_stdin.cr", stdin=feed)


def test_ten_thousand_live_fibers_fit_in_a_third_of_a_gigabyte(tmp_path: Path, gc: handbuild.Bdwgc) -> None:
    ran = handbuild.execute(built("many_fibers", tmp_path), ("10000",))
    assert (ran.status, ran.trap) == (0, None), ran.stderr[-2000:]
    assert ran.stdout == handbuild.native_output(PROGRAMS / "many_fibers.cr", ("10000",))
    assert ran.memory < 384 << 20, ran.memory  # 32 KiB stacks: about 33 KiB of linear memory per fiber


def test_a_deadlock_ends_the_program_where_native_waits_forever(tmp_path: Path, gc: handbuild.Bdwgc) -> None:
    source = PROGRAMS / "fibers_deadlock.cr"
    with pytest.raises(subprocess.TimeoutExpired) as native:
        subprocess.run([str(handbuild.native_executable(source))], capture_output=True, timeout=3,
                       stdin=subprocess.DEVNULL)
    ran = handbuild.execute(built("fibers_deadlock", tmp_path))
    assert ran.status == 1 and ran.trap is None, (ran.status, ran.trap, ran.stderr)
    assert "cwpkg_rt: deadlock: every fiber waits" in ran.stderr
    assert ran.stdout == (native.value.stdout or b"").decode()


def test_a_fiber_stack_overflow_is_reported_and_a_larger_fiber_stack_fixes_it(tmp_path: Path,
                                                                              gc: handbuild.Bdwgc) -> None:
    ran = handbuild.execute(built("fiber_recursion", tmp_path))
    assert ran.status == 1 and ran.trap is None, (ran.status, ran.trap, ran.stderr)
    assert "cwpkg_rt: stack overflow in a fiber: its 32 KiB stack" in ran.stderr
    assert "cwpkg link --fiber-stack-size BYTES" in ran.stderr
    larger = handbuild.execute(built("fiber_recursion", tmp_path, fiber_stack_size=256 << 10))
    assert (larger.status, larger.stdout) == (0, handbuild.native_output(PROGRAMS / "fiber_recursion.cr"))
