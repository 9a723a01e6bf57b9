"""The binary cache: a real HTTP store (GET, PUT, DELETE, bearer token) and a local directory, with
tiny real packages; archives are taken only when the lock vouches for their sha256."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import run_cwpkg
from tiny import env_for, write_repo

TOKEN = "s3cret-token"


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


class StoreServer:
    """An HTTP server that stores what is PUT, serves it back with an ETag, deletes it, wants a bearer
    token for changes (and for reading, when `private`), and honours If-Match / If-None-Match."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.private = False
        self.index_delay = 0.0
        self.conflicts = 0
        store = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {TOKEN}":
                    return True
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return False

            def do_GET(self) -> None:
                store.requests.append(("GET", self.path))
                if store.private and not self._authorized():
                    return
                with store.lock:
                    body = store.files.get(self.path)
                if self.path.endswith("/index.json"):
                    time.sleep(store.index_delay)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", _etag(body))
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self) -> None:
                store.requests.append(("PUT", self.path))
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if not self._authorized():
                    return
                with store.lock:
                    current = store.files.get(self.path)
                    wanted, absent = self.headers.get("If-Match"), self.headers.get("If-None-Match") == "*"
                    if (wanted is not None and (current is None or _etag(current) != wanted)) \
                            or (absent and current is not None):
                        store.conflicts += 1
                        self.send_response(412)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    store.files[self.path] = body
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_DELETE(self) -> None:
                store.requests.append(("DELETE", self.path))
                if self._authorized():
                    found = store.files.pop(self.path, None) is not None
                    self.send_response(204 if found else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/cache"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def store():
    server = StoreServer()
    yield server
    server.close()


@pytest.fixture
def builder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A checkout that builds and locks the tiny packages, as the team's CI would."""
    root = tmp_path / "checkout"
    mirror = write_repo(root)
    env = env_for(root, mirror, tmp_path / "cache")
    assert run_cwpkg("lock", "--all", env=env).returncode == 0
    return root, env


def _elsewhere(env: dict[str, str], tmp_path: Path, **extra: str) -> dict[str, str]:
    """Another machine: empty sysroot and source cache, and no way to download sources."""
    (tmp_path / "no-mirror").mkdir(parents=True, exist_ok=True)
    return {**env, "CWPKG_SYSROOT": str(tmp_path / "elsewhere"), "CWPKG_CACHE": str(tmp_path / "cache2"),
            "CWPKG_MIRRORS": str(tmp_path / "no-mirror"), "CWPKG_RETRIES": "1", "CWPKG_TIMEOUT": "2", **extra}


def test_locked_install_restores_from_the_http_cache_without_building(builder, store, tmp_path):
    root, env = builder
    pushed = run_cwpkg("cache", "push", env={**env, "CWPKG_BINARY_CACHE": store.base,
                                              "CWPKG_BINARY_CACHE_TOKEN": TOKEN})
    assert pushed.returncode == 0, pushed.stderr
    assert "pushed add 1.0" in pushed.stdout and "pushed twice 1.0" in pushed.stdout
    other = _elsewhere(env, tmp_path, CWPKG_BINARY_CACHE=store.base)
    listed = run_cwpkg("cache", "list", env=other)
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["add", "twice"]
    result = run_cwpkg("install", "--locked", env=other)
    assert result.returncode == 0, result.stderr
    assert "built: -; installed: add, twice; from the binary cache: add, twice" in result.stdout
    assert not (tmp_path / "cache2" / "sources").exists(), "no source was fetched"
    assert run_cwpkg("verify", env=other).returncode == 0


def test_a_tampered_cached_archive_is_refused_and_the_package_built(builder, store, tmp_path):
    root, env = builder
    assert run_cwpkg("cache", "push", env={**env, "CWPKG_BINARY_CACHE": store.base,
                                            "CWPKG_BINARY_CACHE_TOKEN": TOKEN}).returncode == 0
    archive = next(path for path in store.files if path.endswith(".tar.gz") and
                   store.files[path.replace(".tar.gz", ".json")].count(b'"add"'))
    store.files[archive] = store.files[archive][:-1] + bytes([store.files[archive][-1] ^ 1])
    other = {**_elsewhere(env, tmp_path, CWPKG_BINARY_CACHE=store.base), "CWPKG_MIRRORS": env["CWPKG_MIRRORS"]}
    result = run_cwpkg("install", "--locked", env=other)
    assert result.returncode == 0, result.stderr
    assert "add: refused the binary cache's archive: sha256" in result.stderr and "it will be built" in result.stderr
    assert "built: add; installed: twice, add; from the binary cache: twice" in result.stdout
    assert run_cwpkg("verify", env=other).returncode == 0
    sysroot = Path(other["CWPKG_SYSROOT"])
    assert not (sysroot / ".cwpkg" / "downloads").exists() and not list(sysroot.rglob("*.part"))
    # What a download killed on the way leaves is cleared by the next run that takes the lock.
    (sysroot / ".cwpkg" / "downloads").mkdir()
    (sysroot / ".cwpkg" / "downloads" / "add.tar.gz.part").write_bytes(b"half")
    assert run_cwpkg("verify", env=other).returncode == 0
    assert not (sysroot / ".cwpkg" / "downloads").exists()
    pulled = run_cwpkg("cache", "pull", env={**_elsewhere(env, tmp_path / "third", CWPKG_BINARY_CACHE=store.base)})
    assert pulled.returncode == 4 and "not in the binary cache (or refused): add" in pulled.stderr


def test_publishing_needs_the_token(builder, store):
    root, env = builder
    result = run_cwpkg("cache", "push", env={**env, "CWPKG_BINARY_CACHE": store.base})
    assert result.returncode == 4
    assert "was refused (401)" in result.stderr and "CWPKG_BINARY_CACHE_TOKEN" in result.stderr
    assert not store.files


def test_directory_cache_push_list_gc_and_pull(builder, tmp_path):
    root, env = builder
    directory = tmp_path / "binary-cache"
    cached = {**env, "CWPKG_BINARY_CACHE": str(directory)}
    assert run_cwpkg("cache", "push", env=cached).returncode == 0
    old_sha = hashlib.sha256(b"old").hexdigest()
    (directory / ("0" * 64 + ".json")).write_text(f'{{"name": "old", "version": "0.9", "archive_sha256": "{old_sha}"}}\n')
    (directory / ("0" * 64 + ".tar.gz")).write_bytes(b"old")
    assert "old" in run_cwpkg("cache", "list", env=cached).stdout
    collected = run_cwpkg("cache", "gc", env=cached)
    assert collected.returncode == 0 and "removed 1 entries" in collected.stdout
    assert sorted(path.suffix for path in directory.iterdir()) == [".gz", ".gz", ".json", ".json"]
    pulled = run_cwpkg("cache", "pull", env=_elsewhere(cached, tmp_path))
    assert pulled.returncode == 0, pulled.stderr
    assert "from the binary cache: add, twice" in pulled.stdout


def test_cache_commands_need_a_cache(builder):
    root, env = builder
    result = run_cwpkg("cache", "list", env=env)
    assert result.returncode == 2 and "set CWPKG_BINARY_CACHE" in result.stderr


def test_gc_touches_only_what_is_provably_the_caches_own(builder, tmp_path):
    """A shared directory: unrelated *.json and *.tar.gz files, a description of the wrong shape, and
    an entry whose archive is not the one its description names all stay; a real stale entry goes."""
    root, env = builder
    directory = tmp_path / "shared"
    cached = {**env, "CWPKG_BINARY_CACHE": str(directory)}
    assert run_cwpkg("cache", "push", env=cached).returncode == 0
    bystanders = {
        "package.json": b'{"name": "web-app", "version": "1.0.0"}\n',
        "release.tar.gz": b"someone's release",
        ("1" * 64) + ".json": b'{"name": "x", "version": "1", "archive_sha256": "not a checksum"}\n',
        ("2" * 64) + ".json": f'{{"name": "y", "version": "1", "archive_sha256": "{"3" * 64}"}}\n'.encode(),
        ("2" * 64) + ".tar.gz": b"bytes whose sha256 is not 333...",
    }
    for name, content in bystanders.items():
        (directory / name).write_bytes(content)
    stale_sha = hashlib.sha256(b"stale").hexdigest()
    (directory / ("4" * 64 + ".json")).write_text(f'{{"name": "z", "version": "1", "archive_sha256": "{stale_sha}"}}\n')
    (directory / ("4" * 64 + ".tar.gz")).write_bytes(b"stale")
    collected = run_cwpkg("cache", "gc", env=cached)
    assert collected.returncode == 0, collected.stderr
    assert "removed 1 entries" in collected.stdout
    for name, content in bystanders.items():
        assert (directory / name).read_bytes() == content, name
    assert not (directory / ("4" * 64 + ".json")).exists() and not (directory / ("4" * 64 + ".tar.gz")).exists()


def test_a_refused_token_on_download_is_an_error_not_a_silent_build(builder, store, tmp_path):
    """A cache that answers 401 to the archive's GET refuses the token: building everything quietly
    instead would hide it."""
    root, env = builder
    assert run_cwpkg("cache", "push", env={**env, "CWPKG_BINARY_CACHE": store.base,
                                            "CWPKG_BINARY_CACHE_TOKEN": TOKEN}).returncode == 0
    store.private = True
    other = {**_elsewhere(env, tmp_path, CWPKG_BINARY_CACHE=store.base), "CWPKG_BINARY_CACHE_TOKEN": "wrong"}
    result = run_cwpkg("install", "--locked", env=other)
    assert result.returncode == 4 and "was refused (401)" in result.stderr, result.stderr
    assert "wrong" not in result.stderr


@pytest.mark.parametrize("location, message", [
    ("HTTP://127.0.0.1:1/cache", None),
    ("ftp://127.0.0.1/cache", "neither an http(s) URL nor an absolute directory"),
    ("relative/dir", "neither an http(s) URL nor an absolute directory"),
    ("http://", "is not a valid URL"),
])
def test_binary_cache_locations_are_urls_or_absolute_directories(builder, tmp_path, location, message):
    root, env = builder
    result = run_cwpkg("cache", "list", env={**env, "CWPKG_BINARY_CACHE": location}, cwd=tmp_path)
    if message is None:  # an upper-case scheme is still http: a network error, not a directory "HTTP:"
        assert result.returncode == 4 and "binary cache http://127.0.0.1:1/cache" in result.stderr
    else:
        assert result.returncode == 2 and message in result.stderr, result.stderr
    assert sorted(os.listdir(tmp_path)) == sorted([root.name, "cache"]), "nothing made in the current directory"


def test_concurrent_pushes_keep_every_entry_of_the_http_index(builder, store, tmp_path):
    """Two pushes at once, each reading the index before the other wrote it: the conditional PUT
    (If-Match / If-None-Match) makes the later one read again and add its entry to the other's."""
    root, env = builder
    store.index_delay = 0.5  # widen the window between reading and writing the index
    pushes = [subprocess.Popen([sys.executable, "-m", "cwpkg", "cache", "push", name],
                               env={**{k: v for k, v in os.environ.items() if not k.startswith("CWPKG_")}, **env,
                                    "CWPKG_BINARY_CACHE": store.base, "CWPKG_BINARY_CACHE_TOKEN": TOKEN},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("add", "twice")]
    outputs = [push.communicate(timeout=120) for push in pushes]
    assert [push.returncode for push in pushes] == [0, 0], outputs
    index = json.loads(store.files["/cache/index.json"])
    assert sorted(entry["name"] for entry in index.values()) == ["add", "twice"]
    assert store.conflicts >= 1, "the race happened and the conditional PUT caught it"
