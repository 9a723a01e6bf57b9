"""Tool probes (`crystal env`, the toolchain's versions and builtins) are remembered while the tools'
files stay the same, asked again when one changes, and never remembered by a command that failed."""

from __future__ import annotations

import os
import shutil

from helpers import run_cwpkg

from cwpkg.toolchain.detect import detect_toolchain

TOOLS = ("clang", "wasm-ld", "llvm-ar", "llvm-ranlib", "llvm-nm")


def wrapped_tools(tmp_path):
    """An LLVM prefix and a crystal whose every call is logged, then handed to the real tool."""
    system = detect_toolchain()
    real = {"clang": system.clang, "wasm-ld": system.wasm_ld, "llvm-ar": system.ar, "llvm-ranlib": system.ranlib,
            "llvm-nm": system.nm, "crystal": shutil.which("crystal")}
    log = tmp_path / "calls.log"
    (tmp_path / "llvm" / "bin").mkdir(parents=True)
    for name, target in real.items():
        wrapper = tmp_path / "llvm" / "bin" / name
        wrapper.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\nexec {target} "$@"\n')
        wrapper.chmod(0o755)
    env = {"CWPKG_TOOLCHAIN": str(tmp_path / "llvm"), "CWPKG_CRYSTAL": str(tmp_path / "llvm" / "bin" / "crystal"),
           "CWPKG_CACHE": str(tmp_path / "cache"), "CWPKG_SYSROOT": str(tmp_path / "sysroot")}
    return env, log


def calls(log) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_probes_are_remembered_until_a_tool_changes(tmp_path):
    env, log = wrapped_tools(tmp_path)
    first = run_cwpkg("env", env=env)
    assert first.returncode == 0, first.stderr
    asked = calls(log)
    assert any(call.startswith("clang --version") for call in asked)
    assert any(call.startswith("crystal env") for call in asked)

    again = run_cwpkg("env", env=env)
    assert again.returncode == 0 and again.stdout == first.stdout
    assert calls(log) == asked, "the second run asked the tools again"

    wasm_ld = tmp_path / "llvm" / "bin" / "wasm-ld"
    wasm_ld.write_text(wasm_ld.read_text())  # the same script, but a new file as far as anyone can tell
    changed = run_cwpkg("env", env=env)
    assert changed.returncode == 0 and changed.stdout == first.stdout
    new_calls = calls(log)[len(asked):]
    assert any(call.startswith("wasm-ld --version") for call in new_calls)
    assert not any(call.startswith("crystal") for call in new_calls), "crystal did not change"


def test_a_failed_command_remembers_nothing(tmp_path):
    env, log = wrapped_tools(tmp_path)
    program = tmp_path / "broken.cr"
    program.write_text("puts undefined_thing\n")
    failed = run_cwpkg("link", str(program), "--no-install", env=env)
    assert failed.returncode != 0 and "could not compile" in failed.stderr
    assert any(call.startswith("crystal env") for call in calls(log))
    assert not (tmp_path / "cache" / "probes").exists()
    os.remove(log)
    assert run_cwpkg("env", env=env).returncode == 0
    assert any(call.startswith("clang --version") for call in calls(log)), "nothing was remembered before"
