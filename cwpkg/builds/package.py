"""Builds one package, from its verified source to its package archive.

fetch -> unpack -> patch -> configure/make/install into a staging directory -> normalize -> check
`provides` -> deterministic archive. Everything happens in a private work directory; the archive is
written atomically, so a failed build leaves no trace but its log, which the error points to.
"""

from __future__ import annotations

import signal
import subprocess
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cwpkg import interrupts
from cwpkg.builds.environment import PREFIX, BuildDirs, build_environment, placeholders
from cwpkg.builds.kept import remove_tree
from cwpkg.builds.kinds import build_root, build_steps, refresh_config_scripts
from cwpkg.builds.staging import check_provides, normalize_stage
from cwpkg.errors import BuildError
from cwpkg.fs import unpack, write_archive
from cwpkg.places import ScratchDirectory, cache_dir, check_build_path
from cwpkg.recipes import Recipe, RecipeBook
from cwpkg.sources import SourceCache, apply_patch
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import Toolchain

LOG_TAIL_LINES = 25


@dataclass(frozen=True)
class BuildTree:
    """A package built in a work directory: where its build ran, with what environment and log."""

    dirs: BuildDirs
    root: Path  # the directory the build ran in: the source tree, or CMake's build directory
    placeholders: dict[str, str]  # what the recipe's {placeholders} stand for in this build
    env: dict[str, str]
    log: Path


@dataclass(frozen=True)
class PackageBuild:
    recipe: Recipe
    book: RecipeBook
    toolchain: Toolchain
    sources: SourceCache
    sysroot: Sysroot
    jobs: int
    say: Callable[[str], None]

    def run(self, archive: Path, keep_tree: bool = False) -> Path | None:
        """Builds the package into `archive`; with `keep_tree`, returns the work directory the build
        ran in, kept (see kept.py), else None."""
        recipe = self.recipe
        with work_directory(f"build-{recipe.name}", keep_tree) as work:
            tree = self.build_tree(work, install=True)
            source_name = f"/usr/src/{recipe.name}-{recipe.version}"
            normalize_stage(recipe, tree.dirs.stage, [(tree.dirs.src, source_name), (work, f"{source_name}-build"),
                                                      (self.sysroot.root, PREFIX)])
            check_provides(recipe, tree.dirs.stage, tree.placeholders["lib_dir"])
            write_archive(tree.dirs.stage, archive)
        return work if keep_tree else None

    def build_tree(self, work: Path, install: bool) -> BuildTree:
        """Fetches, unpacks, patches and builds the package in `work`; installs into its DESTDIR if asked."""
        recipe = self.recipe
        _, source_archive = self.sources.fetch(recipe)
        src = work / "src"
        self.say(f"{recipe.name}: unpacking {source_archive.name}")
        unpack(source_archive, src, strip_top=True)
        for patch in recipe.patches:
            self.say(f"{recipe.name}: applying {patch}")
            apply_patch(src, self.book.patch_path(patch), display_name=f"patches/{patch} ({recipe.path.name})")
        if recipe.build.kind == "autotools":
            refresh_config_scripts(src)
        tree = self.tree_in(work)
        for step in build_steps(recipe, self.toolchain, tree.dirs, tree.placeholders, work):
            if step.label != "install" or install:
                self.say(f"{recipe.name}: {step.label}")
                run_logged(recipe, step.label, list(step.argv), step.cwd, tree.env, tree.log)
        return tree

    def tree_in(self, work: Path) -> BuildTree:
        """The build tree in `work`, where `build_tree` builds (or built) the package, with this
        build's placeholders and environment."""
        dirs = BuildDirs(src=work / "src", destdir=work / "dest", sysroot=self.sysroot)
        values = placeholders(self.toolchain, self.recipe, dirs, self.jobs)
        return BuildTree(dirs=dirs, root=build_root(self.recipe, dirs, work), placeholders=values,
                         env=build_environment(self.toolchain, self.recipe, dirs, values), log=work / "build.log")


@contextmanager
def work_directory(prefix: str, keep: bool = False, existing: Path | None = None) -> Iterator[Path]:
    """A private directory for one build, removed afterwards unless `keep`; a failed build keeps it
    and its error names it, so the log and tree can be inspected. `existing`: a tree kept by an
    earlier build (kept.py), now owned by the caller, instead of a new directory."""
    check_build_path(cache_dir(), "the cache", "set CWPKG_CACHE to a path without such characters")
    scratch = ScratchDirectory(prefix) if existing is None else None
    path = scratch.path if scratch is not None else existing
    remove = scratch.remove if scratch is not None else (lambda: remove_tree(path))
    try:
        yield path
    except BuildError as error:
        if interrupts.terminated:  # the tools failed because cwpkg stopped them: nothing to inspect
            remove()
        else:
            error.message += f"\n  work directory kept for inspection: {path}"
        raise
    except BaseException:
        remove()
        raise
    if not keep:
        remove()


def run_logged(recipe: Recipe, label: str, argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
    with open(log, "ab") as handle:
        handle.write(f"\n$ {' '.join(argv)}\n".encode())
        handle.flush()
        try:
            completed = subprocess.run(argv, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        except OSError as error:
            raise BuildError(f"{recipe.name}: {label} could not start {argv[0]}: {error}") from None
    if completed.returncode in (-signal.SIGINT, -signal.SIGTERM):
        raise KeyboardInterrupt  # the user's Ctrl-C reached the build first: an interruption, not a failure
    if completed.returncode != 0:
        with open(log, "rb") as handle:
            tail = deque(handle.read().decode("utf-8", "replace").splitlines(), maxlen=LOG_TAIL_LINES)
        raise BuildError(
            f"{recipe.name}: {label} failed (exit {completed.returncode}); last lines of {log}:\n    "
            + "\n    ".join(tail)
        )
