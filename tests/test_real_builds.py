"""The real libraries, built from real downloads with the real toolchain, run under wasmtime."""

from __future__ import annotations

import re
import subprocess

import pytest
from helpers import REPO, run_cwpkg, snapshot

from cwpkg.wasm.runner import run_module

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """One sysroot with wasi-libc, bdwgc (and its companion cwpkg-rt) and pcre, built from an empty source cache."""
    base = tmp_path_factory.mktemp("real")
    env = {"CWPKG_CACHE": str(base / "cache"), "CWPKG_SYSROOT": str(base / "sysroot")}
    result = run_cwpkg("install", "--quiet", "bdwgc", "pcre", env=env)
    assert result.returncode == 0, result.stderr
    assert "built: wasi-libc" in result.stdout and "bdwgc" in result.stdout and "pcre" in result.stdout
    assert "cwpkg-rt" in result.stdout
    return base, env


def test_every_installed_package_test_program_passes_under_wasmtime(built):
    base, env = built
    result = run_cwpkg("check", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split()[1].rstrip(":"): line for line in result.stdout.splitlines()}
    assert lines.keys() == {"bdwgc", "cwpkg-rt", "pcre", "wasi-libc"}
    assert all(line.startswith("PASS") for line in lines.values()), result.stdout


def test_collector_frees_garbage_and_keeps_live_data(built):
    base, env = built
    result = run_cwpkg("check", "bdwgc", env=env)
    match = re.search(r"allocated (\d+) MB, heap (\d+) KB, (\d+) collections \| bdwgc ok", result.stdout)
    assert match, result.stdout + result.stderr
    allocated_kb, heap_kb, collections = int(match[1]) * 1024, int(match[2]), int(match[3])
    assert allocated_kb >= 400 * 1024
    assert heap_kb * 8 < allocated_kb
    assert collections > 10


@pytest.mark.parametrize("breakage, expected", [
    ("GC_disable()", "FAIL: the heap grew with the garbage: nothing was freed"),
    ("GC_clear_roots()", "nodes reachable from a global were freed"),
])
def test_gc_test_program_catches_a_broken_collector(built, tmp_path, breakage, expected):
    """The same test program, with the collector crippled, must fail: the test can tell."""
    base, env = built
    header = tmp_path / "break.h"
    header.write_text(f"#include <gc.h>\n#undef GC_INIT\n#define GC_INIT() (GC_init(), {breakage})\n")
    module, obj = tmp_path / "broken.wasm", tmp_path / "broken.o"
    clang = run_cwpkg("toolchain").stdout.split("clang     ")[1].split()[0]
    subprocess.run([clang, "--target=wasm32-wasi", f"--sysroot={base / 'sysroot'}", "-O2", "-include", str(header),
                    "-c", str(REPO / "recipes/checks/bdwgc.c"), "-o", str(obj)], check=True)
    linked = run_cwpkg("link", str(obj), "-o", str(module), "--", "-lgc", env=env)  # with the runtime, as checks are
    assert linked.returncode == 0, linked.stderr
    result = run_module(module)
    assert result.exit_code == 1
    assert expected in result.stdout and "bdwgc FAILED" in result.stdout


def test_second_install_does_no_work(built):
    base, env = built
    before = snapshot(base / "sysroot")
    result = run_cwpkg("install", "bdwgc", "pcre", env=env)
    assert result.returncode == 0, result.stderr
    assert "nothing to do" in result.stdout
    assert snapshot(base / "sysroot") == before


def test_sysroot_layout_and_relocatable_pkgconfig(built):
    base, env = built
    sysroot = base / "sysroot"
    for path in ("include/stdio.h", "include/gc.h", "include/pcre.h", "lib/wasm32-wasi/libc.a",
                 "lib/wasm32-wasi/crt1-command.o", "lib/wasm32-wasi/libgc.a", "lib/wasm32-wasi/libpcre.a"):
        assert (sysroot / path).is_file(), path
    pc = (sysroot / "lib/pkgconfig/libpcre.pc").read_text()
    assert "prefix=${pcfiledir}/../.." in pc and "/wasi-sysroot" not in pc
    assert not list(sysroot.rglob("*.la"))
    pkg_config = subprocess.run(["pkg-config", "--cflags", "--libs", "libpcre"], capture_output=True, text=True,
                                env={"PKG_CONFIG_LIBDIR": str(sysroot / "lib/pkgconfig"), "PATH": "/usr/bin:/bin"})
    assert pkg_config.returncode == 0, pkg_config.stderr
    assert f"-I{sysroot}/lib/pkgconfig/../../include" in pkg_config.stdout
    assert "-lpcre" in pkg_config.stdout


def test_uninstall_then_install_reuses_the_built_archive(built):
    base, env = built
    assert run_cwpkg("uninstall", "pcre", env=env).returncode == 0
    assert not (base / "sysroot/include/pcre.h").exists()
    result = run_cwpkg("install", "-q", "pcre", env=env)
    assert result.returncode == 0, result.stderr
    assert "built: -; installed: pcre" in result.stdout
    assert run_cwpkg("check", "pcre", env=env).returncode == 0
