"""A binary cache of built package archives, keyed by build identity (CWPKG_BINARY_CACHE).

Either a local directory or an HTTP(S) base URL: `<identity>.tar.gz` is the archive, `<identity>.json`
says what it is (name, version, archive sha256), and `index.json` lists the entries (kept up to date
by `cwpkg cache push`, since HTTP servers do not list directories). Downloads are GETs, publishing is
PUT, removal DELETE; CWPKG_BINARY_CACHE_TOKEN, when set, goes in an `Authorization: Bearer` header.

An archive from the cache is only ever installed when its sha256 equals the one the lockfile records
for that identity: the cache saves build time, it is never trusted for content.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cwpkg.atomic import write_text_atomically
from cwpkg.digest import file_sha256
from cwpkg.download import Downloader, DownloadFailed
from cwpkg.errors import FetchError
from cwpkg.layout import BINARY_CACHE_VARIABLE

if TYPE_CHECKING:
    import requests

TOKEN_VARIABLE = "CWPKG_BINARY_CACHE_TOKEN"
INDEX = "index.json"


class BinaryCache:
    def __init__(self, location: str, downloader: Downloader) -> None:
        self.location = location.rstrip("/")
        self.remote = location.startswith(("http://", "https://"))
        self.downloader = downloader
        token = os.environ.get(TOKEN_VARIABLE)
        if token:
            downloader.session.headers["Authorization"] = f"Bearer {token}"
        self.session = downloader.session

    def describe(self) -> str:
        return self.location

    def _where(self, name: str) -> str:
        return f"{self.location}/{name}"

    def fetch(self, identity: str, destination: Path, label: str) -> bool:
        """Downloads the archive for `identity` into `destination`; False when the cache has none."""
        partial = destination.with_name(destination.name + ".part")
        partial.unlink(missing_ok=True)
        try:
            self.downloader.fetch(self._where(f"{identity}.tar.gz"), partial, label)
        except DownloadFailed:
            partial.unlink(missing_ok=True)
            return False
        os.replace(partial, destination)
        return True

    def entries(self) -> dict[str, dict[str, Any]]:
        """identity -> what the cache says of it."""
        if not self.remote:
            directory = Path(self.location)
            return {path.stem: json.loads(path.read_text(encoding="utf-8"))
                    for path in sorted(directory.glob("*.json")) if path.name != INDEX} if directory.is_dir() else {}
        response = self._request("GET", INDEX, allow_missing=True)
        return {} if response is None else response.json()

    def publish(self, identity: str, archive: Path, description: dict[str, Any]) -> None:
        text = json.dumps(description, indent=2, sort_keys=True) + "\n"
        if not self.remote:
            directory = Path(self.location)
            directory.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(archive, directory / f"{identity}.tar.gz.tmp")
            os.replace(directory / f"{identity}.tar.gz.tmp", directory / f"{identity}.tar.gz")
            write_text_atomically(directory / f"{identity}.json", text)  # written last: the entry exists
            return
        with open(archive, "rb") as body:
            self._request("PUT", f"{identity}.tar.gz", data=body)
        self._request("PUT", f"{identity}.json", data=text.encode())
        index = self.entries()
        index[identity] = description
        self._request("PUT", INDEX, data=(json.dumps(index, indent=2, sort_keys=True) + "\n").encode())

    def remove(self, identities: list[str]) -> None:
        if not self.remote:
            for identity in identities:
                for suffix in (".json", ".tar.gz"):
                    (Path(self.location) / f"{identity}{suffix}").unlink(missing_ok=True)
            return
        index = self.entries()
        for identity in identities:
            for suffix in (".json", ".tar.gz"):
                self._request("DELETE", f"{identity}{suffix}", allow_missing=True)
            index.pop(identity, None)
        self._request("PUT", INDEX, data=(json.dumps(index, indent=2, sort_keys=True) + "\n").encode())

    def _request(self, method: str, name: str, allow_missing: bool = False, **arguments) -> requests.Response | None:
        import requests

        url = self._where(name)
        try:
            response = self.session.request(method, url, timeout=self.downloader.timeout, **arguments)
        except requests.RequestException as error:
            raise FetchError(f"binary cache {self.location}: {method} {name} failed: {error}",
                             hint=f"check {BINARY_CACHE_VARIABLE} and the network") from None
        if allow_missing and response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise FetchError(f"binary cache {self.location}: {method} {name} was refused ({response.status_code})",
                             hint=f"set {TOKEN_VARIABLE} to a token the cache accepts")
        if response.status_code >= 400:
            raise FetchError(f"binary cache {self.location}: {method} {name} failed ({response.status_code})")
        return response


def binary_cache_from_environment(downloader: Downloader) -> BinaryCache | None:
    location = os.environ.get(BINARY_CACHE_VARIABLE)
    return BinaryCache(location, downloader) if location else None


def verified_archive(cache: BinaryCache, identity: str, expected_sha256: str, destination: Path,
                     label: str) -> str | None:
    """Fetches `identity`'s archive if the cache has it; returns None when it is there and verified,
    else what went wrong (absent, or a sha256 that differs from the lock's: the file is deleted)."""
    if not cache.fetch(identity, destination, label):
        return "not in the binary cache"
    actual = file_sha256(destination)
    if actual != expected_sha256:
        destination.unlink()
        return f"refused the binary cache's archive: sha256 {actual}, the lock says {expected_sha256}"
    return None
