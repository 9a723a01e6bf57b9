"""Toolchain detection: the system's versioned LLVM, an explicit prefix, and what a missing tool's error says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import run_cwpkg

from cwpkg.toolchain.detect import INSTALL_HINT


def test_toolchain_is_found_and_fingerprinted():
    result = run_cwpkg("toolchain")
    assert result.returncode == 0, result.stderr
    assert "libclang_rt.builtins-wasm32.a" in result.stdout
    assert "identity" in result.stdout and "clang version" in result.stdout


def test_explicit_llvm_prefix(tmp_path: Path):
    prefixes = sorted(Path("/usr/lib").glob("llvm-*/bin/wasm-ld"))
    if not prefixes:
        pytest.skip("no Debian LLVM prefix with wasm-ld")
    prefix = prefixes[-1].parent.parent
    result = run_cwpkg("toolchain", "--toolchain", str(prefix))
    assert result.returncode == 0, result.stderr
    assert f"--toolchain={prefix}" in result.stdout


def test_incomplete_explicit_toolchain_is_an_error_not_a_fallback(tmp_path: Path):
    (tmp_path / "bin").mkdir()
    result = run_cwpkg("toolchain", env={"CWPKG_TOOLCHAIN": str(tmp_path)})
    assert result.returncode == 7
    assert f"CWPKG_TOOLCHAIN={tmp_path}: incomplete toolchain, missing {tmp_path}/bin/clang" in result.stderr


def test_no_toolchain_says_exactly_what_to_install(tmp_path: Path):
    result = run_cwpkg("install", "pcre", env={"PATH": str(tmp_path), "CWPKG_SYSROOT": str(tmp_path / "sysroot")})
    assert result.returncode == 7
    assert "no WebAssembly C toolchain found" in result.stderr
    assert INSTALL_HINT in result.stderr
    assert "WASI_SDK_PATH" in result.stderr
    assert not (tmp_path / "sysroot").exists()


def test_clang_without_wasm_linker_names_the_missing_package(tmp_path: Path):
    clang = sorted(Path("/usr/bin").glob("clang-[0-9]*"))
    if not clang:
        pytest.skip("no versioned clang")
    os.symlink(clang[-1], tmp_path / clang[-1].name)
    version = clang[-1].name.split("-")[1]
    result = run_cwpkg("toolchain", env={"PATH": str(tmp_path)})
    assert result.returncode == 7
    assert f"clang-{version} is there but not wasm-ld-{version}" in result.stderr
    assert f"lld-{version}" in result.stderr and f"llvm-{version}" in result.stderr
