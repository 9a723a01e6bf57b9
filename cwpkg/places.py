"""Where cwpkg finds its recipes and keeps its caches and sysroot."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cwpkg.errors import SysrootError, UsageError

# Directories that hold a system, or a user's home, and never become a sysroot: cwpkg would install
# include/ and lib/ into them, and a failed first install removes a sysroot it created.
SYSTEM_DIRECTORIES = ("/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32",
                      "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp",
                      "/usr", "/usr/bin", "/usr/include", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec",
                      "/usr/local", "/usr/local/bin", "/usr/local/include", "/usr/local/lib", "/usr/sbin",
                      "/usr/share", "/usr/src", "/var", "/var/lib", "/var/tmp")

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


def sysroot_libdir(sysroot: Path) -> Path:
    """Where a sysroot keeps its wasm32-wasi libraries (wasi-sdk's layout)."""
    return sysroot / "lib" / "wasm32-wasi"


def pkg_config_environment(sysroot: Path) -> dict[str, str]:
    """pkg-config sees only the sysroot's .pc files (relocatable: their prefix is ${pcfiledir}/../..)."""
    return {"PKG_CONFIG_LIBDIR": str(sysroot / "lib" / "pkgconfig"), "PKG_CONFIG_PATH": ""}


# Characters that configure scripts and makefiles split or expand: a path holding one cannot be a
# build's directory (CC="clang --sysroot=PATH" is word-split by every autotools build).
_UNSAFE_IN_BUILDS = set(" \t\n\"'$`\\;&|<>*?()[]{}#~")


def check_build_path(path: Path, what: str, hint: str) -> None:
    unsafe = sorted(set(str(path)) & _UNSAFE_IN_BUILDS)
    if unsafe:
        raise UsageError(f"{what} {path} holds {' '.join(repr(c) for c in unsafe)}, which autotools and make "
                         "builds cannot handle in a path", hint=hint)


def check_sysroot_location(root: Path, recipe_root: Path) -> None:
    """Refuses sysroots that would mix cwpkg's files with a system's, a home's, the cache's or the
    checkout's own; `root` is absolute and resolved."""
    cache = cache_dir()
    home = Path.home().resolve()
    refused = {Path(directory).resolve() for directory in SYSTEM_DIRECTORIES} | {home}
    if root in refused:
        raise UsageError(f"refusing sysroot {root}: a system or home directory",
                         hint="choose a directory of its own, e.g. --sysroot ~/wasm32-sysroot")
    if root == cache or cache in root.parents or root in cache.parents:
        raise UsageError(f"sysroot {root} and the cache {cache} would overlap", hint="choose a sysroot outside it")
    if root == recipe_root or root in recipe_root.parents:
        raise UsageError(f"sysroot {root} would hold the recipes checkout {recipe_root}",
                         hint="choose a directory of its own, e.g. the checkout's sysroot/")
    if root.exists() and not root.is_dir():
        raise SysrootError(f"sysroot {root} exists and is not a directory", hint="choose another --sysroot")
    check_build_path(root, "sysroot", "choose a sysroot path of letters, digits, '/', '.', '-' and '_'")


def check_output_path(path: Path, sysroot: Path, what: str) -> Path:
    """Where a command writes a file the user named (a bundle, a module, a lockfile, a report): not a
    directory, and not inside the sysroot, whose every file cwpkg owns and verifies. Resolved."""
    resolved = path.expanduser().resolve()
    if resolved.is_dir():
        raise UsageError(f"{what} {path} is a directory", hint="name the file to write")
    if resolved == sysroot or sysroot in resolved.parents:
        raise UsageError(f"{what} {path} is inside the sysroot {sysroot}",
                         hint="write it elsewhere: the sysroot holds only what cwpkg installs")
    return resolved


def default_sysroot(recipe_root: Path) -> Path:
    """CWPKG_SYSROOT, else sysroot/ beside the recipes."""
    chosen = os.environ.get("CWPKG_SYSROOT")
    return Path(chosen).expanduser().resolve() if chosen else recipe_root / "sysroot"
