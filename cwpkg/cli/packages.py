"""The commands on packages: install, uninstall, list, info, fetch, recipes, toolchain, test and check."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cwpkg.builds import PackageBuild, take_tree
from cwpkg.cli.context import Context
from cwpkg.errors import BuildError, SysrootError, UsageError
from cwpkg.fs import write_text_atomically
from cwpkg.repro import install_bundle, locked_archives
from cwpkg.sysroot import Sysroot, check_output_path
from cwpkg.testing import (
    SuiteResult,
    describe_result,
    render_report,
    require_all_passed,
    require_suites_ok,
    run_check,
    run_suite,
    suite_link_recipes,
)
from cwpkg.toolchain import detect_toolchain, install_toolchain, load_toolchain_recipe


def cmd_install(context: Context) -> int:
    options = context.options
    if options.all and options.packages:
        raise UsageError("give package names or --all, not both")
    expected: dict[str, str] = {}
    if options.from_bundle:
        if options.all or options.packages or options.locked:
            raise UsageError("--from-bundle installs the bundle's packages: give no names, --all or --locked")
        bundle = Path(options.from_bundle)
        names = install_bundle(context.sysroot, bundle, context.lockfile, context.say)
        print(f"installed from {bundle.name}: {', '.join(names)}")
        return 0
    if options.locked:
        requested, expected = locked_archives(context.book, context.toolchain, context.lockfile,
                                              [] if options.all else list(dict.fromkeys(options.packages)))
    elif not options.all and not options.packages:
        raise UsageError("name the packages to install, or use --all (or --locked)")
    else:
        requested = context.book.names() if options.all else list(dict.fromkeys(options.packages))
    recipes = context.install(requested, options.jobs, options.explain, expected_archives=expected,
                              keep_trees=options.keep_build_trees)
    if options.check:
        return _run_checks(context, [r for r in recipes if r.test is not None], context.sysroot)
    return 0


def cmd_test(context: Context) -> int:
    options = context.options
    book = context.book
    if options.all == bool(options.packages):
        raise UsageError("name the packages to test, or use --all (not both)")
    names = [name for name in book.names() if book.get(name).suite is not None] if options.all else options.packages
    for name in names:
        if book.get(name).suite is None:
            raise UsageError(f"{name} has no upstream test suite in its recipe ({book.get(name).path})")
    linked = [needed for name in names for needed in suite_link_recipes(book.get(name), book, context.sysroot)]
    context.install(list(dict.fromkeys([*names, *linked])), options.jobs)
    toolchain, sysroot, sources = context.toolchain, context.sysroot, context.source_cache()
    stopping, saying = threading.Event(), threading.Lock()

    def run_one(name: str) -> tuple[SuiteResult, BuildError | None]:
        def say(message: str) -> None:
            if stopping.is_set():  # interrupted: the main thread stops; suites running beside it stop too
                raise KeyboardInterrupt
            with saying:  # one line at a time; a test's line names its suite
                context.say(f"{name}:{message}" if message.startswith(" ") else message)

        build = PackageBuild(book.get(name), book, toolchain, sources, sysroot, options.jobs, say)
        manifest = sysroot.manifest(name)
        kept = take_tree(sysroot, name, manifest.identity) if manifest is not None else None
        try:
            return run_suite(build, options.keep, say, kept), None
        except BuildError as error:  # a suite that cannot be built is reported with the rest, not alone
            return SuiteResult(build.recipe, problems=[f"the suite could not be built: {error}"]), error

    with sysroot.locked(context.say, shared=True):
        # Up to -j suites at once (most of a suite's time is one wasm program after another); the
        # results keep the order of the names.
        with ThreadPoolExecutor(max_workers=min(options.jobs, len(names))) as pool:
            try:
                done = list(pool.map(run_one, names))
            except BaseException:
                stopping.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    results = [result for result, _ in done]
    failed_builds = [error for _, error in done if error is not None]
    for result in results:
        print(describe_result(result))
    report = render_report(results)
    if options.report:
        print(report, end="")
    if options.report_file:
        write_text_atomically(check_output_path(Path(options.report_file), context.sysroot, "--report-file"),
                              report)
    if failed_builds:
        raise BuildError("; ".join(error.message for error in failed_builds))
    require_suites_ok(results)
    return 0


def _run_checks(context: Context, recipes, sysroot: Sysroot) -> int:
    toolchain = context.toolchain
    results = []
    for recipe in recipes:
        result = run_check(recipe, context.book, toolchain, sysroot, context.say)
        print(f"{'PASS' if result.passed else 'FAIL'} {recipe.name}: {result.detail}")
        results.append(result)
    require_all_passed(results)
    return 0


def cmd_check(context: Context) -> int:
    sysroot = context.sysroot
    installed = sysroot.installed()
    names = context.options.packages or sorted(installed)
    recipes = []
    for name in names:
        recipe = context.book.get(name)
        if name not in installed:
            raise UsageError(f"{name} is not installed in {sysroot.root}", hint=f"cwpkg install {name}")
        if recipe.test is not None:
            recipes.append(recipe)
    if not recipes:
        raise UsageError("no installed package with a test program", hint="cwpkg install PKG first")
    return _run_checks(context, recipes, sysroot)


def cmd_uninstall(context: Context) -> int:
    """Removes packages; one that is not installed is said so and skipped (as apt and pip do), so that
    running an interrupted uninstall again finishes it. A name no recipe knows is a mistake."""
    sysroot = context.sysroot
    names = list(dict.fromkeys(context.options.packages))
    if not sysroot.state.is_dir():  # no sysroot: nothing to lock, nothing to remove
        _say_not_installed(context, names)
        return 0
    with sysroot.locked(context.say):
        installed = sysroot.installed()
        _say_not_installed(context, [name for name in names if name not in installed])
        leaving = {name for name in names if name in installed}
        if not context.options.force:
            for name, manifest in installed.items():
                needed = leaving & set(manifest.depends)
                if name not in leaving and needed:
                    raise SysrootError(f"{name} depends on {', '.join(sorted(needed))}",
                                       hint=f"uninstall {name} too, or use --force")
        for name in names:
            if name in leaving:
                sysroot.uninstall(name)
                print(f"removed {name}")
    return 0


def _say_not_installed(context: Context, names: list[str]) -> None:
    for name in names:
        context.book.get(name)
        print(f"{name} is not installed in {context.sysroot.root}; nothing to remove")


def cmd_list(context: Context) -> int:
    sysroot = context.sysroot
    installed = sysroot.installed()
    if not installed:
        print(f"no packages installed in {sysroot.root}")
    for name, manifest in installed.items():
        print(f"{name:12} {manifest.version:28} {len(manifest.files):5} files  {manifest.identity[:12]}")
    return 0


def cmd_info(context: Context) -> int:
    recipe = context.book.get(context.options.package)
    print(f"{recipe.name} {recipe.version}: {recipe.summary}")
    print(f"  license:  {recipe.license}\n  homepage: {recipe.homepage}\n  recipe:   {recipe.path}")
    print(f"  depends:  {', '.join(recipe.depends) or '-'}")
    for source in recipe.sources:
        print(f"  source:   {source.description}\n            sha256 {source.sha256}")
    for patch in recipe.patches:
        print(f"  patch:    patches/{patch}")
    manifest = context.sysroot.manifest(recipe.name)
    if manifest is None:
        print("  installed: no")
        return 0
    print(f"  installed: {manifest.version} in {context.sysroot.root} ({len(manifest.files)} files)")
    print(f"  identity:  {manifest.identity}\n  archive:   sha256 {manifest.archive_sha256}")
    for patch in manifest.patches:
        print(f"  built with patch {patch['path']} sha256 {patch['sha256']}")
    toolchain = manifest.toolchain
    print(f"  toolchain: {toolchain['origin']}: {toolchain['clang']}")
    return 0


def cmd_fetch(context: Context) -> int:
    book = context.book
    names = context.options.packages or book.names()
    cache = context.source_cache()
    for recipe in book.with_dependencies(names):
        _, path = cache.fetch(recipe)
        print(f"{recipe.name} {recipe.version}: {path}")
    return 0


def cmd_recipes(context: Context) -> int:
    for name in context.book.names():
        recipe = context.book.get(name)
        print(f"{name:12} {recipe.version:28} {recipe.summary}")
    return 0


def cmd_toolchain(context: Context) -> int:
    if context.options.install:
        recipe = load_toolchain_recipe(context.recipe_root, context.options.install)
        directory = install_toolchain(recipe, context.source_cache(), context.say)
        # each target the recipe names must really be there: detection checks its builtins
        toolchains = [detect_toolchain(str(directory), target) for target in recipe.targets]
        print(toolchains[0].describe())
        print(f"\nto use it: export WASI_SDK_PATH={directory}")
        print(f"it builds for {', '.join(recipe.targets)}: choose with --target (CWPKG_TARGET) for a new sysroot")
        return 0
    print(context.toolchain.describe())
    return 0
