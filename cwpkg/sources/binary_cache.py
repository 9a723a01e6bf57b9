"""A binary cache of built package archives, keyed by build identity (CWPKG_BINARY_CACHE).

Either a local directory or an HTTP(S) base URL: `<identity>.tar.gz` is the archive, `<identity>.json`
says what it is (name, version, archive sha256), and `index.json` lists the entries (kept up to date
by `cwpkg cache push`, since HTTP servers do not list directories). Downloads are GETs, publishing is
PUT, removal DELETE; CWPKG_BINARY_CACHE_TOKEN, when set, goes in an `Authorization: Bearer` header to
that server only. The index is changed with conditional PUTs (If-Match on its ETag) and read back,
so two publishers at once do not lose each other's entries.

What the cache is trusted with: nothing. An archive from it is only ever installed when its sha256
equals the one the lockfile records for that identity; the cache saves build time. And cwpkg only
touches what it can prove is its own: an entry is a `<64 hex digits>.json` description of the right
shape, and `cache gc` removes a directory entry only when its archive is missing or has the sha256
its description names. Other files in the directory are left alone.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cwpkg.errors import FetchError, UsageError
from cwpkg.fs import copy_atomically, file_sha256, json_text, write_text_atomically
from cwpkg.names import NAME_RE, SHA256_RE, is_http_url
from cwpkg.places import BINARY_CACHE_VARIABLE
from cwpkg.sources.download import Downloader, DownloadFailed, redact

if TYPE_CHECKING:
    import requests

TOKEN_VARIABLE = "CWPKG_BINARY_CACHE_TOKEN"
INDEX = "index.json"
INDEX_ATTEMPTS = 8  # conditional index updates that lost a race, before giving up
DESCRIPTION_KEYS = {"name", "version", "archive_sha256"}


def is_description(value: object) -> bool:
    """An entry's description as cwpkg writes it: {name, version, archive_sha256}."""
    return (isinstance(value, dict) and set(value) == DESCRIPTION_KEYS
            and all(isinstance(item, str) for item in value.values())
            and bool(NAME_RE.fullmatch(value["name"])) and bool(SHA256_RE.fullmatch(value["archive_sha256"])))


class BinaryCache:
    def __init__(self, location: str, downloader: Downloader) -> None:
        self.location = location.rstrip("/")
        self.remote = location.startswith(("http://", "https://"))
        self.downloader = downloader
        self._token = os.environ.get(TOKEN_VARIABLE)

    def describe(self) -> str:
        return redact(self.location)

    def _where(self, name: str) -> str:
        return f"{self.location}/{name}"

    def _fail(self, problem: str, hint: str | None = None) -> FetchError:
        return FetchError(redact(f"binary cache {self.location}: {problem}"),
                          hint=hint or f"check {BINARY_CACHE_VARIABLE} and the network")

    def fetch(self, identity: str, destination: Path, label: str) -> str | None:
        """Downloads the archive for `identity` into `destination`; else says why not (absent, or the
        cache could not be reached: the caller builds instead). A cache that refuses the token is an
        error: silently building everything would hide it. No partial file is left behind."""
        partial = destination.with_name(destination.name + ".part")
        partial.unlink(missing_ok=True)
        try:
            self.downloader.fetch(self._where(f"{identity}.tar.gz"), partial, label, headers=self._auth())
            os.replace(partial, destination)
            return None
        except DownloadFailed as problem:
            if problem.status in (401, 403):
                raise self._fail(f"GET {identity}.tar.gz was refused ({problem.status})",
                                 hint=f"set {TOKEN_VARIABLE} to a token the cache accepts") from None
            return "not in the binary cache" if problem.status == 404 else f"binary cache unavailable: {problem}"
        finally:
            partial.unlink(missing_ok=True)

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def entries(self) -> dict[str, dict[str, Any]]:
        """identity -> what the cache says of it; only entries of the right shape."""
        if not self.remote:
            directory = Path(self.location)
            if not directory.is_dir():
                return {}
            found = {}
            for path in sorted(directory.glob("*.json")):
                if SHA256_RE.fullmatch(path.stem):
                    try:
                        description = json.loads(path.read_text(encoding="utf-8"))
                    except (OSError, ValueError):
                        continue
                    if is_description(description):
                        found[path.stem] = description
            return found
        return self._read_index()[0]

    def _read_index(self) -> tuple[dict[str, dict[str, Any]], str | None, bool]:
        """The remote index, its ETag, and whether it exists."""
        response = self._request("GET", INDEX, allow_missing=True)
        if response is None:
            return {}, None, False
        try:
            index = response.json()
        except ValueError:
            index = None
        if not isinstance(index, dict) or not all(SHA256_RE.fullmatch(key) and is_description(value)
                                                  for key, value in index.items()):
            raise self._fail(f"{INDEX} is not a cwpkg binary cache index",
                             hint=f"point {BINARY_CACHE_VARIABLE} at a cwpkg binary cache, or remove its "
                                  f"{INDEX} and push the packages again")
        return index, response.headers.get("ETag"), True

    def publish(self, identity: str, archive: Path, description: dict[str, Any]) -> None:
        text = json_text(description)
        if not self.remote:
            directory = Path(self.location)
            directory.mkdir(parents=True, exist_ok=True)
            copy_atomically(archive, directory / f"{identity}.tar.gz")
            write_text_atomically(directory / f"{identity}.json", text)  # written last: the entry exists
            return
        with open(archive, "rb") as body:
            self._request("PUT", f"{identity}.tar.gz", data=body)
        self._request("PUT", f"{identity}.json", data=text.encode())
        self._update_index({identity: description}, set())

    def remove(self, identities: list[str]) -> list[str]:
        """Removes the entries among `identities` that are provably the cache's own; returns them."""
        current = self.entries()
        removable = [identity for identity in identities if identity in current]
        if not self.remote:
            directory = Path(self.location)
            removed = []
            for identity in removable:
                archive = directory / f"{identity}.tar.gz"
                if archive.is_file() and file_sha256(archive) != current[identity]["archive_sha256"]:
                    continue  # not the archive its description names: not provably ours
                archive.unlink(missing_ok=True)
                (directory / f"{identity}.json").unlink(missing_ok=True)
                removed.append(identity)
            return removed
        for identity in removable:
            for suffix in (".json", ".tar.gz"):
                self._request("DELETE", f"{identity}{suffix}", allow_missing=True)
        self._update_index({}, set(removable))
        return removable

    def _update_index(self, added: dict[str, dict[str, Any]], removed: set[str]) -> None:
        """Read, change, conditional PUT, read back; again when another writer came in between."""
        for attempt in range(INDEX_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0.05, 0.2) * attempt)
            index, etag, exists = self._read_index()
            index = {key: value for key, value in {**index, **added}.items() if key not in removed}
            condition = {"If-Match": etag} if etag else ({} if exists else {"If-None-Match": "*"})
            response = self._request("PUT", INDEX, data=json_text(index).encode(), headers=condition,
                                     allow_conflict=True)
            if response is None:
                continue  # 412: someone else changed it first
            after = self._read_index()[0]
            if all(after.get(key) == value for key, value in added.items()) and not removed & set(after):
                return
        raise self._fail(f"{INDEX} kept changing under concurrent updates ({INDEX_ATTEMPTS} attempts)",
                         hint="run the command again")

    def _request(self, method: str, name: str, allow_missing: bool = False, allow_conflict: bool = False,
                 headers: dict[str, str] | None = None, **arguments) -> requests.Response | None:
        import requests

        try:
            response = self.downloader.session.request(method, self._where(name), timeout=self.downloader.timeout,
                                                       headers={**self._auth(), **(headers or {})}, **arguments)
        except requests.RequestException as error:
            raise self._fail(f"{method} {name} failed: {type(error).__name__}") from None
        if allow_missing and response.status_code == 404:
            return None
        if allow_conflict and response.status_code == 412:
            return None
        if response.status_code in (401, 403):
            raise self._fail(f"{method} {name} was refused ({response.status_code})",
                             hint=f"set {TOKEN_VARIABLE} to a token the cache accepts")
        if response.status_code >= 400:
            raise self._fail(f"{method} {name} failed ({response.status_code})")
        return response


def binary_cache_from_environment(downloader: Downloader) -> BinaryCache | None:
    """The cache CWPKG_BINARY_CACHE names: an http(s) URL, or a directory given by its absolute path."""
    location = os.environ.get(BINARY_CACHE_VARIABLE, "").strip()
    if not location:
        return None
    scheme, separator, rest = location.partition("://")
    if separator and scheme.lower() in ("http", "https"):
        location = f"{scheme.lower()}://{rest}"
        if not is_http_url(location):
            raise UsageError(f"{BINARY_CACHE_VARIABLE}={redact(location)!r} is not a valid URL")
    elif separator or not location.startswith("/"):
        raise UsageError(f"{BINARY_CACHE_VARIABLE}={redact(location)!r} is neither an http(s) URL nor an absolute "
                         "directory path", hint="e.g. https://cache.example.org/cwpkg or /srv/cwpkg-cache")
    elif Path(location).exists() and not Path(location).is_dir():
        raise UsageError(f"{BINARY_CACHE_VARIABLE}={location!r} is not a directory")
    return BinaryCache(location, downloader)


def verified_archive(cache: BinaryCache, identity: str, expected_sha256: str, destination: Path,
                     label: str) -> str | None:
    """Fetches `identity`'s archive if the cache has it; returns None when it is there and verified,
    else what went wrong (absent, or a sha256 that differs from the lock's: the file is deleted)."""
    problem = cache.fetch(identity, destination, label)
    if problem is not None:
        return problem
    actual = file_sha256(destination)
    if actual != expected_sha256:
        destination.unlink()
        return f"refused the binary cache's archive: sha256 {actual}, the lock says {expected_sha256}"
    return None
