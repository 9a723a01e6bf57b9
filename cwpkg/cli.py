"""The `cwpkg` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cwpkg import __version__
from cwpkg.atomic import write_text_atomically
from cwpkg.checks import require_all_passed, run_check
from cwpkg.cli_reproducible import add_lockfile_option, add_reproducibility_commands, install_from_bundle, locked_archives
from cwpkg.cli_program import add_program_commands
from cwpkg.context import Context, install_packages, jobs_argument, toolchain_for
from cwpkg.errors import EXIT_CODES, BuildError, CwpkgError, SysrootError, UsageError, disk_full_error, is_disk_full
from cwpkg.package_build import PackageBuild
from cwpkg.sdk import install_toolchain, load_toolchain_recipe
from cwpkg.suite import SuiteResult, describe_result, require_suites_ok, run_suite
from cwpkg.suite_report import render_report
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import detect_toolchain

EPILOG = "exit codes:\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in sorted(EXIT_CODES.items()))


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--sysroot", metavar="DIR", default=argparse.SUPPRESS,
                        help="install root (default: CWPKG_SYSROOT, else sysroot/ beside the recipes)")
    common.add_argument("--recipes", metavar="DIR", default=argparse.SUPPRESS,
                        help="checkout holding recipes/ and patches/ (default: CWPKG_RECIPES, else this checkout)")
    common.add_argument("--toolchain", metavar="DIR", default=argparse.SUPPRESS,
                        help="LLVM prefix or wasi-sdk to use (default: CWPKG_TOOLCHAIN, WASI_SDK_PATH, system LLVM)")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="print only errors and results; no progress bars")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="cwpkg", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Builds the C libraries that Crystal programs need as WebAssembly (wasm32-wasi) into a sysroot.",
    )
    parser.add_argument("--version", action="version", version=f"cwpkg {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[common], help=help_text, description=help_text,
                                   formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)

    install = command("install", "build packages (and their dependencies) and install them into the sysroot")
    install.add_argument("packages", nargs="*", metavar="PKG")
    install.add_argument("--all", action="store_true", help="every recipe")
    install.add_argument("-j", "--jobs", type=jobs_argument, default=os.cpu_count() or 1,
                         help="packages built in parallel, and make's -j (default: number of cores)")
    install.add_argument("--explain", action="store_true", help="say why each package is (re)built")
    install.add_argument("--check", action="store_true", help="then run each package's test program")
    install.add_argument("--locked", action="store_true",
                         help="build only what the lockfile records (default: all of it) and insist on its bytes")
    add_lockfile_option(install)
    install.add_argument("--from-bundle", metavar="FILE", help="install a bundle made by `cwpkg bundle`, verified")
    install.set_defaults(handler=cmd_install)

    uninstall = command("uninstall", "remove packages' files from the sysroot")
    uninstall.add_argument("packages", nargs="+", metavar="PKG")
    uninstall.add_argument("--force", action="store_true", help="even if installed packages depend on them")
    uninstall.set_defaults(handler=cmd_uninstall)

    command("list", "installed packages and their versions").set_defaults(handler=cmd_list)

    info = command("info", "what is known of a package: recipe, and installed version, sources, patches, toolchain")
    info.add_argument("package", metavar="PKG")
    info.set_defaults(handler=cmd_info)

    fetch = command("fetch", "download and verify sources only (default: every recipe's), for offline builds")
    fetch.add_argument("packages", nargs="*", metavar="PKG")
    fetch.set_defaults(handler=cmd_fetch)

    command("recipes", "available recipes").set_defaults(handler=cmd_recipes)
    toolchain = command("toolchain", "the WebAssembly toolchain cwpkg would use")
    toolchain.add_argument("--install", metavar="NAME",
                           help="download a prebuilt toolchain (toolchains/NAME.yaml, e.g. wasi-sdk) into the cache")
    toolchain.set_defaults(handler=cmd_toolchain)

    test = command("test", "build libraries' own upstream test suites for wasm32-wasi and run them under wasmtime")
    test.add_argument("packages", nargs="*", metavar="PKG")
    test.add_argument("--all", action="store_true", help="every recipe that has a suite")
    test.add_argument("-j", "--jobs", type=jobs_argument, default=os.cpu_count() or 1, help="make's -j (default: cores)")
    test.add_argument("--report", action="store_true", help="print the results as a markdown table")
    test.add_argument("--report-file", metavar="FILE", help="also write that table to FILE")
    test.add_argument("--keep", action="store_true", help="keep the build trees the suites ran in")
    test.set_defaults(handler=cmd_test)

    check = command("check", "run installed packages' test programs under wasmtime (default: all installed)")
    check.add_argument("packages", nargs="*", metavar="PKG")
    check.set_defaults(handler=cmd_check)
    add_program_commands(command)
    add_reproducibility_commands(command)
    return parser


def cmd_install(context: Context) -> int:
    options = context.options
    if options.all and options.packages:
        raise UsageError("give package names or --all, not both")
    expected: dict[str, str] = {}
    if options.from_bundle:
        if options.all or options.packages or options.locked:
            raise UsageError("--from-bundle installs the bundle's packages: give no names, --all or --locked")
        return install_from_bundle(context, Path(options.from_bundle))
    if options.locked:
        requested, expected = locked_archives(context, [] if options.all else list(dict.fromkeys(options.packages)))
    elif not options.all and not options.packages:
        raise UsageError("name the packages to install, or use --all (or --locked)")
    else:
        requested = context.book.names() if options.all else list(dict.fromkeys(options.packages))
    recipes = install_packages(context, requested, options.jobs, options.explain, expected_archives=expected)
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
    install_packages(context, names, options.jobs, explain=False)
    toolchain, sysroot, sources = toolchain_for(context), context.sysroot, context.source_cache()
    results, failed_builds = [], []
    with sysroot.locked(context.say, shared=True):
        for name in names:  # a suite that cannot be built is reported with the rest, not alone
            build = PackageBuild(book.get(name), book, toolchain, sources, sysroot.root, options.jobs, context.say)
            try:
                results.append(run_suite(build, options.keep, context.say))
            except BuildError as error:
                failed_builds.append(error)
                results.append(SuiteResult(build.recipe, problems=[f"the suite could not be built: {error}"]))
    for result in results:
        print(describe_result(result))
    report = render_report(results)
    if options.report:
        print(report, end="")
    if options.report_file:
        write_text_atomically(Path(options.report_file), report)
    if failed_builds:
        raise BuildError("; ".join(error.message for error in failed_builds))
    require_suites_ok(results)
    return 0


def _run_checks(context: Context, recipes, sysroot: Sysroot) -> int:
    toolchain = toolchain_for(context)
    results = []
    for recipe in recipes:
        result = run_check(recipe, context.book, toolchain, sysroot.root)
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
    sysroot = context.sysroot
    with sysroot.locked(context.say):
        installed = sysroot.installed()
        for name in context.options.packages:
            if name not in installed:
                raise UsageError(f"{name} is not installed in {sysroot.root}")
        leaving = set(context.options.packages)
        if not context.options.force:
            for name, manifest in installed.items():
                needed = leaving & set(manifest.get("depends", []))
                if name not in leaving and needed:
                    raise SysrootError(f"{name} depends on {', '.join(sorted(needed))}",
                                       hint=f"uninstall {name} too, or use --force")
        for name in context.options.packages:
            sysroot.uninstall(name)
            print(f"removed {name}")
    return 0


def cmd_list(context: Context) -> int:
    sysroot = context.sysroot
    installed = sysroot.installed()
    if not installed:
        print(f"no packages installed in {sysroot.root}")
    for name, manifest in installed.items():
        print(f"{name:12} {manifest['version']:28} {len(manifest['files']):5} files  {manifest['identity'][:12]}")
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
    print(f"  installed: {manifest['version']} in {context.sysroot.root} ({len(manifest['files'])} files)")
    print(f"  identity:  {manifest['identity']}\n  archive:   sha256 {manifest['archive_sha256']}")
    for patch in manifest["patches"]:
        print(f"  built with patch {patch['path']} sha256 {patch['sha256']}")
    toolchain = manifest["toolchain"]
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
        recipe = load_toolchain_recipe(context.book.root, context.options.install)
        directory = install_toolchain(recipe, context.source_cache(), context.say)
        print(detect_toolchain(str(directory)).describe())
        print(f"\nto use it: export WASI_SDK_PATH={directory}")
        return 0
    print(toolchain_for(context).describe())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = sys.argv[1:] if argv is None else list(argv)
    # Everything after the first `--` goes to the program or compiler untouched (argparse mishandles
    # `--` below a subcommand).
    cut = arguments.index("--") if "--" in arguments else len(arguments)
    options = parser.parse_args(arguments[:cut])
    options.passthrough = arguments[cut + 1:]
    for name, default in (("sysroot", None), ("recipes", None), ("toolchain", None), ("quiet", False)):
        if not hasattr(options, name):
            setattr(options, name, default)
    context = Context(options)
    try:
        return options.handler(context)
    except CwpkgError as error:
        print(f"cwpkg: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("cwpkg: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`cwpkg info x | head`): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # a bug: one line for the user, the traceback with CWPKG_DEBUG=1
        if is_disk_full(error):
            full = disk_full_error(error)
            print(f"cwpkg: error: {full}", file=sys.stderr)
            return full.exit_code
        if os.environ.get("CWPKG_DEBUG"):
            raise
        print(f"cwpkg: internal error: {type(error).__name__}: {error}\n  fix: run again with CWPKG_DEBUG=1 "
              "and report the traceback", file=sys.stderr)
        return 1
