"""The `wasm-ld` that `cwpkg env` puts on PATH: a plain `crystal build --target wasm32-wasi` links through it.

Crystal runs `wasm-ld OBJECT -o OUT -lc -L$CRYSTAL_LIBRARY_PATH -lNAME...`; this links exactly as
`cwpkg link` does (sysroot, libraries' dependencies, builtins, stack size, Asyncify when imported),
with the sysroot, recipes and toolchain that the wrapper script names in CWPKG_* variables.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cwpkg.errors import CwpkgError, UsageError
from cwpkg.link.driver import LinkOptions, link_program
from cwpkg.places import find_recipe_root
from cwpkg.recipes import RecipeBook
from cwpkg.sysroot import open_sysroot
from cwpkg.toolchain import detect_toolchain, keep_new_answers
from cwpkg.wasm import parse_link_arguments


def _say(message: str) -> None:
    print(f"wasm-ld (cwpkg): {message}", file=sys.stderr)


def main(arguments: list[str]) -> int:
    try:
        line = parse_link_arguments(arguments)
        if line.output is None:
            raise UsageError("no -o OUTPUT among the arguments")
        book = RecipeBook(find_recipe_root())
        sysroot = open_sysroot(None, book.root)
        with sysroot.locked(_say, shared=True):
            link_program(detect_toolchain(target=sysroot.target), sysroot, book, line, Path(line.output), LinkOptions(), _say)
        keep_new_answers()
    except CwpkgError as error:
        _say(f"error: {error}")
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
