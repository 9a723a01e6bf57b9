"""What every command shares: the options, and the recipe book, sysroot, caches and toolchain they name."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from cwpkg.binary_cache import binary_cache_from_environment
from cwpkg.download import Downloader
from cwpkg.engine import InstallRun
from cwpkg.errors import FetchError, SysrootError, UsageError
from cwpkg.layout import cache_dir, default_sysroot, find_recipe_root
from cwpkg.recipe import Recipe
from cwpkg.recipebook import RecipeBook
from cwpkg.sources import SourceCache
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import Toolchain, detect_toolchain


def jobs_argument(value: str) -> int:
    """argparse type of -j/--jobs."""
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return jobs


class Context:
    """What a command needs, created on first use so that `cwpkg recipes` never probes a toolchain."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.quiet: bool = options.quiet
        self._book: RecipeBook | None = None

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    @property
    def book(self) -> RecipeBook:
        if self._book is None:
            self._book = RecipeBook(find_recipe_root(self.options.recipes))
        return self._book

    @property
    def sysroot(self) -> Sysroot:
        chosen = self.options.sysroot
        root = Path(chosen).expanduser().resolve() if chosen else default_sysroot(self.book.root)
        cache = cache_dir()
        if root == cache or cache in root.parents:
            raise UsageError(f"sysroot {root} is inside the cache {cache}", hint="choose a sysroot outside it")
        if root.exists() and not root.is_dir():
            raise SysrootError(f"sysroot {root} exists and is not a directory", hint="choose another --sysroot")
        return Sysroot(root)

    def downloader(self) -> Downloader:
        return Downloader(quiet=self.quiet)

    def source_cache(self) -> SourceCache:
        return SourceCache(cache_dir(), self.downloader())


def toolchain_for(context: Context) -> Toolchain:
    return detect_toolchain(getattr(context.options, "toolchain", None))


def install_packages(context: Context, requested: list[str], jobs: int, explain: bool,
                     summary_to=sys.stdout, expected_archives: dict[str, str] | None = None,
                     build: bool = True) -> list[Recipe]:
    """Installs `requested` and their dependencies; returns them all, dependencies first.

    With `expected_archives` (from the lockfile) and a binary cache configured, verified archives
    from the cache are installed first; `build=False` then refuses to build what is left. The
    one-line summary goes to `summary_to`: stderr where stdout belongs to a program's output.
    """
    book = context.book
    recipes = book.with_dependencies(requested)
    toolchain = toolchain_for(context)
    sysroot = context.sysroot
    run = InstallRun(book, toolchain, sysroot, context.source_cache(), jobs, context.say)
    run.plan(recipes, requested)
    run.expected_archives = expected_archives or {}
    created = not sysroot.root.exists()
    cache = binary_cache_from_environment(context.downloader()) if run.expected_archives else None
    try:
        pending = run.needs_source()
        if cache is not None and pending:
            with sysroot.locked(context.say):
                run.restore_from(cache)
            pending = run.needs_source()
        if not build and pending:
            raise FetchError("not in the binary cache (or refused): " + ", ".join(recipe.name for recipe in pending),
                             hint="push them from a machine that built them: cwpkg cache push")
        for recipe in pending:  # fail on a bad download before touching the sysroot
            run.sources.fetch(recipe)
        with sysroot.locked(context.say):
            run.execute(explain)
    except BaseException:
        # A failed install leaves the cache and sysroot as they were, but for packages it completed.
        if not run.installed and not run.built:
            run.sources.forget_added()
        if created and not run.installed:
            shutil.rmtree(sysroot.root, ignore_errors=True)
        raise
    if not run.built and not run.installed:
        print(f"nothing to do: {', '.join(requested)} up to date in {sysroot.root}", file=summary_to)
    else:
        restored = f"; from the binary cache: {', '.join(run.restored)}" if run.restored else ""
        print(f"built: {', '.join(run.built) or '-'}; installed: {', '.join(run.installed) or '-'}{restored}",
              file=summary_to)
    return recipes
