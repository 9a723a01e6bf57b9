"""cwpkg installed from a wheel (not editable) into a fresh venv works on its own: the wheel holds the
package data (cwpkg/builds/SConstruct, cwpkg/crystal/*.cr), and the front doors' lazy imports find
their modules in site-packages. The installed `cwpkg` runs outside the checkout, which serves only as
the recipe root (CWPKG_RECIPES)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import REPO
from tiny import env_for, write_repo

pytestmark = pytest.mark.slow

HELLO = REPO / "examples" / "hello.cr"


def _check(argv: list[str], cwd: Path) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=900)
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built as `pip install` builds one (in an isolated environment with the build-system
    requirements), from a copy of the working tree's package: building in the checkout would write
    build/ there, and setuptools puts into the wheel whatever an earlier build left in build/lib."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(REPO / "cwpkg", source / "cwpkg", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    _check([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
            "-w", str(base / "dist"), str(source)], cwd=base)
    (built,) = (base / "dist").glob("cwpkg-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path) -> Path:
    """A fresh venv with the wheel and its dependencies installed."""
    root = wheel.parent.parent / "venv"
    _check([sys.executable, "-m", "venv", str(root)], cwd=root.parent)
    _check([str(root / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
           cwd=root.parent)
    return root


def run_installed(venv: Path, *args: str, cwd: Path, env: dict[str, str] | None = None,
                  timeout: float = 1800) -> subprocess.CompletedProcess:
    """Runs the venv's `cwpkg` entry point in `cwd`, with the checkout's recipes unless `env` names others;
    no PYTHONPATH, so nothing but the installed package can be imported."""
    full_env = {key: value for key, value in os.environ.items()
                if not key.startswith("CWPKG_") and key != "PYTHONPATH"}
    full_env.update({"CWPKG_RECIPES": str(REPO), **(env or {})})
    return subprocess.run([str(venv / "bin" / "cwpkg"), *args], capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=timeout)


def test_the_wheel_holds_every_file_of_the_package(wheel):
    package_files = {path.relative_to(REPO).as_posix() for path in (REPO / "cwpkg").rglob("*")
                     if path.is_file() and "__pycache__" not in path.parts}
    assert {"cwpkg/builds/SConstruct", "cwpkg/crystal/spec_support.cr"} <= package_files
    with zipfile.ZipFile(wheel) as archive:
        assert package_files - set(archive.namelist()) == set()


def test_every_front_door_name_imports_from_the_installed_package(venv, tmp_path):
    script = ("import importlib, pkgutil, cwpkg\n"
              "for info in pkgutil.iter_modules(cwpkg.__path__):\n"
              "    if info.ispkg:\n"
              "        package = importlib.import_module(f'cwpkg.{info.name}')\n"
              "        for name in package.OFFERS:\n"
              "            getattr(package, name)\n"
              "print(cwpkg.__file__)\n")
    result = subprocess.run([str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True,
                            cwd=tmp_path, env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"})
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(venv), "cwpkg imported from the venv, not the checkout"


def test_help_and_recipes_from_outside_the_checkout(venv, tmp_path):
    help_text = run_installed(venv, "--help", cwd=tmp_path)
    assert help_text.returncode == 0, help_text.stderr
    assert "install" in help_text.stdout and "link" in help_text.stdout
    recipes = run_installed(venv, "recipes", cwd=tmp_path)
    assert recipes.returncode == 0, recipes.stderr
    listed = {line.split()[0] for line in recipes.stdout.splitlines() if line.strip()}
    assert listed == {path.stem for path in (REPO / "recipes").glob("*.yaml")}


def test_install_builds_through_the_installed_sconstruct(venv, tmp_path):
    root = tmp_path / "checkout"
    mirror = write_repo(root)
    result = run_installed(venv, "install", "--quiet", "twice", cwd=tmp_path,
                           env=env_for(root, mirror, tmp_path / "cache"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "built: add, twice; installed: add, twice" in result.stdout
    assert (root / "sysroot" / "lib" / "wasm32-wasi" / "libtwice.a").is_file()


def test_env_link_and_run_print_what_the_native_build_prints(venv, full_sysroot, tmp_path):
    env = run_installed(venv, "env", cwd=tmp_path, env=full_sysroot)
    assert env.returncode == 0, env.stderr
    assert "CRYSTAL_LIBRARY_PATH" in env.stdout
    (tmp_path / "wasm").mkdir()
    linked = run_installed(venv, "link", str(HELLO), "-o", "hello.wasm", cwd=tmp_path / "wasm", env=full_sysroot)
    assert linked.returncode == 0, linked.stderr
    ran = run_installed(venv, "run", "--dir", ".", "hello.wasm", cwd=tmp_path / "wasm", env=full_sysroot)
    assert ran.returncode == 0, ran.stderr
    (tmp_path / "native").mkdir()
    native = subprocess.run(["crystal", "run", str(HELLO)], capture_output=True, text=True, cwd=tmp_path / "native",
                            env={**os.environ, "CRYSTAL_CACHE_DIR": str(tmp_path / "crystal-cache")})
    assert native.returncode == 0, native.stderr
    assert ran.stdout == native.stdout
    assert "deleted: true" in ran.stdout


def test_spec_runs_with_the_installed_spec_support(venv, full_sysroot, tmp_path):
    spec = tmp_path / "sum_spec.cr"
    spec.write_text('require "spec"\n\ndescribe "sum" do\n  it "adds" do\n    (1 + 2).should eq(3)\n  end\n\n'
                    '  it "joins" do\n    [1, 2].join(",").should eq("1,2")\n  end\nend\n')
    result = run_installed(venv, "spec", str(spec), cwd=tmp_path, env=full_sysroot)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^2 examples, 0 failures, 0 errors, 0 pending, 0 unsupported on wasm32 by Crystal [\d.]+ "
                     r"\(2 passed\)$", result.stdout, re.M), result.stdout
