"""What the link needs to know from a Crystal program's LLVM IR (crystal build --emit llvm-ir)."""

from __future__ import annotations

import re

# A global's name in LLVM's textual IR: @name or @"quoted name" (with \XX escapes, on one line: an `@"`
# inside a metadata string must not swallow what follows); and whether a `(` follows it, which makes
# it a call's callee or a definition's or declaration's name. (Numbered globals, @N, are never
# defined functions of Crystal's.)
_IR_GLOBAL = re.compile(rb'@(?:"((?:[^"\\\n]|\\[0-9A-Fa-f]{2}|\\\\)*)"|([-a-zA-Z$._][-a-zA-Z$._0-9]*))(\()?')
_IR_DEFINITION = re.compile(rb'^define\b[^@\n]*@', re.MULTILINE)
_IR_ESCAPE = re.compile(rb"\\([0-9A-Fa-f]{2}|\\)")


def _ir_name(match: re.Match[bytes]) -> str:
    quoted, plain = match.group(1), match.group(2)
    if quoted is None:
        return plain.decode("utf-8", "replace")
    return _IR_ESCAPE.sub(lambda escape: b"\\" if escape.group(1) == b"\\" else bytes([int(escape.group(1), 16)]),
                          quoted).decode("utf-8", "replace")


def only_called(ir: bytes) -> frozenset[str]:
    """The functions an LLVM IR module defines and only ever calls (or invokes): no reference to them
    but as a callee, `@name(`. The Emscripten lowering takes the address of every invoked function (an
    invoke_SIG call gets it as its first argument), which puts it in the linked module's table, where
    an analysis by signature would let every indirect call of the program reach it; only the catchers
    do (cwpkg.link.asyncify_lists, cwpkg.link.raise_returns). A reference anywhere else (a proc, a
    callback given to C, a bitcast callee) counts as taking the address."""
    defined: set[str] = set()
    referenced: set[str] = set()
    for definition in _IR_DEFINITION.finditer(ir):
        match = _IR_GLOBAL.match(ir, definition.end() - 1)
        if match and match.group(3):
            defined.add(_ir_name(match))
    for match in _IR_GLOBAL.finditer(ir):
        if not match.group(3):
            referenced.add(_ir_name(match))
    return frozenset(defined - referenced)
