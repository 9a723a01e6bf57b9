"""The C compiler crystal links its macro `run` helpers with, natively, while it compiles for wasm32.

`cwpkg link` gives crystal the sysroot's libraries (CRYSTAL_LIBRARY_PATH, PKG_CONFIG_LIBDIR) for the
program's wasm32 link; crystal also builds the programs that macros `run` (ECR templates, for one)
for the host, with the same environment, and the host's linker then meets the sysroot's wasm32
archives first and fails ("file format not recognized"). crystal runs `$CC` for that link only (a
wasm32 link is wasm-ld, which cwpkg runs itself), so CC is this module, which drops the -L
directories inside the sysroot (named by SYSROOT_VARIABLE) and runs the real compiler (REAL_CC_VARIABLE,
else cc): the helper links against the host's libraries, as a native build's would.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

SYSROOT_VARIABLE = "CWPKG_HOST_CC_SYSROOT"
REAL_CC_VARIABLE = "CWPKG_HOST_CC"


def command() -> str:
    """CC for crystal: this module, run by this Python."""
    return f"{shlex.quote(sys.executable)} {shlex.quote(__file__)}"


def host_arguments(arguments: list[str], sysroot: Path) -> list[str]:
    """`arguments` without the library directories inside `sysroot` (-LDIR and -L DIR)."""
    kept: list[str] = []
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        directory = None
        if argument == "-L" and index + 1 < len(arguments):
            directory, index = arguments[index + 1], index + 1
        elif argument.startswith("-L"):
            directory = argument[2:]
        if directory is None:
            kept.append(argument)
        elif not Path(os.path.normpath(directory)).resolve().is_relative_to(sysroot):
            kept += ["-L", directory]
        index += 1
    return kept


def main() -> None:
    sysroot = Path(os.environ[SYSROOT_VARIABLE]).resolve()
    real = shlex.split(os.environ.get(REAL_CC_VARIABLE) or "cc")
    os.execvp(real[0], [*real, *host_arguments(sys.argv[1:], sysroot)])


if __name__ == "__main__":
    main()
