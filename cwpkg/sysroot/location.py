"""Where a sysroot may be, and where files the user names may be written beside it."""

from __future__ import annotations

import os
from pathlib import Path

from cwpkg.errors import SysrootError, UsageError
from cwpkg.places import cache_dir, check_build_path
from cwpkg.sysroot.layout import recorded_target
from cwpkg.sysroot.sysroot import Sysroot
from cwpkg.toolchain import DEFAULT_TARGET, TARGET_VARIABLE, requested_target

# Directories that hold a system, or a user's home, and never become a sysroot: cwpkg would install
# include/ and lib/ into them, and a failed first install removes a sysroot it created.
SYSTEM_DIRECTORIES = ("/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32",
                      "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp",
                      "/usr", "/usr/bin", "/usr/include", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec",
                      "/usr/local", "/usr/local/bin", "/usr/local/include", "/usr/local/lib", "/usr/sbin",
                      "/usr/share", "/usr/src", "/var", "/var/lib", "/var/tmp")


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


def check_output_path(path: Path, sysroot: Sysroot, what: str) -> Path:
    """Where a command writes a file the user named (a bundle, a module, a lockfile, a report): not a
    directory, and not inside the sysroot, whose every file cwpkg owns and verifies. Resolved."""
    resolved = path.expanduser().resolve()
    if resolved.is_dir():
        raise UsageError(f"{what} {path} is a directory", hint="name the file to write")
    if resolved == sysroot.root or sysroot.root in resolved.parents:
        raise UsageError(f"{what} {path} is inside the sysroot {sysroot.root}",
                         hint="write it elsewhere: the sysroot holds only what cwpkg installs")
    return resolved


def open_sysroot(chosen: str | None, recipe_root: Path, target_option: str | None = None) -> Sysroot:
    """The sysroot a command works on: `chosen` (--sysroot), else CWPKG_SYSROOT, else sysroot/ beside
    the recipes; checked by `check_sysroot_location`. Every entry point (the CLI, the wasm-ld shim)
    opens its sysroot here.

    Its target is the one its packages were built for; --target (`target_option`) or CWPKG_TARGET
    choose it for a sysroot with none installed, and must agree with it otherwise."""
    chosen = chosen or os.environ.get("CWPKG_SYSROOT")
    root = Path(chosen).expanduser().resolve() if chosen else recipe_root / "sysroot"
    check_sysroot_location(root, recipe_root)
    requested = requested_target(target_option)
    recorded = recorded_target(root)
    if recorded is not None and not Sysroot(root, recorded).installed():
        recorded = None
    if recorded is not None and requested is not None and requested != recorded:
        raise UsageError(f"sysroot {root} holds {recorded} libraries, not {requested}",
                         hint=f"give {requested} a sysroot of its own with --sysroot, or drop --target "
                              f"({TARGET_VARIABLE}) to use this one")
    return Sysroot(root, recorded or requested or DEFAULT_TARGET)
