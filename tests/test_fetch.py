"""Downloads against a real local HTTP server: verification, fallback, retries, resume, mirrors."""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import pytest
import yaml
from helpers import run_cwpkg, snapshot
from tiny import tarball, write_repo

GOOD = tarball("add")
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/add-1.0.tar.gz"


@pytest.fixture
def checkout(tmp_path: Path):
    root = tmp_path / "checkout"
    write_repo(root)
    return root


def set_sources(root: Path, sources: list[dict]) -> None:
    path = root / "recipes/add.yaml"
    document = yaml.safe_load(path.read_text())
    document["sources"] = sources
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def fetch(root: Path, cache: Path, extra_env: dict[str, str]):
    return run_cwpkg("fetch", "add", env={"CWPKG_RECIPES": str(root), "CWPKG_CACHE": str(cache), **extra_env})


def cached_file(cache: Path) -> Path:
    return cache / "sources" / GOOD_SHA / "add-1.0.tar.gz"


def test_download_is_verified_and_stored_by_checksum(checkout, tmp_path, http_server, fast_network_env):
    http_server.add("/add-1.0.tar.gz", GOOD)
    set_sources(checkout, [{"url": f"{http_server.base}/add-1.0.tar.gz", "sha256": GOOD_SHA}])
    result = fetch(checkout, tmp_path / "cache", fast_network_env)
    assert result.returncode == 0, result.stderr
    assert cached_file(tmp_path / "cache").read_bytes() == GOOD
    assert not (tmp_path / "cache/partial").exists()
    # A second fetch uses the cache and does not ask the server again.
    assert fetch(checkout, tmp_path / "cache", fast_network_env).returncode == 0
    assert http_server.routes["/add-1.0.tar.gz"].hits == 1


def test_wrong_checksum_is_refused_and_never_cached(checkout, tmp_path, http_server, fast_network_env):
    http_server.add("/add-1.0.tar.gz", GOOD + b"tampered")
    set_sources(checkout, [{"url": f"{http_server.base}/add-1.0.tar.gz", "sha256": GOOD_SHA}])
    result = fetch(checkout, tmp_path / "cache", fast_network_env)
    assert result.returncode == 4
    assert f"sha256 mismatch: expected {GOOD_SHA}, got {hashlib.sha256(GOOD + b'tampered').hexdigest()}" in result.stderr
    assert str(checkout / "recipes/add.yaml") in result.stderr
    assert snapshot(tmp_path / "cache") == {}


def test_falls_back_to_the_next_source(checkout, tmp_path, http_server, fast_network_env):
    http_server.add("/good/add-1.0.tar.gz", GOOD)
    set_sources(checkout, [
        {"url": closed_port_url(), "sha256": GOOD_SHA},
        {"url": f"{http_server.base}/missing/add-1.0.tar.gz", "sha256": GOOD_SHA},
        {"url": f"{http_server.base}/good/add-1.0.tar.gz", "sha256": GOOD_SHA},
    ])
    result = fetch(checkout, tmp_path / "cache", fast_network_env)
    assert result.returncode == 0, result.stderr
    assert cached_file(tmp_path / "cache").read_bytes() == GOOD


def test_all_sources_unreachable_lists_every_attempt(checkout, tmp_path, http_server, fast_network_env):
    refused = closed_port_url()
    http_server.add("/broken/add-1.0.tar.gz", GOOD, "500")
    set_sources(checkout, [
        {"url": refused, "sha256": GOOD_SHA},
        {"url": f"{http_server.base}/gone/add-1.0.tar.gz", "sha256": GOOD_SHA},
        {"url": f"{http_server.base}/broken/add-1.0.tar.gz", "sha256": GOOD_SHA},
    ])
    result = fetch(checkout, tmp_path / "cache", fast_network_env)
    assert result.returncode == 4
    assert f"{refused}: connection refused" in result.stderr
    assert f"{http_server.base}/gone/add-1.0.tar.gz: HTTP 404" in result.stderr
    assert f"{http_server.base}/broken/add-1.0.tar.gz: HTTP 500" in result.stderr and "after 3 attempts" in result.stderr
    assert http_server.routes["/broken/add-1.0.tar.gz"].hits == 3
    assert snapshot(tmp_path / "cache") == {}


@pytest.mark.parametrize("fault", ["truncate", "wrong-length"])
def test_broken_transfer_continues_where_it_stopped(checkout, tmp_path, http_server, fast_network_env, fault):
    route = http_server.add("/add-1.0.tar.gz", GOOD, fault, "ok")
    set_sources(checkout, [{"url": f"{http_server.base}/add-1.0.tar.gz", "sha256": GOOD_SHA}])
    result = fetch(checkout, tmp_path / "cache", fast_network_env)
    assert result.returncode == 0, result.stderr
    assert cached_file(tmp_path / "cache").read_bytes() == GOOD
    assert route.ranges[0] == ""
    if fault == "truncate":
        assert route.ranges[1] == f"bytes={len(GOOD) // 2}-"  # asked only for the missing part


def test_a_broken_transfer_is_continued_from_the_next_location_and_a_failed_run_keeps_no_partial(
        checkout, tmp_path, http_server, fast_network_env):
    first = http_server.add("/one/add-1.0.tar.gz", GOOD, "truncate")
    second = http_server.add("/two/add-1.0.tar.gz", GOOD, "500")
    set_sources(checkout, [{"url": f"{http_server.base}/one/add-1.0.tar.gz", "sha256": GOOD_SHA},
                           {"url": f"{http_server.base}/two/add-1.0.tar.gz", "sha256": GOOD_SHA}])
    failed = fetch(checkout, tmp_path / "cache", {**fast_network_env, "CWPKG_RETRIES": "1"})
    assert failed.returncode == 4
    assert not (tmp_path / "cache").exists(), "a command that fetched nothing leaves no trace in the cache"
    second.behaviours = ["ok"]
    assert fetch(checkout, tmp_path / "cache", {**fast_network_env, "CWPKG_RETRIES": "1"}).returncode == 0
    assert first.ranges[-1] == "" and second.ranges[-1] == f"bytes={len(GOOD) // 2}-"
    assert cached_file(tmp_path / "cache").read_bytes() == GOOD


@pytest.mark.parametrize("behaviour, reason", [
    ("redirect:file:///etc/passwd", "redirected to a URL that is not http(s)"),
    ("redirect:ftp://127.0.0.1/add-1.0.tar.gz", "redirected to a URL that is not http(s)"),
    ("redirect:/bad/add-1.0.tar.gz", "more than 10 redirects"),
    ("claims-gzip", "sha256 mismatch"),
    ("trickle", "download deadline of 2 s"),
])
def test_every_failure_of_a_source_falls_through_to_the_next(checkout, tmp_path, http_server, fast_network_env,
                                                             behaviour, reason):
    # with a gzip Content-Encoding, the body is a broken gzip stream
    http_server.add("/bad/add-1.0.tar.gz", b"\x1f\x8b\x08broken" if behaviour == "claims-gzip" else GOOD, behaviour)
    http_server.add("/good/add-1.0.tar.gz", GOOD)
    set_sources(checkout, [{"url": f"{http_server.base}/bad/add-1.0.tar.gz", "sha256": GOOD_SHA},
                           {"url": f"{http_server.base}/good/add-1.0.tar.gz", "sha256": GOOD_SHA}])
    env = {**fast_network_env, "CWPKG_DOWNLOAD_DEADLINE": "2"}
    started = time.monotonic()
    result = fetch(checkout, tmp_path / "cache", env)
    assert result.returncode == 0, result.stderr
    assert cached_file(tmp_path / "cache").read_bytes() == GOOD
    assert time.monotonic() - started < 20
    set_sources(checkout, [{"url": f"{http_server.base}/bad/add-1.0.tar.gz", "sha256": GOOD_SHA}])
    alone = fetch(checkout, tmp_path / "other-cache", env)
    assert alone.returncode == 4 and reason in alone.stderr, alone.stderr


def test_a_file_served_with_a_gzip_content_encoding_is_stored_as_sent(checkout, tmp_path, http_server,
                                                                      fast_network_env):
    """Servers that label a .tar.gz `Content-Encoding: gzip` are common; the file is the bytes sent."""
    http_server.add("/add-1.0.tar.gz", GOOD, "claims-gzip")
    set_sources(checkout, [{"url": f"{http_server.base}/add-1.0.tar.gz", "sha256": GOOD_SHA}])
    assert fetch(checkout, tmp_path / "cache", fast_network_env).returncode == 0
    assert cached_file(tmp_path / "cache").read_bytes() == GOOD


@pytest.mark.parametrize("fault", ["500", "reset"])
def test_transient_failures_are_retried(checkout, tmp_path, http_server, fast_network_env, fault):
    route = http_server.add("/add-1.0.tar.gz", GOOD, fault, "ok")
    set_sources(checkout, [{"url": f"{http_server.base}/add-1.0.tar.gz", "sha256": GOOD_SHA}])
    result = fetch(checkout, tmp_path / "cache", fast_network_env)
    assert result.returncode == 0, result.stderr
    assert route.hits == 2


def test_slow_server_times_out_and_the_next_source_is_used(checkout, tmp_path, http_server, fast_network_env):
    slow = http_server.add("/slow/add-1.0.tar.gz", GOOD, "slow")
    http_server.add("/fast/add-1.0.tar.gz", GOOD)
    set_sources(checkout, [
        {"url": f"{http_server.base}/slow/add-1.0.tar.gz", "sha256": GOOD_SHA},
        {"url": f"{http_server.base}/fast/add-1.0.tar.gz", "sha256": GOOD_SHA},
    ])
    started = time.monotonic()
    result = fetch(checkout, tmp_path / "cache", {**fast_network_env, "CWPKG_RETRIES": "2"})
    assert result.returncode == 0, result.stderr
    assert slow.hits == 2
    assert time.monotonic() - started < 30


def test_user_mirror_directory_is_tried_first(checkout, tmp_path, http_server, fast_network_env):
    route = http_server.add("/add-1.0.tar.gz", GOOD)
    set_sources(checkout, [{"url": f"{http_server.base}/add-1.0.tar.gz", "sha256": GOOD_SHA}])
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "add-1.0.tar.gz").write_bytes(GOOD)
    result = fetch(checkout, tmp_path / "cache", {**fast_network_env, "CWPKG_MIRRORS": str(mirror)})
    assert result.returncode == 0, result.stderr
    assert route.hits == 0


def test_user_mirror_url_with_a_bad_copy_falls_through(checkout, tmp_path, http_server, fast_network_env):
    http_server.add("/mirror/add-1.0.tar.gz", b"not the file")
    http_server.add("/upstream/add-1.0.tar.gz", GOOD)
    set_sources(checkout, [{"url": f"{http_server.base}/upstream/add-1.0.tar.gz", "sha256": GOOD_SHA}])
    env = {**fast_network_env, "CWPKG_MIRRORS": f"{http_server.base}/mirror"}
    result = fetch(checkout, tmp_path / "cache", env)
    assert result.returncode == 0, result.stderr
    assert cached_file(tmp_path / "cache").read_bytes() == GOOD


def test_debian_source_uses_the_configured_archive(checkout, tmp_path, http_server, fast_network_env):
    route = http_server.add("/debian/pool/main/a/add/add_1.0.orig.tar.gz", GOOD)
    set_sources(checkout, [{"debian": "pool/main/a/add/add_1.0.orig.tar.gz", "sha256": GOOD_SHA}])
    env = {**fast_network_env, "CWPKG_DEBIAN_MIRROR": f"{http_server.base}/debian"}
    result = fetch(checkout, tmp_path / "cache", env)
    assert result.returncode == 0, result.stderr
    assert route.hits == 1
    assert (tmp_path / "cache/sources" / GOOD_SHA / "add_1.0.orig.tar.gz").read_bytes() == GOOD
