"""Fixtures shared by the tests; the plain helpers they use are in helpers.py."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import REPO, ScriptedServer, run_cwpkg

UPSTREAM_SUITES_TEST = "test_upstream_suites.py"
UPSTREAM_SUITES_TIMEOUT = 3600  # seconds, from the start of the run
_upstream_selected = pytest.StashKey[bool]()
_upstream_run = pytest.StashKey["UpstreamSuites"]()


@pytest.fixture
def http_server():
    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture
def fast_network_env() -> dict[str, str]:
    """Short timeouts and backoff, so that fault tests take seconds."""
    return {"CWPKG_TIMEOUT": "1", "CWPKG_BACKOFF": "0.05", "CWPKG_RETRIES": "3"}


def pytest_collection_modifyitems(config, items) -> None:
    config.stash[_upstream_selected] = any(item.path.name == UPSTREAM_SUITES_TEST for item in items)


@pytest.fixture(scope="session")
def full_sysroot(tmp_path_factory, request) -> dict[str, str]:
    """Every recipe built once from real downloads into a fresh cache and sysroot (slow tests share it).

    For a developer's quicker runs, CWPKG_TEST_SYSROOT and CWPKG_TEST_CACHE name a sysroot that
    `cwpkg install --all` built, and its cache, to use instead (CI builds its own).

    The build trees are kept, and when test_upstream_suites.py is among the tests to run, its
    `cwpkg test --all` starts in them at once, in the background: most of its time is one wasm
    program after another, while the other tests mostly wait for the Crystal compiler or one wasm
    program of their own, so both take turns on the cores instead of one waiting for the other.
    """
    if os.environ.get("CWPKG_TEST_SYSROOT"):  # a developer's: a sysroot built by install --all, and its cache
        return {"CWPKG_SYSROOT": os.environ["CWPKG_TEST_SYSROOT"], "CWPKG_CACHE": os.environ["CWPKG_TEST_CACHE"]}
    base = tmp_path_factory.mktemp("full")
    env = {"CWPKG_CACHE": str(base / "cache"), "CWPKG_SYSROOT": str(base / "sysroot")}
    result = run_cwpkg("install", "--all", "--quiet", "--keep-build-trees", env=env, timeout=3600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    if request.config.stash.get(_upstream_selected, False):
        run = UpstreamSuites.start(env, tmp_path_factory.mktemp("upstream"))
        request.config.stash[_upstream_run] = run
        request.addfinalizer(run.stop)
    return env


@pytest.fixture
def upstream_suites(full_sysroot, request) -> "UpstreamSuites":
    """The session's `cwpkg test --all --report` run (see full_sysroot), to wait for."""
    return request.config.stash[_upstream_run]


@dataclass
class UpstreamSuites:
    """`cwpkg test --all --report --report-file REPORT` on the session's sysroot, with its build trees
    (`install --keep-build-trees`) but one: BUILT_AGAIN's is dropped first, so that `cwpkg test` also
    builds one real library again, as it does where no tree was kept."""

    BUILT_AGAIN = "zlib"

    process: subprocess.Popen
    directory: Path
    started: float

    @classmethod
    def start(cls, env: dict[str, str], directory: Path) -> "UpstreamSuites":
        record = Path(env["CWPKG_SYSROOT"]) / ".cwpkg" / "trees" / f"{cls.BUILT_AGAIN}.json"
        shutil.rmtree(json.loads(record.read_text())["path"])
        record.unlink()
        full_env = {key: value for key, value in os.environ.items() if not key.startswith("CWPKG_")}
        with open(directory / "stdout", "wb") as stdout, open(directory / "stderr", "wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "cwpkg", "test", "--all", "--report", "--report-file", str(directory / "report.md")],
                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=REPO, env={**full_env, **env},
                start_new_session=True)  # its own process group, which it stops as a whole on SIGTERM
        return cls(process, directory, time.monotonic())

    def wait(self) -> subprocess.CompletedProcess:
        remaining = UPSTREAM_SUITES_TIMEOUT - (time.monotonic() - self.started)
        try:
            self.process.wait(timeout=max(remaining, 1))
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        read = (lambda name: (self.directory / name).read_text(encoding="utf-8", errors="replace"))
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, read("stdout"), read("stderr"))

    @property
    def report(self) -> Path:
        return self.directory / "report.md"

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
