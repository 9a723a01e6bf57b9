"""`cwpkg env`: the variables that let plain tools (crystal, make, CMake, meson) use the sysroot."""

from __future__ import annotations

import os

from cwpkg.cli.context import Context
from cwpkg.crystal import compat_stdlib, find_crystal
from cwpkg.errors import ToolchainError
from cwpkg.link import render_environment, sysroot_environment
from cwpkg.places import cache_dir


def cmd_env(context: Context) -> int:
    toolchain, sysroot = context.toolchain, context.sysroot
    try:
        compiler = find_crystal()
        stdlib = compat_stdlib(compiler, context.recipe_root, cache_dir())
    except ToolchainError as error:  # C builds can still use the sysroot
        context.say(f"cwpkg: no Crystal variables: {error}")
        compiler, stdlib = None, None
    choice = context.options.toolchain or os.environ.get("CWPKG_TOOLCHAIN")
    variables = sysroot_environment(context.recipe_root, sysroot, toolchain, choice, compiler, stdlib)
    print(render_environment(variables, context.options.shell), end="")
    return 0
