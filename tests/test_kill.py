"""SIGKILL during `cwpkg install` at 20 moments spread over a whole upgrade (download, unpack, patch,
build, archive, install): afterwards every package is exactly its old or its new version, `cwpkg
verify` passes, and the next run completes the upgrade."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cwpkg
from tiny import env_for, write_repo

pytestmark = pytest.mark.slow

TRIALS = 20
PACKAGES = ("add", "twice")


def _package_files(sysroot: Path) -> dict[str, dict[str, str]]:
    """package -> {path: sha256} of what is on disk under the paths its manifest names."""
    from cwpkg.sysroot import Sysroot, tree_files

    on_disk = tree_files(sysroot)
    return {name: {path: on_disk.get(path, "missing") for path in manifest["files"]}
            for name, manifest in Sysroot(sysroot).installed().items()}


def _manifest_files(sysroot: Path, name: str) -> dict[str, str]:
    return json.loads((sysroot / ".cwpkg" / "installed" / f"{name}.json").read_text())["files"]


def test_sigkill_at_twenty_moments_leaves_old_or_new_and_the_next_run_finishes(tmp_path):
    root = tmp_path / "checkout"
    mirror = write_repo(root)
    env = env_for(root, mirror, tmp_path / "cache")
    sysroot = Path(env["CWPKG_SYSROOT"])
    assert run_cwpkg("install", "twice", env=env).returncode == 0
    old = {name: _manifest_files(sysroot, name) for name in PACKAGES}
    template = tmp_path / "old-sysroot"
    shutil.copytree(sysroot, template, symlinks=True)

    patch = root / "patches" / "add" / "fix.patch"  # the upgrade: add changes, and so does twice
    patch.write_text(patch.read_text() + "--- a/add.h\n+++ b/add.h\n@@ -1 +1,2 @@\n int add(int a, int b);\n"
                                         "+int add3(int a, int b, int c);\n")
    started = time.perf_counter()
    assert run_cwpkg("install", "twice", env={**env, "CWPKG_CACHE": str(tmp_path / "cold")}).returncode == 0
    duration = time.perf_counter() - started
    new = {name: _manifest_files(sysroot, name) for name in PACKAGES}
    assert old["add"] != new["add"]

    outcomes = []
    for trial in range(TRIALS):
        shutil.rmtree(sysroot)
        shutil.copytree(template, sysroot, symlinks=True)
        cache = tmp_path / f"cache-{trial}"  # empty: every run downloads, unpacks, builds
        trial_env = {key: value for key, value in os.environ.items() if not key.startswith("CWPKG_")}
        trial_env.update({**env, "CWPKG_CACHE": str(cache)})
        process = subprocess.Popen([sys.executable, "-m", "cwpkg", "install", "--quiet", "twice"], env=trial_env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(duration * (trial + 1) / (TRIALS + 1))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            outcomes.append("killed")
        else:
            outcomes.append("finished")
        process.wait()

        verified = run_cwpkg("verify", "--no-lock", env={**env, "CWPKG_CACHE": str(cache)})
        assert verified.returncode == 0, f"trial {trial}: {verified.stdout}{verified.stderr}"
        for name, files in _package_files(sysroot).items():
            assert files in (old[name], new[name]), f"trial {trial}: {name} is neither its old nor its new version"
        finished = run_cwpkg("install", "twice", env={**env, "CWPKG_CACHE": str(cache)})
        assert finished.returncode == 0, f"trial {trial}: {finished.stderr}"
        assert {name: _manifest_files(sysroot, name) for name in PACKAGES} == new
        assert run_cwpkg("verify", "--no-lock", env=env).returncode == 0
    assert outcomes.count("killed") >= TRIALS * 3 // 4, outcomes
