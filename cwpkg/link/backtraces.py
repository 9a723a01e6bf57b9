"""Backtraces for a raise: each function a raise can return through gets a number, and the link adds a
table of their names (docs/wasm-runtime.md, Backtraces).

wasm32 cannot walk its own stack, but a raise returns through every frame between it and its catcher
(cwpkg.link.raise_returns): each early return first calls `cwpkg_rt_trace_frame(NUMBER)`, which the
runtime writes into the exception's backtrace (runtime/exceptions.c). The numbers are the positions of
the functions' names in the table; the names come from the linked module's name section, and the
table is an object linked with the program, so the link runs twice: once to learn which functions
may raise, once with their names (an object of data only); the second link's checks find each
function's number by its name.
"""

from __future__ import annotations

from pathlib import Path

from cwpkg.link.exceptions import THROW
from cwpkg.link.generated import c_string_literal, compile_generated
from cwpkg.link.raise_returns import may_raise
from cwpkg.link.reactor import THUNK_PREFIX
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import Toolchain
from cwpkg.wasm import CodeModule

# The raise itself, which native Crystal leaves out of a backtrace too (raise.cr skips its own frames),
# and the plugin's thunks, which the link adds between a host's call and the fun it calls.
NOT_SHOWN = ("__crystal_raise", "*raise<", "*raise_without_backtrace<", THUNK_PREFIX)


# The methods whose name starts with "<", which is also where a Crystal symbol's arguments start.
LESS_THAN_OPERATORS = ("<=>", "<<", "<=", "<")


def frame_symbols(module: CodeModule, only_called: frozenset[str] = frozenset()) -> list[str]:
    """The symbols of the functions a raise can return through, in the order that numbers them."""
    names = {module.name(index) for index in may_raise(module, only_called)}
    return sorted(name for name in names if name != THROW and not name.startswith(NOT_SHOWN))


def display_name(symbol: str) -> str:
    """How a backtrace names a function: a Crystal method's symbol (`*Type#method<Args>:Result`) as
    `Type#method` (native Crystal, which has the file and line, shows just `method`); others as they
    are."""
    if not symbol.startswith("*"):
        return symbol
    depth, position = 0, 1
    while position < len(symbol):
        character = symbol[position]
        if depth == 0 and (character == "#" or symbol[position - 1:position + 1] == "::"):  # a method's name next
            operator = next((op for op in LESS_THAN_OPERATORS if symbol.startswith(op, position + 1)
                             and symbol[position + 1 + len(op):position + 2 + len(op)] in ("<", ":", "")), "")
            position += len(operator)
        elif character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
        elif depth == 0 and (character == "<" or (character == ":" and symbol[position - 1:position + 2].count(":") == 1)):
            break
        position += 1
    return symbol[1:position]


def names_source(symbols: list[str]) -> str:
    """C defining the runtime's weak table: how many names, where each starts, the text."""
    names = [display_name(symbol) for symbol in symbols]
    offsets, position = [], 0
    for name in names:
        offsets.append(position)
        position += len(name.encode("utf-8")) + 1
    text = "\n".join(f"    {c_string_literal(name + chr(0))}" for name in names) or '    ""'
    return (f"const unsigned cwpkg_rt_frame_count = {len(names)};\n"
            f"const unsigned cwpkg_rt_frame_name_offsets[] = {{{', '.join(map(str, offsets)) or '0'}}};\n"
            f"const char cwpkg_rt_frame_name_text[] =\n{text};\n")


def compile_frame_names(toolchain: Toolchain, sysroot: Sysroot, symbols: list[str], scratch: Path) -> Path:
    """The object holding the table of the names of `symbols`."""
    return compile_generated(toolchain, sysroot, "frame_names", names_source(symbols), scratch,
                             "the table of function names for backtraces")
