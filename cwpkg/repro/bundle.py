"""`cwpkg bundle` and `install --from-bundle`: the whole sysroot as one deterministic, verifiable archive.

The bundle holds the installed files as they are in the sysroot, the packages' manifests
(`.cwpkg/installed/`), the lock of what they were built from (`.cwpkg/cwpkg.lock`) and the sha256
of every file (`.cwpkg/SHA256SUMS`). Unpacked by hand it is a sysroot.

A bundle is data from elsewhere and is trusted with nothing. Installing one, in this order:
1. it is unpacked into scratch space in the cache (the unpacker refuses absolute paths, '..', links
   leading out, hard links, devices, and oversized contents);
2. every file must match SHA256SUMS, and SHA256SUMS must list exactly the files there;
3. its lock must agree, package for package, with the lockfile of the installing checkout: that lockfile
   is the trust anchor, the bundle's own lock only says which entries it claims;
4. its manifests must be well formed, every path in them relative and inside the sysroot, every file
   of the bundle owned by exactly one of them, and every digest they record true;
5. each package's files, packed again, must give exactly the archive sha256 that the lockfile records;
and only then the sysroot changes, one package transaction at a time, with the sysroot's own checks
(no writing through symlinks, symlinks must resolve inside) on top.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cwpkg.dependencies import DependencyCycle, dependency_order
from cwpkg.errors import CwpkgError, IntegrityError, UsageError
from cwpkg.fs import json_text, unpack, write_archive
from cwpkg.places import scratch_directory, topmost_missing
from cwpkg.repro.lockfile import (
    LOCK_NAME,
    LockedPackage,
    describe_difference,
    read_lock,
    write_lock,
)
from cwpkg.sysroot import (
    MANIFESTS_DIR,
    STATE_DIR,
    Manifest,
    Sysroot,
    entry_digest,
    file_problems,
    manifest_from_json,
    tree_files,
)

SUMS = f"{STATE_DIR}/SHA256SUMS"
LOCK_IN_BUNDLE = f"{STATE_DIR}/{LOCK_NAME}"


@dataclass(frozen=True)
class BundledPackage:
    name: str
    manifest: Manifest
    archive: Path  # the package's files packed again, its sha256 checked against the lock


def write_bundle(sysroot: Sysroot, lock_entries: dict[str, dict], output: Path, scratch: Path) -> str:
    """Packs the installed packages that `lock_entries` names into `output`; returns the bundle's sha256.
    Every file must match its manifest first: a bundle carries what the lock vouches for, nothing else."""
    installed = sysroot.installed()
    chosen = {name: installed[name] for name in sorted(lock_entries)}
    problems = file_problems(sysroot, chosen, report_extra=False)
    if problems:
        raise IntegrityError(f"{sysroot.root}: the installed files differ from their manifests: "
                             + "; ".join(line.strip() for line in problems[:5])
                             + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""),
                             hint="`cwpkg verify` lists them; reinstall those packages, then bundle again")
    tree = scratch / "bundle"
    for name, manifest in chosen.items():
        for relative in manifest.files:
            source, target = sysroot.root / relative, tree / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                target.symlink_to(os.readlink(source))
            else:
                shutil.copy2(source, target)
        (tree / MANIFESTS_DIR).mkdir(parents=True, exist_ok=True)
        (tree / MANIFESTS_DIR / f"{name}.json").write_text(json_text(manifest.to_json()))
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
    except (OSError, UnicodeDecodeError):
        raise _fail(bundle, f"no readable {SUMS}: not a cwpkg bundle") from None
    listed = {}
    for line in lines:
        digest, _, relative = line.partition("  ")
        listed[relative] = digest
    present = {relative: digest for relative, digest in tree_files(tree).items()
               if relative != SUMS and not digest.startswith("->")}
    for relative in sorted(listed.keys() | present.keys()):
        if relative not in present:
            raise _fail(bundle, f"{relative!r} is listed in {SUMS} but missing")
        if relative not in listed:
            raise _fail(bundle, f"{relative} is not listed in {SUMS}")
        if listed[relative] != present[relative]:
            raise _fail(bundle, f"{relative} does not match its sha256 in {SUMS}")


def _check_against_trusted(bundle: Path, locked: dict[str, LockedPackage], trusted: dict[str, LockedPackage],
                           lockfile: Path) -> None:
    for name, entry in sorted(locked.items()):
        anchor = trusted.get(name)
        if anchor is None:
            raise _fail(bundle, f"it holds {name}, which {lockfile} does not lock")
        if anchor.fields != entry.fields:
            raise IntegrityError(f"{bundle}: its {name} was built from other inputs than {lockfile} records: "
                                 f"{describe_difference(anchor, entry.fields)}",
                                 hint="install a bundle made from this lock, or update the lock if you trust "
                                      "the bundle's inputs")


def _read_manifests(bundle: Path, tree: Path) -> dict[str, Manifest]:
    state = tree / STATE_DIR
    for entry in sorted(state.rglob("*")):
        relative = entry.relative_to(tree).as_posix()
        if relative not in (SUMS, LOCK_IN_BUNDLE, MANIFESTS_DIR) and not (
                entry.parent == tree / MANIFESTS_DIR and entry.suffix == ".json" and entry.is_file()):
            raise _fail(bundle, f"unexpected {relative}: a bundle's {STATE_DIR}/ holds only manifests, "
                                "its lock and its checksums")
    manifests = {}
    for path in sorted((tree / MANIFESTS_DIR).glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise _fail(bundle, f"{MANIFESTS_DIR}/{path.name} is not JSON: {error}") from None
        manifests[path.stem] = manifest_from_json(document, path.stem, f"{bundle}: {MANIFESTS_DIR}/{path.name}")
    return manifests


def _check_ownership(bundle: Path, tree: Path, manifests: dict[str, Manifest]) -> None:
    """Every file owned by exactly one manifest, every manifest's digests true."""
    owners: dict[str, str] = {}
    for name, manifest in manifests.items():
        for relative, digest in manifest.files.items():
            if relative in owners:
                raise _fail(bundle, f"{relative} is claimed by both {owners[relative]} and {name}")
            owners[relative] = name
            path = tree / relative
            if not (path.is_symlink() or path.is_file()):
                raise _fail(bundle, f"{name}'s manifest lists {relative}, which is not in the bundle")
            if entry_digest(path) != digest:
                raise _fail(bundle, f"{relative} differs from what {name}'s manifest records")
    for relative in tree_files(tree):
        if relative.split("/", 1)[0] != STATE_DIR and relative not in owners:
            raise _fail(bundle, f"{relative} belongs to no package's manifest")


def open_bundle(bundle: Path, scratch: Path, trusted: dict[str, LockedPackage],
                lockfile: Path) -> list[BundledPackage]:
    """Unpacks and verifies `bundle` in `scratch` (see the module's docstring for the order);
    returns its packages in dependency order. `trusted` is the installing checkout's lock."""
    tree = scratch / "bundle"
    unpack(bundle, tree, strip_top=False, allow_hardlinks=False)
    _check_sums(bundle, tree)
    try:
        locked = read_lock(tree / LOCK_IN_BUNDLE)
    except CwpkgError as error:
        raise _fail(bundle, f"its {LOCK_IN_BUNDLE}: {error.message}") from None
    if not locked:
        raise _fail(bundle, "it holds no packages")
    _check_against_trusted(bundle, locked, trusted, lockfile)
    manifests = _read_manifests(bundle, tree)
    if set(manifests) != set(locked):
        raise _fail(bundle, "its manifests and its lock name different packages")
    _check_ownership(bundle, tree, manifests)
    packages = []
    try:
        order = dependency_order(sorted(locked), lambda name: sorted(set(locked[name].fields["depends"]) & set(locked)))
    except DependencyCycle as cycle:
        raise _fail(bundle, f"the dependencies in its lock form a cycle: {cycle}") from None
    for name in order:
        manifest, entry = manifests[name], locked[name]
        if (manifest.identity, manifest.archive_sha256) != (entry.identity, entry.archive_sha256):
            raise _fail(bundle, f"{name}'s manifest disagrees with the lock")
        package_tree = scratch / "packages" / name
        for relative in manifest.files:
            target = package_tree / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tree / relative, target)
        archive = write_archive(package_tree, scratch / "archives" / f"{name}.tar.gz")
        if archive != entry.archive_sha256:
            raise _fail(bundle, f"{name}'s files do not make the archive the lock records ({entry.archive_sha256})")
        packages.append(BundledPackage(name, manifest, scratch / "archives" / f"{name}.tar.gz"))
    return packages


def install_bundle(sysroot: Sysroot, bundle: Path, lockfile: Path, say: Callable[[str], None]) -> list[str]:
    """Installs a bundle that matches `lockfile` (the trusted one), each package as one transaction.

    Everything is verified in a scratch directory before the sysroot changes; a sysroot this creates
    goes again if the install fails. Returns the installed names, dependencies first.
    """
    if not bundle.is_file():
        raise UsageError(f"{bundle}: no such bundle")
    if not lockfile.is_file():
        raise UsageError(f"{bundle}: a bundle is installed only against the lockfile it must match, and "
                         f"{lockfile} does not exist",
                         hint="use the checkout whose cwpkg.lock made the bundle, or name it with --lockfile")
    trusted = read_lock(lockfile)
    with scratch_directory("unbundle") as scratch:
        packages = open_bundle(bundle, scratch, trusted, lockfile)
        created = topmost_missing(sysroot.root)
        try:
            with sysroot.locked(say):
                for package in packages:
                    sysroot.install(package.name, package.archive, package.manifest)
        except BaseException:
            if created is not None:
                sysroot.remove_if_unused(created)
            raise
    return [package.name for package in packages]
