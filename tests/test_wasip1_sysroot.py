"""A sysroot for wasm32-wasip1, built by a toolchain that knows only that name (wasip1_sdk.py): its
packages pass `cwpkg check`, pkg-config and the library directory follow the target, and a Crystal
program linked against it prints what it prints natively."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import REPO, run_cwpkg
from wasip1_sdk import make_wasip1_only_sdk

pytestmark = pytest.mark.slow

TARGET = "wasm32-wasip1"
# one recipe of each build kind (make, zlib's own configure, CMake, autotools) and the runtime
RECIPES = ["wasi-libc", "zlib", "libyaml", "bdwgc", "cwpkg-rt"]
TOUR = REPO / "tests/fixtures/targets/tour.cr"


@pytest.fixture(scope="module")
def wasip1_env(tmp_path_factory, full_sysroot) -> dict[str, str]:
    base = tmp_path_factory.mktemp("wasip1")
    env = {"WASI_SDK_PATH": str(make_wasip1_only_sdk(base / "wasi-sdk")), "CWPKG_SYSROOT": str(base / "sysroot"),
           "CWPKG_CACHE": full_sysroot["CWPKG_CACHE"]}  # the sources are downloaded once
    result = run_cwpkg("--target", TARGET, "install", "--quiet", *RECIPES, env=env, timeout=3600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return env


def test_the_sysroot_holds_the_targets_libraries_and_passes_check(wasip1_env):
    sysroot = wasip1_env["CWPKG_SYSROOT"]
    libraries = {path.name for path in Path(sysroot, "lib", TARGET).glob("*.a")}
    assert {"libc.a", "libz.a", "libyaml.a", "libgc.a", "libcwpkg_rt.a"} <= libraries
    assert sorted(path.name for path in Path(sysroot, "lib").iterdir()) == ["pkgconfig", TARGET]
    checked = run_cwpkg("check", env=wasip1_env, timeout=1800)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for name in RECIPES:
        assert f"PASS {name}:" in checked.stdout, checked.stdout


def test_pkg_config_points_into_the_targets_library_directory(wasip1_env):
    environment = run_cwpkg("env", env=wasip1_env)
    assert environment.returncode == 0, environment.stderr
    variables = dict(line.split("=", 1) for line in environment.stdout.splitlines() if "=" in line)
    libs = subprocess.run(["pkg-config", "--libs", "zlib", "yaml-0.1"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PKG_CONFIG_LIBDIR": variables["PKG_CONFIG_LIBDIR"]})
    assert libs.returncode == 0, libs.stderr
    assert libs.stdout.split() == [f"-L{wasip1_env['CWPKG_SYSROOT']}/lib/pkgconfig/../../lib/{TARGET}", "-lz", "-lyaml"]
    assert f"--target={TARGET}" in variables["CC"]


def test_a_crystal_program_runs_as_natively(wasip1_env, tmp_path):
    native = subprocess.run(["crystal", "run", str(TOUR)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert native.returncode == 0, native.stderr
    module = tmp_path / "tour.wasm"
    linked = run_cwpkg("link", str(TOUR), "-o", str(module), env=wasip1_env, timeout=1200)
    assert linked.returncode == 0, linked.stderr
    ran = run_cwpkg("run", str(module), env=wasip1_env, timeout=600)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, native.stdout, "")
