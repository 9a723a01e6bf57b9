"""Deterministic kill trials: a command that changes the sysroot is killed with SIGKILL at every step of
its transactions, for every kind of change: a first install, an upgrade, the reinstall of the same
version, an uninstall, a bundle installed into an empty sysroot and over the same packages, and a
restore from the binary cache.

cwpkg numbers its transaction steps (cwpkg/faults.py); a reference run lists them, then each trial
kills the command at one of them and reads the step log to prove the kill landed there. After each
kill `cwpkg verify` recovers and finds every file as its manifest says, every package is exactly its
old or its new version, and running the command again finishes the change."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import run_cwpkg
from tiny import env_for, write_repo

from cwpkg.faults import KILL_VARIABLE, LOG_VARIABLE
from cwpkg.fs.digest import file_sha256
from cwpkg.sysroot.sysroot import Sysroot

State = dict[str, dict[str, str]]  # package -> its files (path -> digest) as its manifest records them, and
                                   # whether its archive is there with the sha256 the manifest records


@dataclass(frozen=True)
class Kind:
    prepare: Callable[[Path, dict[str, str]], None]  # makes the starting world (built once, copied per trial)
    command: tuple[str, ...]
    sysroot: str = "sysroot"  # the sysroot the command changes, in the checkout


def _state(sysroot: Path) -> State:
    state = {}
    for name, manifest in Sysroot(sysroot).installed().items():
        archive = Sysroot(sysroot).archive_path(name)
        intact = archive.is_file() and file_sha256(archive) == manifest.archive_sha256
        state[name] = {**manifest.files, "(archive)": "intact" if intact else "missing"}
    return state


def _ok(*args: str, env: dict[str, str]) -> None:
    result = run_cwpkg(*args, env=env)
    assert result.returncode == 0, f"cwpkg {' '.join(args)}: {result.stderr}"


def _upgrade_patch(root: Path) -> None:
    patch = root / "patches" / "add" / "fix.patch"
    patch.write_text(patch.read_text() + "--- a/add.h\n+++ b/add.h\n@@ -1 +1,2 @@\n int add(int a, int b); /* patched */\n"
                                          "+int add3(int a, int b, int c);\n")


def _built_not_installed(root: Path, env: dict[str, str]) -> None:
    _ok("install", "twice", env=env)
    _ok("uninstall", "twice", "add", env=env)  # the builds stay: the trials measure installing


def _upgrade(root: Path, env: dict[str, str]) -> None:
    _ok("install", "twice", env=env)
    _upgrade_patch(root)


def _archive_gone(root: Path, env: dict[str, str]) -> None:
    _ok("install", "twice", env=env)
    (root / "sysroot" / ".cwpkg" / "archives" / "add.tar.gz").unlink()  # add is installed again, as it was


def _bundled(root: Path, env: dict[str, str]) -> None:
    _ok("lock", "--all", env=env)
    _ok("bundle", "-o", str(root / "all.tar.gz"), env=env)


def _pushed(root: Path, env: dict[str, str]) -> None:
    _ok("lock", "--all", env=env)
    _ok("cache", "push", env={**env, "CWPKG_BINARY_CACHE": str(root / "binary-cache")})


KINDS = {
    "first install": Kind(_built_not_installed, ("install", "twice")),
    "upgrade": Kind(_upgrade, ("install", "twice")),
    "reinstall of the same version": Kind(_archive_gone, ("install", "twice")),  # verify finds the gap first
    "uninstall": Kind(lambda root, env: _ok("install", "twice", env=env), ("uninstall", "twice", "add")),
    "bundle into an empty sysroot": Kind(_bundled, ("install", "--from-bundle", "all.tar.gz"), "target"),
    "bundle over the same packages": Kind(_bundled, ("install", "--from-bundle", "all.tar.gz")),
    "restore from the binary cache": Kind(_pushed, ("install", "--locked"), "target"),
}


def _environment(root: Path, cache: Path, kind: Kind) -> dict[str, str]:
    env = env_for(root, root / "mirror", cache, CWPKG_BINARY_CACHE=str(root / "binary-cache"))
    env["CWPKG_SYSROOT"] = str(root / kind.sysroot)
    return env


def _steps(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("name", sorted(KINDS))
def test_sigkill_at_every_step_leaves_old_or_new_and_the_next_run_finishes(tmp_path, name):
    kind = KINDS[name]
    base = tmp_path / "base"
    write_repo(base / "checkout")
    kind.prepare(base / "checkout", env_for(base / "checkout", base / "checkout" / "mirror", base / "cache"))

    def world(label: str) -> tuple[Path, dict[str, str]]:
        shutil.copytree(base, tmp_path / label, symlinks=True)
        root = tmp_path / label / "checkout"
        return root, _environment(root, tmp_path / label / "cache", kind)

    root, env = world("baseline")
    baseline = run_cwpkg("verify", "--no-lock", env=env, cwd=root)  # the old state's own report
    root, env = world("reference")
    sysroot = root / kind.sysroot
    old = _state(sysroot)
    log = tmp_path / "reference.log"
    reference = run_cwpkg(*kind.command, env={**env, LOG_VARIABLE: str(log)}, cwd=root)
    assert reference.returncode == 0, reference.stderr
    new, steps = _state(sysroot), _steps(log)
    assert old != new or name == "bundle over the same packages"
    assert len(steps) >= 7, steps

    for number, step in enumerate(steps, start=1):
        root, env = world(f"trial-{number}")
        sysroot = root / kind.sysroot
        trial_log = tmp_path / f"trial-{number}.log"
        killed = run_cwpkg(*kind.command, env={**env, LOG_VARIABLE: str(trial_log), KILL_VARIABLE: str(number)},
                           cwd=root)
        assert killed.returncode == -signal.SIGKILL, f"step {step}: {killed.stderr}"
        assert _steps(trial_log)[-1] == step, f"the kill landed at {_steps(trial_log)[-1:]}, not at {step}"

        verified = run_cwpkg("verify", "--no-lock", env=env, cwd=root)
        recovered = _state(sysroot)
        if recovered:
            assert verified.returncode == 0 or (recovered == old and verified.stdout == baseline.stdout), \
                f"after a kill at {step}: {verified.stdout}{verified.stderr}"
        else:  # killed before the first package was committed
            assert verified.returncode == 2 and "nothing is installed" in verified.stderr, verified.stderr
            assert sorted(os.listdir(sysroot)) == [".cwpkg"] or not sysroot.exists()
        for package in old.keys() | new.keys():
            assert recovered.get(package) in (old.get(package), new.get(package)), \
                f"after a kill at {step}: {package} is neither its old nor its new version"

        finished = run_cwpkg(*kind.command, env=env, cwd=root)
        assert finished.returncode == 0, f"after a kill at {step}: {finished.stderr}"
        assert _state(sysroot) == new
        assert run_cwpkg("verify", "--no-lock", env=env, cwd=root).returncode == 0 or not new
