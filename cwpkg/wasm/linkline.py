"""Parses the link command that `crystal build --cross-compile` prints for wasm32.

Crystal 1.6 prints `wasm-ld OBJECT -o OUTPUT [--link-flags] -lc [-L... -lNAME ...]`; the libraries
come from the program's `@[Link]` annotations (through pkg-config where it finds them), the -L
directories from CRYSTAL_LIBRARY_PATH.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from cwpkg.errors import UsageError

INPUT_SUFFIXES = (".wasm", ".o", ".obj", ".a")
# wasm-ld's default is 64 KiB, which Crystal's deep call chains (and PCRE's matcher) overflow; WASI
# cannot grow a stack later, so programs get 8 MiB, as native Linux threads do.
STACK_SIZE = 8 << 20


@dataclass
class LinkLine:
    objects: list[str] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)  # names, as in -lNAME, first mention order
    library_dirs: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # anything else (the user's --link-flags)
    output: str | None = None
    # Functions of the objects that their source only ever calls, never takes the address of (known
    # from a Crystal program's LLVM IR, cwpkg.crystal.ir.only_called): whatever of them is in the
    # linked module's table got there as an invoke's callee, and only the exception catchers call it
    # through the table.
    only_called: frozenset[str] = frozenset()


def _add_once(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def parse_link_line(text: str, split: Callable[[str], list[str]] = shlex.split) -> LinkLine:
    """The last line of `text` that starts with a linker: crystal may print warnings before it; its
    words as `split` gives them (a shell's, where the line has command substitutions)."""
    candidates = [line for line in text.splitlines() if line.strip().split(" ", 1)[0].endswith("wasm-ld")]
    if not candidates:
        raise UsageError(f"crystal printed no wasm-ld command: {text.strip()[:300]!r}",
                         hint="is the target wasm32-unknown-wasi? cwpkg link passes it itself")
    return parse_link_arguments(split(candidates[-1])[1:])


def parse_link_arguments(tokens: list[str]) -> LinkLine:
    """wasm-ld's arguments, sorted into objects, libraries, directories and other flags."""
    line = LinkLine()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "-o" and index + 1 < len(tokens):
            index += 1
            line.output = tokens[index]
        elif token in ("-l", "-L") and index + 1 < len(tokens):
            index += 1
            _add_once(line.libraries if token == "-l" else line.library_dirs, tokens[index])
        elif token.startswith("-l"):
            _add_once(line.libraries, token[2:])
        elif token.startswith("-L"):
            _add_once(line.library_dirs, token[2:])
        elif token.startswith("-") or not token.endswith(INPUT_SUFFIXES):
            line.flags.append(token)  # a flag, or a flag's separate value (`-z stack-size=N`)
        else:
            line.objects.append(token)
        index += 1
    return line
