"""What every command shares: the options, and the recipe book, sysroot, caches and toolchain they name."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cwpkg.errors import UsageError
from cwpkg.places import BINARY_CACHE_VARIABLE, cache_dir, find_recipe_root
from cwpkg.sysroot import Sysroot, open_sysroot
from cwpkg.toolchain import Toolchain, detect_toolchain

# Recipes (YAML), downloads and the build engine are imported when first used: `cwpkg link` starts the
# compiler first.
if TYPE_CHECKING:
    from cwpkg.link import LinkOptions, ProgramOptions
    from cwpkg.recipes import Recipe, RecipeBook
    from cwpkg.sources import BinaryCache, Downloader, SourceCache


class Context:
    """What a command needs, each made once and on first use, so that `cwpkg recipes` never probes a toolchain."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.quiet: bool = options.quiet
        self._book: RecipeBook | None = None
        self._recipe_root: Path | None = None
        self._sysroot: Sysroot | None = None
        self._toolchain: Toolchain | None = None

    def say(self, message: str) -> None:
        """A line on stderr, written at once: threads of one command (spec --report's builds) say theirs
        side by side."""
        if not self.quiet:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    @property
    def recipe_root(self) -> Path:
        """The checkout holding recipes/ and patches/, found without reading a recipe."""
        if self._recipe_root is None:
            self._recipe_root = find_recipe_root(self.options.recipes)
        return self._recipe_root

    @property
    def book(self) -> RecipeBook:
        if self._book is None:
            from cwpkg.recipes import RecipeBook

            self._book = RecipeBook(self.recipe_root)
        return self._book

    @property
    def sysroot(self) -> Sysroot:
        if self._sysroot is None:
            self._sysroot = open_sysroot(self.options.sysroot, self.recipe_root, self.options.target)
        return self._sysroot

    @property
    def toolchain(self) -> Toolchain:
        if self._toolchain is None:
            self._toolchain = detect_toolchain(getattr(self.options, "toolchain", None), self.sysroot.target)
        return self._toolchain

    @property
    def chosen_lockfile(self) -> str | None:
        """The lockfile named by --lockfile or CWPKG_LOCK, if any."""
        return getattr(self.options, "lockfile", None) or os.environ.get("CWPKG_LOCK")

    @property
    def lockfile(self) -> Path:
        """The lockfile in use: the one named, else the one beside the recipes."""
        from cwpkg.repro import LOCK_NAME

        chosen = self.chosen_lockfile
        return Path(chosen).resolve() if chosen else self.recipe_root / LOCK_NAME

    def program_options(self, link: LinkOptions | None = None) -> ProgramOptions:
        """How `link` and `spec` build a program: --release, --no-install, the flags after `--`."""
        from cwpkg.link import LinkOptions, ProgramOptions

        return ProgramOptions(link=link or LinkOptions(), release=self.options.release,
                              flags=tuple(self.options.passthrough), install_missing=not self.options.no_install,
                              exceptions=getattr(self.options, "exceptions", None),
                              reactor=getattr(self.options, "reactor", False),
                              exports=tuple(getattr(self.options, "export", ())))

    def downloader(self) -> Downloader:
        from cwpkg.sources import Downloader

        return Downloader(quiet=self.quiet)

    def source_cache(self) -> SourceCache:
        from cwpkg.sources import SourceCache

        return SourceCache(cache_dir(), self.downloader())

    def binary_cache(self, required: bool = False) -> BinaryCache | None:
        """The binary cache CWPKG_BINARY_CACHE names; `required`: none configured is an error."""
        from cwpkg.sources import binary_cache_from_environment

        cache = binary_cache_from_environment(self.downloader())
        if cache is None and required:
            raise UsageError("no binary cache configured",
                             hint=f"set {BINARY_CACHE_VARIABLE} to a directory or an http(s) URL")
        return cache

    def install(self, requested: list[str], jobs: int | None = None, explain: bool = False,
                summary_to: TextIO = sys.stdout, expected_archives: dict[str, str] | None = None,
                build: bool = True, keep_trees: bool = False) -> list[Recipe]:
        """Installs `requested` and their dependencies (returned, dependencies first) and prints a summary
        line to `summary_to` (stderr where stdout belongs to a program's output)."""
        from cwpkg.builds import install_packages

        report = install_packages(
            self.book, self.toolchain, self.sysroot, self.source_cache(), requested,
            jobs=jobs or os.cpu_count() or 1, say=self.say, explain=explain, expected_archives=expected_archives,
            binary_cache=self.binary_cache() if expected_archives else None, build=build, keep_trees=keep_trees)
        print(report.summary(self.sysroot), file=summary_to)
        return report.recipes
