"""The environment and placeholder values that every package build sees.

Packages are configured for a fixed logical prefix (/wasi-sysroot) and installed with DESTDIR into a
staging directory, so nothing built depends on where the sysroot or the build directory really is;
-ffile-prefix-map removes those paths from debug info and __FILE__, and SOURCE_DATE_EPOCH fixes any
embedded time. Both serve bit-identical rebuilds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cwpkg.fs import SOURCE_DATE_EPOCH
from cwpkg.recipes import Recipe
from cwpkg.sysroot import INCLUDE_DIR, Sysroot
from cwpkg.toolchain import Toolchain, library_dir

PREFIX = "/wasi-sysroot"
INCLUDEDIR = f"{PREFIX}/{INCLUDE_DIR}"
PASSED_VARIABLES = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "PYTHONPATH")


@dataclass(frozen=True)
class BuildDirs:
    src: Path  # unpacked and patched source tree
    destdir: Path  # DESTDIR for `make install`
    sysroot: Sysroot  # where the dependencies are installed

    @property
    def stage(self) -> Path:
        """The installed tree of this package: DESTDIR plus the logical prefix."""
        return self.destdir / PREFIX.lstrip("/")


def compile_flags(recipe: Recipe, dirs: BuildDirs) -> str:
    return " ".join([
        "-O2",
        f"-ffile-prefix-map={dirs.src}=/usr/src/{recipe.name}-{recipe.version}",
        f"-ffile-prefix-map={dirs.sysroot.root}={PREFIX}",
    ])


def placeholders(toolchain: Toolchain, recipe: Recipe, dirs: BuildDirs, jobs: int) -> dict[str, str]:
    """Values for the {placeholders} of recipe build arguments (see recipe.PLACEHOLDERS)."""
    return {
        "clang": toolchain.clang,
        "ar": toolchain.ar,
        "ranlib": toolchain.ranlib,
        "nm": toolchain.nm,
        "wasm_ld": toolchain.wasm_ld,
        "cflags": compile_flags(recipe, dirs),
        "sysroot": str(dirs.sysroot.root),
        "stage": str(dirs.stage),
        "destdir": str(dirs.destdir),
        "prefix": PREFIX,
        "jobs": str(jobs),
        "src": str(dirs.src),
        "target": toolchain.target,
        "lib_dir": library_dir(toolchain.target),
    }


def build_environment(toolchain: Toolchain, recipe: Recipe, dirs: BuildDirs, values: dict[str, str]) -> dict[str, str]:
    """The environment of every build step; `values` are the build's placeholders."""
    compiler = " ".join(toolchain.compiler(dirs.sysroot.root))
    # Only what a build needs from the caller's environment: a token or password in it (a binary
    # cache's, say) must not reach configure scripts, makefiles and their logs.
    env = {key: os.environ[key] for key in PASSED_VARIABLES if key in os.environ}
    env.update({
        "CC": compiler,
        "CPP": f"{compiler} -E",
        "AR": toolchain.ar,
        "RANLIB": toolchain.ranlib,
        "NM": toolchain.nm,
        "LD": toolchain.wasm_ld,
        "CFLAGS": values["cflags"],
        "DESTDIR": str(dirs.destdir),  # every kind's install step honours it
        **dirs.sysroot.pkg_config_environment(),
        "CONFIG_SITE": "/dev/null",
        "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH),
        "LC_ALL": "C",
        "TZ": "UTC",
    })
    for key, value in recipe.build.env:
        expanded = value.format_map(values)
        env[key] = f"{env[key]} {expanded}" if key in ("CFLAGS", "CPPFLAGS", "LDFLAGS", "LIBS") and key in env else expanded
    return env
