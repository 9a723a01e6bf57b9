"""The engine's call stack follows the module: deep recursion runs as natively, endless recursion
ends with a trap and an exit status, never a crash of the Python process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import wasmtime
from helpers import REPO, run_cwpkg

from cwpkg.wasm.module import linear_stack_size
from cwpkg.wasm.runner import ENGINE_STACK_MIN, engine_stack_size, run_module

RECURSE = """
 (func $down (param i32) (result i32)
   (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
     (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))"""


def module(tmp_path, name: str, body: str):
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(f"(module {body})"))
    return path


def deep(tmp_path, levels: int, stack_top: int, named: bool = True):
    """A command that recurses `levels` deep (32 bytes of engine stack a level), with a stack
    pointer as wasm-ld lays it out: data at 1024, the stack above it up to `stack_top`."""
    name = "$__stack_pointer" if named else ""
    return module(tmp_path, f"deep{levels}", f"""
 (memory (export "memory") 2)
 (global {name} (mut i32) (i32.const {stack_top}))
 (data (i32.const 1024) "data")
 {RECURSE}
 (func (export "_start") (drop (call $down (i32.const {levels}))))""")


def test_the_linear_stack_is_read_from_the_stack_pointer_and_the_data_below_it(tmp_path):
    assert linear_stack_size(deep(tmp_path, 1, 1040 + (8 << 20))) == 8 << 20
    assert linear_stack_size(deep(tmp_path, 2, 1040 + (1 << 20), named=False)) == 1 << 20
    stack_first = module(tmp_path, "first", """(memory 20) (global (mut i32) (i32.const 0))
        (global $__stack_pointer (mut i32) (i32.const 1048576)) (data (i32.const 1048576) "data")""")
    assert linear_stack_size(stack_first) == 1 << 20
    stripped = module(tmp_path, "stripped", """(memory 20) (global (mut i32) (i32.const 0))
        (global (mut i32) (i32.const 66576)) (global i32 (i32.const 99999)) (data (i32.const 1024) "d")""")
    assert linear_stack_size(stripped) == 65536  # Asyncify's globals start at 0; immutable ones are no stack
    assert linear_stack_size(module(tmp_path, "none", "(memory 1)")) is None
    assert engine_stack_size(module(tmp_path, "none", "(memory 1)")) == ENGINE_STACK_MIN
    assert engine_stack_size(deep(tmp_path, 1, 1040 + (64 << 20))) == 64 << 20


def test_recursion_deeper_than_wasmtimes_default_runs_when_the_module_has_the_stack(tmp_path):
    levels = 150_000  # about 4.8 MB of engine stack: more than wasmtime's 2 MiB default
    roomy = deep(tmp_path, levels, 1040 + (8 << 20))
    assert run_module(roomy).exit_code == 0
    tight = run_module(roomy, max_stack=ENGINE_STACK_MIN)
    assert (tight.exit_code, tight.trap) == (134, "wasm trap: call stack exhausted")
    small = deep(tmp_path, levels, 1040 + (1 << 20))  # a 1 MiB stack: the engine's 2 MiB minimum
    assert run_module(small).exit_code == 134
    assert run_module(small, max_stack=16 << 20).exit_code == 0


@pytest.mark.parametrize("limit", [None, "256M", "1G"])
def test_endless_recursion_traps_with_a_message_and_status(tmp_path, limit):
    """A limit beyond the caller's own stack (8 MiB on the main thread) overran it with SIGSEGV
    before modules ran on a thread of their own; in a child process, so a crash cannot take pytest."""
    endless = module(tmp_path, "endless", '(func $f (call $f)) (func (export "_start") (call $f))')
    result = run_cwpkg("run", *(["--max-wasm-stack", limit] if limit else []), str(endless))
    assert result.returncode == 134, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "cwpkg: endless.wasm: wasm trap: call stack exhausted"


def test_timeouts_and_interruptions_still_stop_a_module(tmp_path):
    endless = module(tmp_path, "loop", '(func (export "_start") (loop $l (br $l)))')
    result = run_cwpkg("run", "--timeout", "0.5", str(endless))
    assert result.returncode == 124 and "timed out after 0.5 s" in result.stderr
    # Ctrl-C stops it too (before, the module ran on the main thread, which saw no signal until it ended)
    child = subprocess.Popen([sys.executable, "-m", "cwpkg", "run", str(endless)], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        time.sleep(2)
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=20) == 130
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.mark.parametrize("option", ["12x", "2G", "1K"])
def test_max_wasm_stack_takes_sizes(tmp_path, option):
    result = run_cwpkg("run", "--max-wasm-stack", option, str(tmp_path / "none.wasm"))
    assert result.returncode == 2 and "--max-wasm-stack" in result.stderr


@pytest.mark.slow
def test_deep_crystal_recursion_prints_what_the_native_build_prints(full_sysroot, tmp_path):
    """40,000 levels of recursion through blocks: about 5.5 MiB of stack natively (which has 8 MiB)
    and under wasmtime, where the 2 MiB limit cwpkg had trapped at about 14,000."""
    source = REPO / "tests" / "fixtures" / "recursion" / "deep_recursion.cr"
    native = subprocess.run(["crystal", "run", str(source), "--", "40000"], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "CRYSTAL_CACHE_DIR": str(tmp_path / "cache")})
    assert native.returncode == 0, native.stderr
    module_path = tmp_path / "deep_recursion.wasm"
    assert run_cwpkg("link", str(source), "-o", str(module_path), env=full_sysroot).returncode == 0
    result = run_cwpkg("run", str(module_path), "40000", env=full_sysroot)
    assert (result.returncode, result.stdout) == (0, native.stdout), result.stderr
    assert "height: 40001" in native.stdout
    limited = run_cwpkg("run", "--max-wasm-stack", "2M", str(module_path), "40000", env=full_sysroot)
    assert limited.returncode == 134 and "call stack exhausted" in limited.stderr


@pytest.mark.slow
def test_endless_crystal_recursion_ends_with_a_trap(full_sysroot, tmp_path):
    source = REPO / "tests" / "fixtures" / "recursion" / "infinite_recursion.cr"
    module_path = tmp_path / "infinite_recursion.wasm"
    assert run_cwpkg("link", str(source), "-o", str(module_path), env=full_sysroot).returncode == 0
    for limit in ([], ["--max-wasm-stack", "512M"]):
        result = run_cwpkg("run", *limit, str(module_path), env=full_sysroot)
        assert (result.returncode, result.stdout) == (134, "going down\n"), result.stderr
        assert result.stderr.strip().splitlines()[-1] == \
            "cwpkg: infinite_recursion.wasm: wasm trap: call stack exhausted"
