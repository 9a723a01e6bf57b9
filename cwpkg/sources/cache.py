"""The content-addressed source cache: a file enters it only once its sha256 is verified."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from cwpkg.errors import FetchError
from cwpkg.fs import atomic_output, file_sha256, unpack
from cwpkg.places import remove_empty_directories, topmost_missing
from cwpkg.recipes import Source
from cwpkg.sources.debian_mirror import archive_bases
from cwpkg.sources.download import Downloader, DownloadFailed, redact


class Fetchable(Protocol):
    """What the cache needs of a recipe: a library recipe or a toolchain recipe."""

    name: str
    version: str
    sources: tuple[Source, ...]
    path: Path


def user_mirrors() -> list[str]:
    """CWPKG_MIRRORS: base URLs or local directories holding source files by name (space or comma separated)."""
    value = os.environ.get("CWPKG_MIRRORS", "")
    return [item for item in value.replace(",", " ").split() if item]


class SourceCache:
    """Files live at `sources/<sha256>/<filename>`; partial downloads at `partial/<sha256>`.

    A partial file survives a broken transfer so that the next attempt (or the next location of the
    same file) continues it; a command that fetches nothing removes it, and a file whose checksum
    does not match is deleted and never enters the cache.
    """

    def __init__(self, root: Path, downloader: Downloader) -> None:
        self.root = root
        self.downloader = downloader
        self.added: list[Path] = []  # the sources/<sha256> directories this process created
        self.created: Path | None = None  # the highest directory this process made to have a root

    def forget_added(self) -> None:
        """Removes what this process added, so that a failed command leaves the cache as it was; the
        cache directory itself only if this process created it and nothing else is in it."""
        if not self.root.is_dir() or not (self.added or self.created):
            return
        with self._locked():
            for directory in reversed(self.added):
                shutil.rmtree(directory, ignore_errors=True)
                if directory.parent.is_dir() and not any(directory.parent.iterdir()):
                    directory.parent.rmdir()  # sources/, when nothing else is in it
            self.added.clear()

    def entry(self, source: Source) -> Path:
        """Where `source`'s verified file lives in the cache."""
        return self.root / "sources" / source.sha256 / source.filename

    def cached(self, source: Source) -> Path | None:
        path = self.entry(source)
        return path if path.is_file() else None

    def locations(self, recipe: Fetchable) -> list[tuple[Source, str]]:
        """Every place to try, in order: user mirrors (by each alternative's file name), then the
        recipe's alternatives, Debian entries expanded over the configured archive bases."""
        names = list(dict.fromkeys(source.filename for source in recipe.sources))
        tries: list[tuple[Source, str]] = []
        for mirror in user_mirrors():
            for name in names:
                source = next(s for s in recipe.sources if s.filename == name)
                tries.append((source, f"{mirror.rstrip('/')}/{name}"))
        for source in recipe.sources:
            if source.local is not None:
                continue  # packed, not downloaded (see _pack_local)
            if source.url is not None:
                tries.append((source, source.url))
            else:
                for base in archive_bases():
                    tries.append((source, f"{base}/{source.debian}"))
        return tries

    def fetch(self, recipe: Fetchable) -> tuple[Source, Path]:
        """A verified source archive for `recipe`, downloading it if it is not cached yet."""
        for source in recipe.sources:
            path = self.cached(source)
            if path is not None:
                return source, path
        with self._locked():
            return self._fetch_locked(recipe)

    def _fetch_locked(self, recipe: Fetchable) -> tuple[Source, Path]:
        for source in recipe.sources:  # another process may have fetched it while we waited
            path = self.cached(source)
            if path is not None:
                return source, path
        local = [source for source in recipe.sources if source.local is not None]
        if local:
            return local[0], self._pack_local(local[0], recipe)
        failures: list[str] = []
        tries = self.locations(recipe)
        if not tries:
            raise FetchError(f"{recipe.path}: no location to download {recipe.name} from",
                             hint="set CWPKG_DEBIAN_MIRROR or CWPKG_MIRRORS")
        try:
            for source, location in tries:
                try:
                    return source, self._download(source, location, recipe.name)
                except DownloadFailed as problem:
                    failures.append(f"{redact(location)}: {problem}")
        except BaseException:
            self._discard_partials(recipe)
            raise
        self._discard_partials(recipe)
        raise FetchError(
            f"could not fetch the source of {recipe.name} {recipe.version} ({recipe.path}); tried:\n    "
            + "\n    ".join(failures),
            hint="check the network, or put the file in a directory named by CWPKG_MIRRORS",
        )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serializes downloads between processes. The lock is on the cache directory itself, so no
        lock file is left behind; a cache directory this process created is removed again, under the
        lock, while nothing is in it. A process that waited on a directory removed meanwhile locks
        the new one."""
        while True:
            if not self.root.exists():
                self.created = self.created or topmost_missing(self.root)
                self.root.mkdir(parents=True, exist_ok=True)
            handle = os.open(self.root, os.O_RDONLY)
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                if os.stat(self.root).st_ino == os.fstat(handle).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(handle)
        try:
            yield
        finally:
            if self.created is not None and self.root.is_dir() and not any(self.root.iterdir()):
                remove_empty_directories(self.root, self.created)
            os.close(handle)

    def _discard_partials(self, recipe: Fetchable) -> None:
        """A command that could not fetch leaves the cache as it found it: no partial download stays."""
        partial_dir = self.root / "partial"
        for source in recipe.sources:
            (partial_dir / source.sha256).unlink(missing_ok=True)
        if partial_dir.is_dir() and not any(partial_dir.iterdir()):
            partial_dir.rmdir()

    def _pack_local(self, source: Source, recipe: Fetchable) -> Path:
        """A local source directory's archive, entering the cache as a download would: only if its
        sha256 is still the one the recipe was loaded with."""
        data = source.local_archive()
        actual = hashlib.sha256(data).hexdigest()
        if actual != source.sha256:
            raise FetchError(f"{recipe.path}: {source.local} changed while cwpkg was running "
                             f"(sha256 {actual}, loaded as {source.sha256})", hint="run the command again")
        final = self.entry(source)
        new_directory = not final.parent.exists()
        final.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(final) as raw:
            raw.write(data)
        if new_directory:
            self.added.append(final.parent)
        return final

    def _download(self, source: Source, location: str, label: str) -> Path:
        partial_dir = self.root / "partial"
        final = self.entry(source)
        new_directory = not final.parent.exists()
        partial_dir.mkdir(parents=True, exist_ok=True)
        partial = partial_dir / source.sha256
        try:
            self.downloader.fetch(location, partial, label)
            actual = file_sha256(partial)
            if actual != source.sha256:
                partial.unlink()
                raise DownloadFailed(f"sha256 mismatch: expected {source.sha256}, got {actual}")
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, final)
            if new_directory:
                self.added.append(final.parent)
            return final
        finally:
            if partial.exists() and partial.stat().st_size == 0:
                partial.unlink()
            if partial_dir.is_dir() and not any(partial_dir.iterdir()):
                partial_dir.rmdir()


def fetch_unpacked(cache: SourceCache, item: Fetchable, target: Path, say) -> Path:
    """`item`'s archive, downloaded and verified, unpacked (once, atomically) into `target`."""
    if target.is_dir():
        return target
    _, archive = cache.fetch(item)
    say(f"unpacking {archive.name} into {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    unpack(archive, target, strip_top=True)
    return target
