"""The reproducibility commands: `cwpkg lock`, `verify`, `bundle`, and `install --locked / --from-bundle`."""

from __future__ import annotations

import os
from pathlib import Path

from cwpkg.atomic import write_text_atomically
from cwpkg.binary_cache import BinaryCache, binary_cache_from_environment
from cwpkg.bundle import install_bundle, open_bundle, write_bundle
from cwpkg.ci_template import TEMPLATES
from cwpkg.context import Context, toolchain_for
from cwpkg.digest import file_sha256
from cwpkg.errors import IntegrityError, UsageError
from cwpkg.identity import plan_identities
from cwpkg.install import install_packages
from cwpkg.layout import BINARY_CACHE_VARIABLE, LOCK_NAME, check_output_path, scratch_directory, topmost_missing
from cwpkg.lockfile import describe_difference, lock_fields, read_lock, write_lock
from cwpkg.recipe import Recipe
from cwpkg.verify import file_problems, lock_problems


def _chosen_lockfile(context: Context) -> str | None:
    return getattr(context.options, "lockfile", None) or os.environ.get("CWPKG_LOCK")


def lockfile_path(context: Context) -> Path:
    chosen = _chosen_lockfile(context)
    return Path(chosen).resolve() if chosen else context.recipe_root / LOCK_NAME


def _current_fields(context: Context, recipes: list[Recipe]) -> dict[str, dict]:
    """name -> lock fields from the recipes and toolchain as they are now (no archive sha256 yet)."""
    identities = plan_identities(recipes, context.book, toolchain_for(context))
    return {recipe.name: lock_fields(recipe.version, identities[recipe.name][1], identities[recipe.name][0], "")
            for recipe in recipes}


def installed_lock_entries(context: Context, recipes: list[Recipe]) -> dict[str, dict]:
    """Lock entries for installed `recipes`, which must be installed from what the recipes give now."""
    installed = context.sysroot.installed()
    entries = {}
    for name, fields in _current_fields(context, recipes).items():
        manifest = installed.get(name)
        if manifest is None:
            raise UsageError(f"{name} is not installed in {context.sysroot.root}", hint=f"cwpkg install {name}")
        if manifest.identity != fields["identity"]:
            raise IntegrityError(f"{name} in {context.sysroot.root} is not what its recipe builds now",
                                 hint=f"cwpkg install {name}, then run this again")
        entries[name] = {**fields, "archive_sha256": manifest.archive_sha256}
    return entries


def cmd_lock(context: Context) -> int:
    options = context.options
    if options.all == bool(options.packages):
        raise UsageError("name the packages to lock, or use --all (not both)")
    names = context.book.names() if options.all else options.packages
    path = check_output_path(lockfile_path(context), context.sysroot.root, "the lockfile")
    recipes = install_packages(context, names, options.jobs, explain=False)
    entries = {} if options.all or not path.exists() else {name: entry.fields for name, entry in read_lock(path).items()}
    entries.update(installed_lock_entries(context, recipes))
    write_lock(path, entries)
    print(f"locked {len(recipes)} packages in {path}")
    return 0


def locked_archives(context: Context, requested: list[str]) -> tuple[list[str], dict[str, str]]:
    """For `install --locked`: the packages to install (default: all the lock holds) and the archive
    sha256 each build must produce. Refuses, naming the input, anything whose inputs changed."""
    path = lockfile_path(context)
    locked = read_lock(path)
    if not locked:
        raise UsageError(f"{path} locks no packages", hint="write it with `cwpkg lock --all`")
    names = requested or sorted(locked)
    recipes = context.book.with_dependencies(names)
    differences = []
    for name, fields in _current_fields(context, recipes).items():
        if name not in locked:
            differences.append(f"{name}: not in the lock")
        elif locked[name].identity != fields["identity"]:
            differences.append(f"{name}: {describe_difference(locked[name], fields)}")
    if differences:
        raise IntegrityError(f"{path}: the build inputs differ from the lock: " + "; ".join(differences),
                             hint="build what the lock records, or update it with `cwpkg lock`")
    return names, {recipe.name: locked[recipe.name].archive_sha256 for recipe in recipes}


def cmd_verify(context: Context) -> int:
    sysroot = context.sysroot
    if not sysroot.state.is_dir():
        raise UsageError(f"nothing is installed in {sysroot.root}")
    path = lockfile_path(context)
    if not context.options.no_lock and _chosen_lockfile(context) and not path.exists():
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
    output = check_output_path(Path(context.options.output), sysroot.root, "-o")
    names = context.options.packages or sorted(installed)
    with sysroot.locked(context.say, shared=True), scratch_directory("bundle") as scratch:
        entries = installed_lock_entries(context, context.book.with_dependencies(names))
        digest = write_bundle(sysroot, entries, output, scratch)
    print(f"{digest}  {output} ({len(entries)} packages)")
    return 0


def install_from_bundle(context: Context, bundle: Path) -> int:
    sysroot = context.sysroot
    if not bundle.is_file():
        raise UsageError(f"{bundle}: no such bundle")
    lockfile = lockfile_path(context)
    if not lockfile.is_file():
        raise UsageError(f"{bundle}: a bundle is installed only against the lockfile it must match, and "
                         f"{lockfile} does not exist",
                         hint="use the checkout whose cwpkg.lock made the bundle, or name it with --lockfile")
    trusted = read_lock(lockfile)
    with scratch_directory("unbundle") as scratch:
        packages = open_bundle(bundle, scratch, trusted, lockfile)  # all verified before the sysroot changes
        created = topmost_missing(sysroot.root)
        try:
            with sysroot.locked(context.say):
                names = install_bundle(sysroot, packages)
        except BaseException:
            if created is not None:
                sysroot.remove_if_unused(created)
            raise
    print(f"installed from {bundle.name}: {', '.join(names)}")
    return 0


def _binary_cache(context: Context) -> BinaryCache:
    cache = binary_cache_from_environment(context.downloader())
    if cache is None:
        raise UsageError("no binary cache configured",
                         hint=f"set {BINARY_CACHE_VARIABLE} to a directory or an http(s) URL")
    return cache


def cmd_cache(context: Context) -> int:
    options = context.options
    cache = _binary_cache(context)
    if options.action == "list":
        for identity, entry in sorted(cache.entries().items(), key=lambda item: (item[1]["name"], item[0])):
            print(f"{entry['name']:12} {entry['version']:28} {identity[:16]}  sha256 {entry['archive_sha256'][:16]}")
        return 0
    if options.action == "push":
        return _push(context, cache)
    if options.action == "pull":
        names, expected = locked_archives(context, options.packages)
        install_packages(context, names, 1, False, expected_archives=expected, build=False)
        return 0
    referenced = {entry.identity for entry in read_lock(lockfile_path(context)).values()}
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
    path = check_output_path(Path(options.output) if options.output else context.recipe_root / default_path,
                             context.sysroot.root, "-o")
    if path.exists() and not options.force:
        raise UsageError(f"{path} exists", hint="use --force to replace it, or -o to write elsewhere")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, text)
    print(f"wrote {path}")
    return 0
