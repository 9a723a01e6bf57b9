"""`cwpkg env`: what plain tools need to build against the sysroot without cwpkg in between.

Variables for crystal (the compat-patched standard library, the sysroot's libraries, a `wasm-ld` on
PATH that links as `cwpkg link` does), for pkg-config, and for C builds (CC, AR, flags), plus a CMake
toolchain file and a meson cross file. The generated files live in the sysroot's `.cwpkg/env/` and are
rewritten by every `cwpkg env`, so they always name the current toolchain.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from cwpkg.builds import cmake_toolchain
from cwpkg.crystal import CompatStdlib, CrystalCompiler, crystal_environment
from cwpkg.fs import write_text_atomically
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import TARGET_VARIABLE, Toolchain


def _cmake_wasi_platform(sysroot: Sysroot) -> str:
    """CMake knows no WASI platform: this one makes find_package/find_library look for static libraries
    in the sysroot's lib/TARGET and name programs *.wasm, as wasi-sdk's own platform file does."""
    return "\n".join([
        "set(WASI 1)",
        "set(CMAKE_EXECUTABLE_SUFFIX .wasm)",
        "set(CMAKE_STATIC_LIBRARY_PREFIX lib)",
        "set(CMAKE_STATIC_LIBRARY_SUFFIX .a)",
        "set(CMAKE_FIND_LIBRARY_PREFIXES lib)",
        "set(CMAKE_FIND_LIBRARY_SUFFIXES .a)",
        "list(APPEND CMAKE_SYSTEM_PREFIX_PATH /)",
        f"set(CMAKE_LIBRARY_ARCHITECTURE {sysroot.target})",
        "",
    ])


def _wasm_ld_wrapper(recipe_root: Path, sysroot: Sysroot, toolchain_choice: str | None) -> str:
    settings = {"CWPKG_RECIPES": str(recipe_root), "CWPKG_SYSROOT": str(sysroot.root), TARGET_VARIABLE: sysroot.target}
    if toolchain_choice:
        settings["CWPKG_TOOLCHAIN"] = toolchain_choice
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in settings.items())
    return (f"#!/bin/sh\n# Written by `cwpkg env`: links {sysroot.target} programs against {sysroot.root} as `cwpkg link` does.\n"
            f"{assignments} exec {shlex.quote(sys.executable)} -m cwpkg.link.shim \"$@\"\n")


def _meson_cross_file(toolchain: Toolchain, sysroot: Sysroot, link_flags: list[str]) -> str:
    def quoted(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    c = ", ".join(quoted(part) for part in toolchain.compiler(sysroot.root))
    runner = ", ".join(quoted(part) for part in (sys.executable, "-m", "cwpkg", "run", "--dir", "."))
    return "\n".join([
        "# Written by `cwpkg env`: meson setup --cross-file THIS build",
        "[binaries]",
        f"c = [{c}]",
        f"ar = {quoted(toolchain.ar)}",
        f"ranlib = {quoted(toolchain.ranlib)}",
        f"nm = {quoted(toolchain.nm)}",
        "pkg-config = 'pkg-config'",
        f"exe_wrapper = [{runner}]",
        "",
        "[properties]",
        f"sys_root = {quoted(str(sysroot.root))}",
        f"pkg_config_libdir = {quoted(str(sysroot.pkg_config_dir))}",
        "",
        "[built-in options]",
        f"c_link_args = [{', '.join(quoted(flag) for flag in link_flags)}]",
        "",
        "[host_machine]",
        "system = 'wasi'",
        "cpu_family = 'wasm32'",
        "cpu = 'wasm32'",
        "endian = 'little'",
        "",
    ])


def sysroot_environment(recipe_root: Path, sysroot: Sysroot, toolchain: Toolchain, toolchain_choice: str | None,
                        compiler: CrystalCompiler | None, stdlib: CompatStdlib | None) -> dict[str, str]:
    """Writes the generated files; returns the variables, PATH as the directory to put in front."""
    directory = sysroot.env_dir
    wrapper = directory / "bin" / "wasm-ld"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(wrapper, _wasm_ld_wrapper(recipe_root, sysroot, toolchain_choice), mode=0o755)
    # clang runs the wasm-ld beside itself, not the one on PATH, unless told: C programs then link as
    # `cwpkg link` links them (the stack size, libraries' dependencies, the GC runtime with -lgc).
    link_flags = [f"-fuse-ld={wrapper}"]
    cmake_file, meson_file = directory / "wasi-toolchain.cmake", directory / "wasi-cross.meson"
    platform = directory / "cmake" / "Platform" / "WASI.cmake"
    platform.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(platform, _cmake_wasi_platform(sysroot))
    write_text_atomically(cmake_file, cmake_toolchain(toolchain, sysroot) + "\n".join([
        f"list(APPEND CMAKE_MODULE_PATH {platform.parent.parent})",
        f'set(CMAKE_EXE_LINKER_FLAGS_INIT "{" ".join(link_flags)}")',
        "",
    ]))
    write_text_atomically(meson_file, _meson_cross_file(toolchain, sysroot, link_flags))
    variables = {"PATH": str(wrapper.parent)}
    if compiler is not None and stdlib is not None:
        variables.update(crystal_environment(compiler, stdlib, sysroot))
    variables.update(sysroot.pkg_config_environment())
    variables.update({
        "CC": " ".join(toolchain.compiler(sysroot.root)),
        "AR": toolchain.ar,
        "RANLIB": toolchain.ranlib,
        "NM": toolchain.nm,
        "CFLAGS": "-O2",
        "LDFLAGS": " ".join(link_flags),
        "CWPKG_CMAKE_TOOLCHAIN": str(cmake_file),
        "CWPKG_MESON_CROSS_FILE": str(meson_file),
    })
    return variables


def render_environment(variables: dict[str, str], shell: bool) -> str:
    lines = []
    for name, value in variables.items():
        if shell:
            value = f"{shlex.quote(value)}:\"$PATH\"" if name == "PATH" else shlex.quote(value)
            lines.append(f"export {name}={value}")
        else:
            lines.append(f"{name}={value}" + (" (in front of PATH)" if name == "PATH" else ""))
    return "\n".join(lines) + "\n"
