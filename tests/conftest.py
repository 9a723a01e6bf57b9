"""Fixtures shared by the tests; the plain helpers they use are in helpers.py."""

from __future__ import annotations

import pytest
from helpers import ScriptedServer, run_cwpkg


@pytest.fixture
def http_server():
    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture
def fast_network_env() -> dict[str, str]:
    """Short timeouts and backoff, so that fault tests take seconds."""
    return {"CWPKG_TIMEOUT": "1", "CWPKG_BACKOFF": "0.05", "CWPKG_RETRIES": "3"}


@pytest.fixture(scope="session")
def full_sysroot(tmp_path_factory) -> dict[str, str]:
    """Every recipe built once from real downloads into a fresh cache and sysroot (slow tests share it)."""
    base = tmp_path_factory.mktemp("full")
    env = {"CWPKG_CACHE": str(base / "cache"), "CWPKG_SYSROOT": str(base / "sysroot")}
    result = run_cwpkg("install", "--all", "--quiet", env=env, timeout=3600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return env
