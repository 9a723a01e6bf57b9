"""The commands each build kind runs: autotools, cmake, make and scons."""

from __future__ import annotations

import glob
import shutil
from dataclasses import dataclass
from pathlib import Path

from cwpkg.builds.environment import INCLUDEDIR, PREFIX, BuildDirs
from cwpkg.errors import ToolchainError
from cwpkg.recipes import Recipe
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import Toolchain

CONFIG_AUX_DIRS = ("/usr/share/misc", "/usr/share/automake-*", "/usr/share/libtool/build-aux",
                   "/usr/local/share/automake-*", "/opt/homebrew/share/automake-*")


@dataclass(frozen=True)
class Step:
    label: str
    argv: tuple[str, ...]
    cwd: Path


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolchainError(f"{name} is not installed (needed to build)", hint=f"install {package}")
    return path


def refresh_config_scripts(source: Path) -> list[Path]:
    """Replaces every config.sub/config.guess in the tree with the system's current ones.

    Tarballs made before 2021 ship scripts that reject `--host=wasm32-wasi`.
    """
    fresh: dict[str, Path] = {}
    for pattern in CONFIG_AUX_DIRS:
        for directory in sorted(glob.glob(pattern), reverse=True):
            for name in ("config.sub", "config.guess"):
                candidate = Path(directory) / name
                if name not in fresh and candidate.is_file():
                    fresh[name] = candidate
    if len(fresh) < 2:
        raise ToolchainError(
            "no current config.sub/config.guess found (autotools builds need them to know wasm32-wasi)",
            hint="install autotools-dev (Debian/Ubuntu) or automake",
        )
    replaced = []
    for name, replacement in fresh.items():
        for old in source.rglob(name):
            if old.is_file() and not old.is_symlink():
                old.unlink()  # not written in place: another hard link to it keeps its content
                shutil.copyfile(replacement, old)
                old.chmod(0o755)
                replaced.append(old)
    return replaced


def build_steps(recipe: Recipe, toolchain: Toolchain, dirs: BuildDirs, values: dict[str, str], work: Path) -> list[Step]:
    """The commands of the recipe's build kind; `values` are the build's placeholders."""
    spec = recipe.build
    args = [arg.format_map(values) for arg in spec.args]
    make_args = [arg.format_map(values) for arg in spec.make_args]
    # On make's command line too, where it beats a Makefile's own `DESTDIR =` (OpenSSL's), which the
    # environment does not: such an install would write to the real prefix, outside the sysroot.
    destdir = f"DESTDIR={dirs.destdir}"
    src = dirs.src
    if spec.kind == "autotools":
        make = require_tool("make", "make")
        steps = [
            Step("configure", (str(src / "configure"), f"--host={toolchain.target}", f"--prefix={PREFIX}",
                               f"--libdir={PREFIX}/{values['lib_dir']}",
                               f"--includedir={INCLUDEDIR}", "--disable-shared", "--enable-static", *args), src),
            Step("make", (make, f"-j{values['jobs']}", *make_args), src),
        ]
        if spec.install_target:
            steps.append(Step("install", (make, spec.install_target, *make_args, destdir), src))
        return steps
    if spec.kind == "cmake":
        cmake = require_tool("cmake", "cmake")
        toolchain_file = work / "wasi-toolchain.cmake"
        toolchain_file.write_text(cmake_toolchain(toolchain, dirs.sysroot))
        build_dir = build_root(recipe, dirs, work)
        steps = [
            Step("configure", (cmake, "-S", str(src), "-B", str(build_dir), "-G", "Unix Makefiles",
                               f"-DCMAKE_TOOLCHAIN_FILE={toolchain_file}", f"-DCMAKE_INSTALL_PREFIX={PREFIX}",
                               f"-DCMAKE_INSTALL_LIBDIR={values['lib_dir']}", "-DCMAKE_BUILD_TYPE=Release",
                               "-DBUILD_SHARED_LIBS=OFF", *args), src),
            Step("build", (cmake, "--build", str(build_dir), "-j", values["jobs"], *make_args), src),
        ]
        if spec.install_target:
            steps.append(Step("install", (cmake, "--build", str(build_dir), "--target", spec.install_target), src))
        return steps
    if spec.kind == "make":
        make = require_tool("make", "make")
        steps = [Step("configure", (str(src / spec.configure_script), *args), src)] if args else []
        steps.append(Step("make", (make, f"-j{values['jobs']}", *make_args), src))
        if spec.install_target:
            steps.append(Step("install", (make, spec.install_target, *make_args, destdir), src))
        return steps
    scons = require_tool("scons", "SCons (pip install scons)")
    steps = [Step("scons", (scons, f"-j{values['jobs']}", *args), src)]
    if spec.install_target:
        steps.append(Step("install", (scons, spec.install_target, *args), src))
    return steps


def build_root(recipe: Recipe, dirs: BuildDirs, work: Path) -> Path:
    """Where the build runs: CMake builds out of tree, every other kind in the source tree."""
    return work / "cmake-build" if recipe.build.kind == "cmake" else dirs.src


def cmake_toolchain(toolchain: Toolchain, sysroot: Sysroot) -> str:
    """A CMake toolchain file for building the toolchain's target's code against `sysroot`."""
    return "\n".join([
        "set(CMAKE_SYSTEM_NAME WASI)",
        "set(CMAKE_SYSTEM_VERSION 1)",
        "set(CMAKE_SYSTEM_PROCESSOR wasm32)",
        f"set(CMAKE_C_COMPILER {toolchain.clang})",
        f"set(CMAKE_C_COMPILER_TARGET {toolchain.target})",
        f"set(CMAKE_AR {toolchain.ar} CACHE FILEPATH \"archiver\")",
        f"set(CMAKE_RANLIB {toolchain.ranlib} CACHE FILEPATH \"ranlib\")",
        f"set(CMAKE_SYSROOT {sysroot.root})",
        "set(CMAKE_EXECUTABLE_SUFFIX .wasm)",
        "set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)",
        "set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)",
        "set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)",
        "set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)",
        "set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)",
        "",
    ])
