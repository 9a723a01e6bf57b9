"""The WebAssembly targets a sysroot can be built for, and what each is called where.

WASI preview 1 has two names: `wasm32-wasi`, the original one, and `wasm32-wasip1`, the name LLVM 18
and wasi-libc adopted when preview 2 arrived. Both build the same code for the same imports; what
differs is where a toolchain keeps its compiler-rt builtins (clang looks for them under the target's
name, so a toolchain "knows" a target when they are there: Debian's clang-19 has only `wasm32-wasi`'s;
wasi-sdk releases since the rename have both, and from version 34 on build no `wasm32-wasi` sysroot
and warn that the name is deprecated) and where a sysroot keeps its libraries (lib/<target>/, where
clang looks for them).

Crystal 1.6 knows only `wasm32-wasi` (its lib_c directory), so Crystal code is compiled with that
triple whatever the sysroot's target: its objects are the same wasm32 code either way.
"""

from __future__ import annotations

import os

from cwpkg.errors import UsageError

DEFAULT_TARGET = "wasm32-wasi"
TARGETS = ("wasm32-wasi", "wasm32-wasip1")
TARGET_VARIABLE = "CWPKG_TARGET"


def library_dir(target: str) -> str:
    """The sysroot's library directory for `target`, relative to the sysroot: where clang looks."""
    return f"lib/{target}"


def requested_target(option: str | None) -> str | None:
    """The target the user asked for with --target, else CWPKG_TARGET; None when neither is set."""
    source, name = ("--target", option) if option else (TARGET_VARIABLE, os.environ.get(TARGET_VARIABLE, "").strip())
    if not name:
        return None
    if name not in TARGETS:
        raise UsageError(f"{source} {name!r} is not a target cwpkg builds for",
                         hint=f"use one of: {', '.join(TARGETS)}")
    return name
