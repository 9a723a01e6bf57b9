"""`cwpkg bindings`: the installed compiler's standard library bindings against the sysroot's C headers."""

from __future__ import annotations

from pathlib import Path

from cwpkg.bindings import check_bindings
from cwpkg.cli.context import Context
from cwpkg.crystal import compat_stdlib, find_crystal
from cwpkg.errors import CheckFailed, UsageError
from cwpkg.places import cache_dir


def cmd_bindings(context: Context) -> int:
    options = context.options
    programs = [Path(name) for name in options.programs]
    for program in programs:
        if program.suffix != ".cr" or not program.is_file():
            raise UsageError(f"{program}: not a Crystal source file (.cr)")
    compiler = find_crystal()
    if options.unpatched:
        stdlib, what = compiler.stdlib, "as installed"
    else:
        compat = compat_stdlib(compiler, context.recipe_root, cache_dir())
        stdlib = compat.path
        what = f"with compat patches {', '.join(patch.name for patch in compat.patches)}" if compat.patches else \
            "as installed (no compat patches for this version)"
    sysroot = context.sysroot
    if not sysroot.owners():
        raise UsageError(f"nothing is installed in the sysroot {sysroot.root} to check the bindings against",
                         hint="cwpkg install --all")
    toolchain = context.toolchain
    context.say(f"Crystal {compiler.version}'s standard library {what}: {stdlib}")
    with sysroot.locked(context.say, shared=True):
        report = check_bindings(compiler, stdlib, toolchain, sysroot, programs, context.say)
    for mismatch in report.mismatches:
        print(mismatch)
    if options.verbose:
        for title, lines in (("partial structs (leading members only)", report.partial),
                             ("not declared in the sysroot's headers", report.undeclared),
                             ("rejected by the compiler for wasm32", report.not_on_wasm32)):
            print(f"{title}: {len(lines)}")
            for line in lines:
                print(f"  {line}")
    print(f"Crystal {compiler.version}: {report.summary()}")
    if report.mismatches:
        raise CheckFailed(f"{len(report.mismatches)} bindings of Crystal {compiler.version}'s standard library "
                          f"differ from the C headers of the sysroot {sysroot.root}",
                          hint="fix them in patches/crystal/<version>/ (each line above names the Crystal "
                               "declaration and the C one)")
    return 0
