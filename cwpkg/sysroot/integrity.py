"""The sysroot's integrity: every installed file and archive against its package's manifest (`cwpkg verify`)."""

from __future__ import annotations

import os
from pathlib import Path

from cwpkg.fs import file_sha256
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
