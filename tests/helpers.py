"""What tests share: the cwpkg command run as a user runs it, a real local HTTP server with scripted faults,
tree snapshots and tarballs. Importable by any test module (pytest's importlib mode, tests/ on the path)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_cwpkg(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
              timeout: float = 1800) -> subprocess.CompletedProcess:
    """Runs the real command line in a child process, as a user would."""
    full_env = {key: value for key, value in os.environ.items() if not key.startswith("CWPKG_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "cwpkg", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or REPO, timeout=timeout)


def sysroot_without(full_sysroot: dict[str, str], directory: Path, *packages: str) -> dict[str, str]:
    """The environment of a copy of the shared full sysroot, in `directory`, with `packages`
    uninstalled: for a test whose command must install them (the shared one stays as it is)."""
    sysroot = directory / "sysroot"
    shutil.copytree(full_sysroot["CWPKG_SYSROOT"], sysroot, symlinks=True)
    env = {**full_sysroot, "CWPKG_SYSROOT": str(sysroot)}
    uninstalled = run_cwpkg("uninstall", *packages, env=env)
    assert uninstalled.returncode == 0, uninstalled.stderr
    return env


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry below `root` with its kind, content hash and mode: equal snapshots, equal trees."""
    if not root.exists():
        return {}
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[relative] = ("link", os.readlink(path))
        elif path.is_dir():
            found[relative] = ("dir", path.stat().st_mode)
        else:
            found[relative] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mode)
    return found


def make_tarball(files: dict[str, bytes], top: str = "pkg-1.0", mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(content)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            info.mtime = 1_600_000_000
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@dataclass
class Route:
    """What the server does for one path. Each request pops the next behaviour; the last one repeats."""

    body: bytes = b""
    behaviours: list[str] = field(default_factory=lambda: ["ok"])
    hits: int = 0
    ranges: list[str] = field(default_factory=list)


class ScriptedServer:
    """A real HTTP server on 127.0.0.1 whose routes answer normally or with a scripted fault:
    ok, 404, 500, truncate (half the body, then close), slow (sleeps past the client's timeout),
    reset (closes the connection without answering), wrong-length (announces more than it sends),
    redirect:LOCATION (a 302 there), claims-gzip (says its body has a gzip Content-Encoding), trickle
    (one byte every half second)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                behaviour = route.behaviours[min(route.hits, len(route.behaviours) - 1)]
                route.hits += 1
                route.ranges.append(self.headers.get("Range", ""))
                body, status, start = route.body, 200, 0
                requested = self.headers.get("Range", "")
                if requested.startswith("bytes=") and behaviour in ("ok", "truncate"):
                    start = int(requested[6:].split("-")[0])
                    body, status = route.body[start:], 206
                if behaviour in ("404", "500"):
                    self.send_error(int(behaviour))
                    return
                if behaviour == "reset":
                    self.connection.close()
                    return
                if behaviour.startswith("redirect:"):
                    self.send_response(302)
                    self.send_header("Location", behaviour.split(":", 1)[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if behaviour == "slow":
                    time.sleep(3)
                self.send_response(status)
                announced = len(body) + (1000 if behaviour == "wrong-length" else 0)
                self.send_header("Content-Length", str(announced))
                if behaviour == "claims-gzip":
                    self.send_header("Content-Encoding", "gzip")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(route.body) - 1}/{len(route.body)}")
                self.end_headers()
                if behaviour == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.close()
                    return
                if behaviour == "trickle":
                    for index in range(len(body)):
                        time.sleep(0.5)
                        try:
                            self.wfile.write(body[index:index + 1])
                            self.wfile.flush()
                        except OSError:  # the client gave up
                            return
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path: str, body: bytes, *behaviours: str) -> Route:
        route = Route(body=body, behaviours=list(behaviours) or ["ok"])
        self.routes[path] = route
        return route

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
