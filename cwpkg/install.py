"""Installing packages into a sysroot: from the binary cache where the lock allows, else by building."""

from __future__ import annotations

import sys

from cwpkg.binary_cache import binary_cache_from_environment
from cwpkg.context import Context, toolchain_for
from cwpkg.engine import InstallRun
from cwpkg.errors import FetchError
from cwpkg.layout import topmost_missing
from cwpkg.recipe import Recipe


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
    created = topmost_missing(sysroot.root)
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
        # A failed install leaves the cache and sysroot as they were, but for packages it completed;
        # a sysroot it created goes again unless another run installed something there meanwhile.
        if not run.installed:
            run.sources.forget_added()
        if created is not None:
            sysroot.remove_if_unused(created)
        raise
    if not run.built and not run.installed:
        print(f"nothing to do: {', '.join(requested)} up to date in {sysroot.root}", file=summary_to)
    else:
        restored = f"; from the binary cache: {', '.join(run.restored)}" if run.restored else ""
        print(f"built: {', '.join(run.built) or '-'}; installed: {', '.join(run.installed) or '-'}{restored}",
              file=summary_to)
    return recipes
