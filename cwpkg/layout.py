"""Where cwpkg finds its recipes and keeps its caches and sysroot."""

from __future__ import annotations

import os
from pathlib import Path

from cwpkg.errors import UsageError

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


def sysroot_libdir(sysroot: Path) -> Path:
    """Where a sysroot keeps its wasm32-wasi libraries (wasi-sdk's layout)."""
    return sysroot / "lib" / "wasm32-wasi"


def pkg_config_environment(sysroot: Path) -> dict[str, str]:
    """pkg-config sees only the sysroot's .pc files (relocatable: their prefix is ${pcfiledir}/../..)."""
    return {"PKG_CONFIG_LIBDIR": str(sysroot / "lib" / "pkgconfig"), "PKG_CONFIG_PATH": ""}


def default_sysroot(recipe_root: Path) -> Path:
    """CWPKG_SYSROOT, else sysroot/ beside the recipes."""
    chosen = os.environ.get("CWPKG_SYSROOT")
    return Path(chosen).expanduser().resolve() if chosen else recipe_root / "sysroot"
