"""Prebuilt toolchains: the wasi-sdk recipe, and a wasi-sdk-like toolchain installed and used for a build."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml
from helpers import REPO, run_cwpkg
from tiny import env_for, write_repo
from wasip1_sdk import system_llvm_version

from cwpkg.toolchain.prebuilt import host_platform, load_toolchain_recipe


@pytest.mark.parametrize("host", ["x86_64-linux", "arm64-linux", "x86_64-macos", "arm64-macos"])
def test_wasi_sdk_recipe_names_upstream_release_and_checksum(host):
    recipe = load_toolchain_recipe(REPO, "wasi-sdk", host)
    (source,) = recipe.sources
    assert source.url == (f"https://github.com/WebAssembly/wasi-sdk/releases/download/wasi-sdk-27/"
                          f"wasi-sdk-27.0-{host}.tar.gz")
    assert len(source.sha256) == 64


def offer_wrapper_sdk(tmp_path: Path, targets: list[str]) -> tuple[Path, dict[str, str]]:
    """A checkout whose toolchain recipe `fake-sdk` (claiming `targets`) downloads wrappers of the
    system's LLVM tools; returns the checkout and the environment that uses it."""
    root = tmp_path / "checkout"
    mirror = write_repo(root)
    buffer = io.BytesIO()
    version = system_llvm_version()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in ("clang", "wasm-ld", "llvm-ar", "llvm-ranlib", "llvm-nm"):
            script = f'#!/bin/sh\nexec {shutil.which(f"{name}-{version}")} "$@"\n'.encode()
            info = tarfile.TarInfo(f"fake-sdk-1.0/bin/{name}")
            info.size, info.mode = len(script), 0o755
            tar.addfile(info, io.BytesIO(script))
    data = buffer.getvalue()
    (mirror / "fake-sdk-1.0.tar.gz").write_bytes(data)
    (root / "toolchains").mkdir()
    (root / "toolchains/fake-sdk.yaml").write_text(yaml.safe_dump({
        "name": "fake-sdk", "version": "1.0", "summary": "test", "license": "MIT", "homepage": "https://example.invalid/",
        "targets": targets,
        "downloads": {host_platform(): {"url": "https://example.invalid/fake-sdk-1.0.tar.gz",
                                        "sha256": hashlib.sha256(data).hexdigest()}},
    }))
    return root, env_for(root, mirror, tmp_path / "cache")


def test_installed_sdk_is_detected_through_wasi_sdk_path_and_builds_packages(tmp_path):
    root, env = offer_wrapper_sdk(tmp_path, ["wasm32-wasi"])
    installed = run_cwpkg("toolchain", "--install", "fake-sdk", env=env)
    assert installed.returncode == 0, installed.stderr
    directory = tmp_path / "cache/toolchains" / f"fake-sdk-1.0-{host_platform()}"
    assert f"export WASI_SDK_PATH={directory}" in installed.stdout
    assert "it builds for wasm32-wasi" in installed.stdout

    with_sdk = {**env, "WASI_SDK_PATH": str(directory)}
    detected = run_cwpkg("toolchain", env=with_sdk)
    assert detected.returncode == 0, detected.stderr
    assert f"toolchain: WASI_SDK_PATH={directory}" in detected.stdout
    assert f"{directory}/bin/clang" in detected.stdout
    built = run_cwpkg("install", "-q", "twice", env=with_sdk)
    assert built.returncode == 0, built.stderr
    assert (root / "sysroot/lib/wasm32-wasi/libtwice.a").is_file()


def test_a_toolchain_release_without_a_target_its_recipe_names_is_an_error(tmp_path):
    """The system clang these wrappers run has wasm32-wasi's builtins only."""
    root, env = offer_wrapper_sdk(tmp_path, ["wasm32-wasi", "wasm32-wasip1"])
    installed = run_cwpkg("toolchain", "--install", "fake-sdk", env=env)
    assert installed.returncode == 7
    assert "has no wasm32-wasip1 compiler-rt builtins" in installed.stderr


def test_unknown_toolchain_recipe(tmp_path):
    result = run_cwpkg("toolchain", "--install", "nosuch")
    assert result.returncode == 2
    assert "no toolchain recipe named 'nosuch'" in result.stderr and "known: wasi-sdk" in result.stderr
