"""`cwpkg bundle` and `install --from-bundle`: the whole sysroot as one deterministic, verifiable archive.

The bundle holds the installed files as they are in the sysroot, the packages' manifests
(`.cwpkg/installed/`), the lock of what they were built from (`.cwpkg/cwpkg.lock`) and the sha256
of every file (`.cwpkg/SHA256SUMS`). Unpacked by hand it is a sysroot; installed with cwpkg, every
checksum is verified first, and each package's files, packed again, must give exactly the archive
sha256 that the lock records: the bundle holds the locked builds and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cwpkg.archive import write_archive
from cwpkg.errors import IntegrityError
from cwpkg.layout import LOCK_NAME
from cwpkg.lockfile import LockedPackage, read_lock, write_lock
from cwpkg.sysroot import STATE_DIR, Sysroot, tree_files
from cwpkg.unpack import unpack

SUMS = f"{STATE_DIR}/SHA256SUMS"
LOCK_IN_BUNDLE = f"{STATE_DIR}/{LOCK_NAME}"
MANIFESTS = f"{STATE_DIR}/installed"


@dataclass(frozen=True)
class BundledPackage:
    name: str
    manifest: dict[str, Any]
    archive: Path  # the package's files packed again, its sha256 checked against the lock


def write_bundle(sysroot: Sysroot, lock_entries: dict[str, dict[str, Any]], output: Path, scratch: Path) -> str:
    """Packs the installed packages that `lock_entries` names into `output`; returns the bundle's sha256."""
    tree = scratch / "bundle"
    installed = sysroot.installed()
    for name in sorted(lock_entries):
        manifest = installed[name]
        for relative in manifest["files"]:
            source, target = sysroot.root / relative, tree / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                target.symlink_to(os.readlink(source))
            else:
                shutil.copy2(source, target)
        (tree / MANIFESTS).mkdir(parents=True, exist_ok=True)
        (tree / MANIFESTS / f"{name}.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    write_lock(tree / LOCK_IN_BUNDLE, lock_entries)
    sums = [f"{digest}  {relative}" for relative, digest in tree_files(tree).items() if not digest.startswith("->")]
    (tree / SUMS).write_text("\n".join(sums) + "\n")
    return write_archive(tree, output)


def _fail(bundle: Path, problem: str) -> IntegrityError:
    return IntegrityError(f"{bundle}: {problem}", hint="the bundle is damaged or was changed; make it again "
                                                       "with `cwpkg bundle` or fetch it again")


def _check_sums(bundle: Path, tree: Path) -> None:
    try:
        lines = (tree / SUMS).read_text(encoding="utf-8").splitlines()
    except OSError:
        raise _fail(bundle, f"no {SUMS}: not a cwpkg bundle") from None
    listed = {}
    for line in lines:
        digest, _, relative = line.partition("  ")
        listed[relative] = digest
    present = {relative: digest for relative, digest in tree_files(tree).items()
               if relative != SUMS and not digest.startswith("->")}
    for relative in sorted(listed.keys() | present.keys()):
        if relative not in present:
            raise _fail(bundle, f"{relative} is listed in {SUMS} but missing")
        if relative not in listed:
            raise _fail(bundle, f"{relative} is not listed in {SUMS}")
        if listed[relative] != present[relative]:
            raise _fail(bundle, f"{relative} does not match its sha256 in {SUMS}")


def open_bundle(bundle: Path, scratch: Path) -> tuple[list[BundledPackage], dict[str, LockedPackage]]:
    """Unpacks and verifies `bundle` in `scratch`; returns its packages in dependency order."""
    tree = scratch / "bundle"
    unpack(bundle, tree, strip_top=False)
    _check_sums(bundle, tree)
    locked = read_lock(tree / LOCK_IN_BUNDLE)
    manifests = {path.stem: json.loads(path.read_text(encoding="utf-8"))
                 for path in sorted((tree / MANIFESTS).glob("*.json"))}
    if set(manifests) != set(locked):
        raise _fail(bundle, "its manifests and its lock name different packages")
    packages = []
    for name in _dependency_order(locked):
        manifest, entry = manifests[name], locked[name]
        if (manifest.get("identity"), manifest.get("archive_sha256")) != (entry.identity, entry.archive_sha256):
            raise _fail(bundle, f"{name}'s manifest disagrees with the lock")
        package_tree = scratch / "packages" / name
        for relative in manifest["files"]:
            target = package_tree / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tree / relative, target)
        archive = write_archive(package_tree, scratch / "archives" / f"{name}.tar.gz")
        if archive != entry.archive_sha256:
            raise _fail(bundle, f"{name}'s files do not make the archive the lock records ({entry.archive_sha256})")
        packages.append(BundledPackage(name, manifest, scratch / "archives" / f"{name}.tar.gz"))
    return packages, locked


def _dependency_order(locked: dict[str, LockedPackage]) -> list[str]:
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name not in ordered:
            for dependency in sorted(locked[name].fields["depends"]):
                if dependency in locked:
                    visit(dependency)
            ordered.append(name)

    for name in sorted(locked):
        visit(name)
    return ordered


def install_bundle(sysroot: Sysroot, packages: list[BundledPackage]) -> list[str]:
    """Installs the verified packages, each as one transaction, keeping their archives for reuse."""
    installed = []
    for package in packages:
        manifest = {key: value for key, value in package.manifest.items() if key not in ("name", "files")}
        sysroot.install(package.name, package.archive, manifest)
        sysroot.archives.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package.archive, sysroot.archive_path(package.name))
        installed.append(package.name)
    return installed
