"""The reproducibility commands: `cwpkg lock`, `verify`, `bundle`, `cache` and `ci-template`."""

from __future__ import annotations

from pathlib import Path

from cwpkg.cli.context import Context
from cwpkg.errors import IntegrityError, UsageError
from cwpkg.fs import file_sha256, write_text_atomically
from cwpkg.places import scratch_directory
from cwpkg.repro import (
    TEMPLATES,
    installed_lock_entries,
    lock_problems,
    locked_archives,
    read_lock,
    write_bundle,
    write_lock,
)
from cwpkg.sources import BinaryCache
from cwpkg.sysroot import check_output_path, file_problems


def cmd_lock(context: Context) -> int:
    options = context.options
    if options.all == bool(options.packages):
        raise UsageError("name the packages to lock, or use --all (not both)")
    names = context.book.names() if options.all else options.packages
    path = check_output_path(context.lockfile, context.sysroot, "the lockfile")
    recipes = context.install(names, options.jobs)
    entries = {} if options.all or not path.exists() else {name: entry.fields for name, entry in read_lock(path).items()}
    entries.update(installed_lock_entries(context.book, context.toolchain, context.sysroot, recipes))
    write_lock(path, entries)
    print(f"locked {len(recipes)} packages in {path}")
    return 0


def cmd_verify(context: Context) -> int:
    sysroot = context.sysroot
    if not sysroot.state.is_dir():
        raise UsageError(f"nothing is installed in {sysroot.root}")
    path = context.lockfile
    if not context.options.no_lock and context.chosen_lockfile and not path.exists():
        raise UsageError(f"{path}: no lockfile here", hint="name an existing lockfile, or use --no-lock")
    checked_lock = not context.options.no_lock and path.exists()
    with sysroot.locked(context.say, shared=True):  # an interrupted change is recovered first
        installed = sysroot.installed()
        if not installed:
            raise UsageError(f"nothing is installed in {sysroot.root}")
        problems = file_problems(sysroot, installed)
        if checked_lock:
            problems += lock_problems(installed, read_lock(path))
    for problem in problems:
        print(problem)
    files = sum(len(manifest.files) for manifest in installed.values())
    if problems:
        raise IntegrityError(f"{sysroot.root}: {len(problems)} differences from the manifests"
                             + (f" and {path}" if checked_lock else ""))
    print(f"ok: {files} files of {len(installed)} packages match their manifests"
          + (f" and {path}" if checked_lock else ""))
    return 0


def cmd_bundle(context: Context) -> int:
    sysroot = context.sysroot
    installed = sysroot.installed()
    if not installed:
        raise UsageError(f"nothing is installed in {sysroot.root}", hint="cwpkg install --all first")
    output = check_output_path(Path(context.options.output), sysroot, "-o")
    names = context.options.packages or sorted(installed)
    with sysroot.locked(context.say, shared=True), scratch_directory("bundle") as scratch:
        entries = installed_lock_entries(context.book, context.toolchain, sysroot, context.book.with_dependencies(names))
        digest = write_bundle(sysroot, entries, output, scratch)
    print(f"{digest}  {output} ({len(entries)} packages)")
    return 0


def cmd_cache(context: Context) -> int:
    options = context.options
    cache = context.binary_cache(required=True)
    if options.action == "list":
        for identity, entry in sorted(cache.entries().items(), key=lambda item: (item[1]["name"], item[0])):
            print(f"{entry['name']:12} {entry['version']:28} {identity[:16]}  sha256 {entry['archive_sha256'][:16]}")
        return 0
    if options.action == "push":
        return _push(context, cache)
    if options.action == "pull":
        names, expected = locked_archives(context.book, context.toolchain, context.lockfile, options.packages)
        context.install(names, 1, expected_archives=expected, build=False)
        return 0
    referenced = {entry.identity for entry in read_lock(context.lockfile).values()}
    removed = cache.remove(sorted(set(cache.entries()) - referenced))
    print(f"removed {len(removed)} entries the lock does not name from {cache.describe()}")
    return 0


def _push(context: Context, cache: BinaryCache) -> int:
    sysroot = context.sysroot
    installed = sysroot.installed()
    names = context.options.packages or sorted(installed)
    for name in names:
        manifest = installed.get(name)
        archive = sysroot.archive_path(name)
        if manifest is None or not archive.is_file() or file_sha256(archive) != manifest.archive_sha256:
            raise UsageError(f"{name} is not installed with its archive in {sysroot.root}",
                             hint=f"cwpkg install {name} first")
        cache.publish(manifest.identity, archive, {"name": name, "version": manifest.version,
                                                   "archive_sha256": manifest.archive_sha256})
        print(f"pushed {name} {manifest.version} ({manifest.identity[:16]}) to {cache.describe()}")
    return 0


def cmd_ci_template(context: Context) -> int:
    options = context.options
    default_path, text = TEMPLATES[options.system]
    path = check_output_path(Path(options.output) if options.output else context.recipe_root / default_path, context.sysroot, "-o")
    if path.exists() and not options.force:
        raise UsageError(f"{path} exists", hint="use --force to replace it, or -o to write elsewhere")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, text)
    print(f"wrote {path}")
    return 0
