"""`cwpkg verify`: every installed file against its package's manifest, and the packages against the lock."""

from __future__ import annotations

import os
from pathlib import Path

from cwpkg.fs.digest import file_sha256
from cwpkg.repro.lockfile import LockedPackage
from cwpkg.sysroot.layout import STATE_DIR
from cwpkg.sysroot.manifest import Manifest
from cwpkg.sysroot.sysroot import Sysroot, entry_digest

# Files of the sysroot directory that belong to no package: cwpkg's state, and the README that a
# checkout keeps in its default sysroot/.
OWN_ENTRIES = {STATE_DIR, "README.md"}


def file_problems(sysroot: Sysroot, installed: dict[str, Manifest], report_extra: bool = True) -> list[str]:
    """Modified, missing and (unless not asked) extra files below the sysroot `root`, and archives
    that are not the ones the packages came from, one line each."""
    root = sysroot.root
    problems = []
    owners = {}
    for name, manifest in installed.items():
        archive = sysroot.archive_path(name)
        if not archive.is_file() or file_sha256(archive) != manifest.archive_sha256:
            problems.append(f"archive:  {name}'s archive is {'damaged' if archive.is_file() else 'missing'}")
        for relative, digest in manifest.files.items():
            owners[relative] = name
            path = root / relative
            if not (path.is_symlink() or path.is_file()):
                problems.append(f"missing:  {relative} ({name})")
            elif entry_digest(path) != digest:
                problems.append(f"modified: {relative} ({name})")
    if not report_extra:
        return problems
    for directory, subdirs, files in os.walk(root):
        relative_dir = Path(directory).relative_to(root)
        if relative_dir == Path("."):
            subdirs[:] = [d for d in subdirs if d not in OWN_ENTRIES]
            files = [f for f in files if f not in OWN_ENTRIES]
        for name in sorted(files + [d for d in subdirs if os.path.islink(os.path.join(directory, d))]):
            relative = (relative_dir / name).as_posix()
            if relative not in owners:
                problems.append(f"extra:    {relative}")
    return problems


def lock_problems(installed: dict[str, Manifest], locked: dict[str, LockedPackage]) -> list[str]:
    """Installed packages that the lock does not describe exactly, and locked ones not installed."""
    problems = []
    for name, entry in sorted(locked.items()):
        manifest = installed.get(name)
        if manifest is None:
            problems.append(f"lock:     {name} is locked but not installed")
            continue
        for key, value in (("version", entry.fields["version"]), ("identity", entry.identity),
                           ("archive_sha256", entry.archive_sha256)):
            if getattr(manifest, key) != value:
                problems.append(f"lock:     {name} {key} is {getattr(manifest, key)}, the lock says {value}")
    for name in sorted(set(installed) - set(locked)):
        problems.append(f"lock:     {name} is installed but not in the lock")
    return problems
