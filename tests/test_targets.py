"""Targets: a sysroot for wasm32-wasip1 built by a toolchain that knows only that name, the sysroot
keeping its target, and the errors for a target a toolchain or a sysroot does not have.

The toolchain is laid out as the wasi-sdk releases that dropped `wasm32-wasi` are (wasip1_sdk.py).
"""

from __future__ import annotations

import pytest
from helpers import run_cwpkg, snapshot
from tiny import env_for, write_repo
from wasip1_sdk import make_wasip1_only_sdk

P1 = "wasm32-wasip1"


@pytest.fixture(scope="module")
def sdk(tmp_path_factory):
    return make_wasip1_only_sdk(tmp_path_factory.mktemp("sdk") / "wasi-sdk")


@pytest.fixture
def checkout(tmp_path, sdk):
    root = tmp_path / "checkout"
    mirror = write_repo(root)
    return root, env_for(root, mirror, tmp_path / "cache", WASI_SDK_PATH=str(sdk))


def test_a_wasip1_only_toolchain_builds_a_wasip1_sysroot_that_keeps_its_target(checkout):
    root, env = checkout
    sysroot = root / "sysroot"
    built = run_cwpkg("--target", P1, "install", "-q", "twice", env=env)
    assert built.returncode == 0, built.stderr
    assert sorted(path.relative_to(sysroot).as_posix() for path in (sysroot / "lib").rglob("*.a")) == \
        [f"lib/{P1}/libadd.a", f"lib/{P1}/libtwice.a"]
    assert (sysroot / ".cwpkg/target").read_text() == f"{P1}\n"

    # later commands take the sysroot's target without being told
    before = snapshot(sysroot)
    again = run_cwpkg("install", "twice", env=env)
    assert again.returncode == 0, again.stderr
    assert snapshot(sysroot) == before
    described = run_cwpkg("toolchain", env=env)
    assert described.returncode == 0 and f"target    {P1}" in described.stdout

    # and refuse another one, changing nothing
    other = run_cwpkg("--target", "wasm32-wasi", "install", "add", env=env)
    assert other.returncode == 2
    assert f"sysroot {sysroot} holds {P1} libraries, not wasm32-wasi" in other.stderr
    assert "give wasm32-wasi a sysroot of its own with --sysroot" in other.stderr
    assert snapshot(sysroot) == before


def test_a_toolchain_without_the_targets_builtins_names_the_target_it_has(checkout, sdk):
    root, env = checkout
    result = run_cwpkg("install", "add", env=env)  # default target: wasm32-wasi
    assert result.returncode == 7, result.stderr
    assert f"{sdk}/bin/clang has no wasm32-wasi compiler-rt builtins" in result.stderr
    assert f"only {P1}'s" in result.stderr and f"use --target {P1}" in result.stderr
    assert not (root / "sysroot").exists()


def test_a_target_no_one_builds_for_is_a_usage_error(checkout):
    root, env = checkout
    result = run_cwpkg("install", "add", env={**env, "CWPKG_TARGET": "wasm64-wasi"})
    assert result.returncode == 2
    assert "CWPKG_TARGET 'wasm64-wasi' is not a target cwpkg builds for" in result.stderr
    assert "wasm32-wasi, wasm32-wasip1" in result.stderr
    assert not (root / "sysroot").exists()


def test_env_gives_plain_tools_the_sysroots_target(checkout):
    root, env = checkout
    assert run_cwpkg("--target", P1, "install", "-q", "add", env=env).returncode == 0
    result = run_cwpkg("env", env=env)
    assert result.returncode == 0, result.stderr
    assert f"--target={P1}" in result.stdout
    cmake_platform = (root / "sysroot/.cwpkg/env/cmake/Platform/WASI.cmake").read_text()
    assert f"set(CMAKE_LIBRARY_ARCHITECTURE {P1})" in cmake_platform
