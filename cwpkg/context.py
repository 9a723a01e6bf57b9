"""What every command shares: the options, and the recipe book, sysroot, caches and toolchain they name."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cwpkg.layout import cache_dir, check_sysroot_location, default_sysroot, find_recipe_root
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import Toolchain, detect_toolchain

# Recipes (YAML) and downloads are imported when first used: `cwpkg link` starts the compiler first.
if TYPE_CHECKING:
    from cwpkg.download import Downloader
    from cwpkg.recipebook import RecipeBook
    from cwpkg.sources import SourceCache


class Context:
    """What a command needs, created on first use so that `cwpkg recipes` never probes a toolchain."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.quiet: bool = options.quiet
        self._book: RecipeBook | None = None
        self._recipe_root: Path | None = None
        self._sysroot: Sysroot | None = None

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    @property
    def recipe_root(self) -> Path:
        """The checkout holding recipes/ and patches/, found without reading a recipe."""
        if self._recipe_root is None:
            self._recipe_root = find_recipe_root(self.options.recipes)
        return self._recipe_root

    @property
    def book(self) -> RecipeBook:
        if self._book is None:
            from cwpkg.recipebook import RecipeBook

            self._book = RecipeBook(self.recipe_root)
        return self._book

    @property
    def sysroot(self) -> Sysroot:
        if self._sysroot is None:
            chosen = self.options.sysroot
            root = Path(chosen).expanduser().resolve() if chosen else default_sysroot(self.recipe_root)
            check_sysroot_location(root, self.recipe_root)
            self._sysroot = Sysroot(root)
        return self._sysroot

    def downloader(self) -> Downloader:
        from cwpkg.download import Downloader

        return Downloader(quiet=self.quiet)

    def source_cache(self) -> SourceCache:
        from cwpkg.sources import SourceCache

        return SourceCache(cache_dir(), self.downloader())


def toolchain_for(context: Context) -> Toolchain:
    return detect_toolchain(getattr(context.options, "toolchain", None))
