"""The lock against the recipes and the sysroot: entries for installed packages, what `--locked` installs,
and where the installed packages differ from the lock (`cwpkg verify`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cwpkg.builds import plan_build_inputs
from cwpkg.errors import IntegrityError, UsageError
from cwpkg.recipes import Recipe, RecipeBook
from cwpkg.repro.lockfile import (
    LockedPackage,
    describe_difference,
    lock_fields,
    read_lock,
)
from cwpkg.sysroot import Manifest, Sysroot
from cwpkg.toolchain import Toolchain


def current_lock_fields(book: RecipeBook, toolchain: Toolchain, recipes: list[Recipe]) -> dict[str, dict[str, Any]]:
    """name -> lock fields from the recipes and toolchain as they are now (no archive sha256 yet)."""
    inputs = plan_build_inputs(recipes, book, toolchain)
    return {recipe.name: lock_fields(recipe.version, inputs[recipe.name], "") for recipe in recipes}


def installed_lock_entries(book: RecipeBook, toolchain: Toolchain, sysroot: Sysroot,
                           recipes: list[Recipe]) -> dict[str, dict[str, Any]]:
    """Lock entries for installed `recipes`, which must be installed from what the recipes give now."""
    installed = sysroot.installed()
    entries = {}
    for name, fields in current_lock_fields(book, toolchain, recipes).items():
        manifest = installed.get(name)
        if manifest is None:
            raise UsageError(f"{name} is not installed in {sysroot.root}", hint=f"cwpkg install {name}")
        if manifest.identity != fields["identity"]:
            raise IntegrityError(f"{name} in {sysroot.root} is not what its recipe builds now",
                                 hint=f"cwpkg install {name}, then run this again")
        entries[name] = {**fields, "archive_sha256": manifest.archive_sha256}
    return entries


def locked_archives(book: RecipeBook, toolchain: Toolchain, lockfile: Path,
                    requested: list[str]) -> tuple[list[str], dict[str, str]]:
    """For `install --locked`: the packages to install (default: all the lock holds) and the archive
    sha256 each build must produce. Refuses, naming the input, anything whose inputs changed."""
    locked = read_lock(lockfile)
    if not locked:
        raise UsageError(f"{lockfile} locks no packages", hint="write it with `cwpkg lock --all`")
    names = requested or sorted(locked)
    recipes = book.with_dependencies(names)
    differences = []
    for name, fields in current_lock_fields(book, toolchain, recipes).items():
        if name not in locked:
            differences.append(f"{name}: not in the lock")
        elif locked[name].identity != fields["identity"]:
            differences.append(f"{name}: {describe_difference(locked[name], fields)}")
    if differences:
        raise IntegrityError(f"{lockfile}: the build inputs differ from the lock: " + "; ".join(differences),
                             hint="build what the lock records, or update it with `cwpkg lock`")
    return names, {recipe.name: locked[recipe.name].archive_sha256 for recipe in recipes}


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
