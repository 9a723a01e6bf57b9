"""What cwpkg learns from the machine: the Debian archive from apt's configuration, the toolchain."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import run_cwpkg

from cwpkg.sources.debian_mirror import archive_bases


def test_archive_bases_from_one_line_and_deb822_sources(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("CWPKG_DEBIAN_MIRROR", raising=False)
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list").write_text(
        "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n"
        "deb http://security.example/debian-security bookworm-security main\n"
        "deb-src http://one.example/debian bookworm main\n")
    (etc / "sources.list.d/extra.sources").write_text(
        "Types: deb\nURIs: http://two.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\nEnabled: no\n\n"
        "Types: deb\nURIs: http://flat.example/repo\nSuites: ./\n")
    assert archive_bases(etc) == ["http://one.example/debian", "http://two.example/debian"]


def test_environment_variable_overrides_apt(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CWPKG_DEBIAN_MIRROR", "http://a.example/debian/, http://b.example/debian")
    assert archive_bases(tmp_path) == ["http://a.example/debian", "http://b.example/debian"]


def test_this_machine_has_a_debian_archive_configured():
    assert archive_bases(), "apt has no Debian archive configured; set CWPKG_DEBIAN_MIRROR"


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
    assert "apt-get install clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32" in result.stderr
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
