"""Where cwpkg finds its recipes and keeps its caches and scratch space, and which paths a build can use."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cwpkg.errors import UsageError

BINARY_CACHE_VARIABLE = "CWPKG_BINARY_CACHE"  # a directory or an http(s) URL (see sources/binary_cache.py)



def find_recipe_root(explicit: str | None = None) -> Path:
    """The directory holding recipes/ and patches/.

    In order: --recipes, CWPKG_RECIPES, the checkout this package was installed from, and the current
    directory or one of its parents.
    """
    chosen = explicit or os.environ.get("CWPKG_RECIPES")
    if chosen:
        root = Path(chosen).expanduser().resolve()
        if root.name == "recipes" and not (root / "recipes").is_dir():
            root = root.parent
        if not (root / "recipes").is_dir():
            raise UsageError(f"{root}: no recipes/ directory here", hint="point --recipes at a cwpkg checkout")
        return root
    candidates = [Path(__file__).resolve().parent.parent, *Path.cwd().resolve().parents]
    candidates.insert(1, Path.cwd().resolve())
    for candidate in candidates:
        if (candidate / "recipes").is_dir() and (candidate / "patches").is_dir():
            return candidate
    raise UsageError("no recipes/ directory found", hint="run cwpkg inside a cwpkg checkout or set CWPKG_RECIPES")


def cache_dir() -> Path:
    """The download and build cache: CWPKG_CACHE, else $XDG_CACHE_HOME/cwpkg, else ~/.cache/cwpkg."""
    chosen = os.environ.get("CWPKG_CACHE")
    if chosen:
        return Path(chosen).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base) / "cwpkg").resolve()


def topmost_missing(path: Path) -> Path | None:
    """The highest of `path` and its parents that does not exist: what creating `path` creates."""
    missing = None
    while not path.exists():
        missing, path = path, path.parent
    return missing


def remove_empty_directories(directory: Path, top: Path) -> None:
    """Removes `directory` and its parents up to `top` while they are empty (and exist)."""
    while True:
        try:
            directory.rmdir()
        except OSError:
            return  # not empty (another run's files), or gone
        if directory == top or top not in directory.parents:
            return
        directory = directory.parent


class ScratchDirectory:
    """A new private directory in the cache's `tmp/`: cwpkg writes nowhere but the sysroot and the
    cache, so builds, bundles and checks work there. `remove()` takes it away again, with the
    directories its creation made, as far as nothing else is in them."""

    def __init__(self, purpose: str) -> None:
        while True:
            parent = cache_dir() / "tmp"
            self.top = topmost_missing(parent) or parent
            parent.mkdir(parents=True, exist_ok=True)
            try:
                self.path = Path(tempfile.mkdtemp(prefix=f"{purpose}-", dir=parent))
                return
            except FileNotFoundError:  # another run removed the empty tmp/ in between
                continue

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        remove_empty_directories(self.path.parent, self.top)


@contextmanager
def scratch_directory(purpose: str) -> Iterator[Path]:
    scratch = ScratchDirectory(purpose)
    try:
        yield scratch.path
    finally:
        scratch.remove()


# Characters that configure scripts and makefiles split or expand: a path holding one cannot be a
# build's directory (CC="clang --sysroot=PATH" is word-split by every autotools build).
_UNSAFE_IN_BUILDS = set(" \t\n\"'$`\\;&|<>*?()[]{}#~")


def check_build_path(path: Path, what: str, hint: str) -> None:
    unsafe = sorted(set(str(path)) & _UNSAFE_IN_BUILDS)
    if unsafe:
        raise UsageError(f"{what} {path} holds {' '.join(repr(c) for c in unsafe)}, which autotools and make "
                         "builds cannot handle in a path", hint=hint)
