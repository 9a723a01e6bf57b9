"""Installing packages into a sysroot: from the binary cache where the lock allows, else by building."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cwpkg.builds.engine import InstallRun
from cwpkg.errors import FetchError
from cwpkg.places import topmost_missing
from cwpkg.recipes import Recipe, RecipeBook
from cwpkg.sources import BinaryCache, SourceCache
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import Toolchain


@dataclass(frozen=True)
class InstallReport:
    """What an install did: the packages it covered (dependencies first) and what happened to each."""

    requested: list[str]
    recipes: list[Recipe]
    built: list[str]
    installed: list[str]
    restored: list[str]

    def summary(self, sysroot: Sysroot) -> str:
        if not self.built and not self.installed:
            return f"nothing to do: {', '.join(self.requested)} up to date in {sysroot.root}"
        restored = f"; from the binary cache: {', '.join(self.restored)}" if self.restored else ""
        return f"built: {', '.join(self.built) or '-'}; installed: {', '.join(self.installed) or '-'}{restored}"


def install_packages(book: RecipeBook, toolchain: Toolchain, sysroot: Sysroot, sources: SourceCache,
                     requested: list[str], *, jobs: int, say: Callable[[str], None], explain: bool = False,
                     expected_archives: dict[str, str] | None = None, binary_cache: BinaryCache | None = None,
                     build: bool = True, keep_trees: bool = False) -> InstallReport:
    """Installs `requested` and their dependencies.

    With `expected_archives` (from the lockfile) and a `binary_cache`, verified archives from the cache
    are installed first; `build=False` then refuses to build what is left. `keep_trees` keeps each
    package's build tree for `cwpkg test` (see kept.py).
    """
    recipes = book.with_dependencies(requested)
    run = InstallRun(book, toolchain, sysroot, sources, jobs, say)
    run.plan(recipes, requested)
    run.expected_archives = expected_archives or {}
    run.keep_trees = keep_trees
    created = topmost_missing(sysroot.root)
    try:
        pending = run.needs_source()
        if binary_cache is not None and run.expected_archives and pending:
            with sysroot.locked(say):
                run.restore_from(binary_cache)
            pending = run.needs_source()
        if not build and pending:
            raise FetchError("not in the binary cache (or refused): " + ", ".join(recipe.name for recipe in pending),
                             hint="push them from a machine that built them: cwpkg cache push")
        for recipe in pending:  # fail on a bad download before touching the sysroot
            run.sources.fetch(recipe)
        with sysroot.locked(say):
            run.execute(explain)
    except BaseException:
        # A failed install leaves the cache and sysroot as they were, but for packages it completed;
        # a sysroot it created goes again unless another run installed something there meanwhile.
        if not run.installed:
            run.sources.forget_added()
        if created is not None:
            sysroot.remove_if_unused(created)
        raise
    return InstallReport(requested, recipes, list(run.built), list(run.installed), list(run.restored))
