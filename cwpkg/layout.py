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

LOCK_NAME = "cwpkg.lock"  # beside the recipes, unless --lockfile or CWPKG_LOCK says otherwise
BINARY_CACHE_VARIABLE = "CWPKG_BINARY_CACHE"  # a directory or an http(s) URL (see binary_cache.py)


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


def make_scratch_directory(purpose: str) -> Path:
    """A new private directory in the cache's `tmp/` (cwpkg writes nowhere but the sysroot and the
    cache; builds, bundles and checks work there). The caller removes it."""
    while True:
        parent = cache_dir() / "tmp"
        parent.mkdir(parents=True, exist_ok=True)
        try:
            return Path(tempfile.mkdtemp(prefix=f"{purpose}-", dir=parent))
        except FileNotFoundError:  # another run removed the empty tmp/ in between
            continue


def remove_scratch_directory(directory: Path) -> None:
    """Removes a scratch directory, and `tmp/` with it when nothing else is in there."""
    shutil.rmtree(directory, ignore_errors=True)
    try:
        directory.parent.rmdir()
    except OSError:
        pass  # other runs' scratch directories are still there


@contextmanager
def scratch_directory(purpose: str) -> Iterator[Path]:
    directory = make_scratch_directory(purpose)
    try:
        yield directory
    finally:
        remove_scratch_directory(directory)


def sysroot_libdir(sysroot: Path) -> Path:
    """Where a sysroot keeps its wasm32-wasi libraries (wasi-sdk's layout)."""
    return sysroot / "lib" / "wasm32-wasi"


def pkg_config_environment(sysroot: Path) -> dict[str, str]:
    """pkg-config sees only the sysroot's .pc files (relocatable: their prefix is ${pcfiledir}/../..)."""
    return {"PKG_CONFIG_LIBDIR": str(sysroot / "lib" / "pkgconfig"), "PKG_CONFIG_PATH": ""}


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


def default_sysroot(recipe_root: Path) -> Path:
    """CWPKG_SYSROOT, else sysroot/ beside the recipes."""
    chosen = os.environ.get("CWPKG_SYSROOT")
    return Path(chosen).expanduser().resolve() if chosen else recipe_root / "sysroot"
