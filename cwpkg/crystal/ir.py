"""What the link needs to know from a Crystal program's LLVM IR (crystal build --emit llvm-ir)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

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


# A definition with its debug information (`define ... @name(...) ... !dbg !N {`), a subprogram's file
# (`!N = distinct !DISubprogram(... file: !F, ...)`) and a file's path (`!F = !DIFile(filename: ...,
# directory: ...)`).
_IR_DEBUG_DEFINITION = re.compile(rb'^define\b[^@\n]*@([A-Za-z_][A-Za-z0-9_]*)\(.*!dbg !(\d+) \{$', re.MULTILINE)
_IR_SUBPROGRAM_FILE = re.compile(rb'^!(\d+) = distinct !DISubprogram\(.*?\bfile: !(\d+)', re.MULTILINE)
_IR_FILE = re.compile(rb'^!(\d+) = !DIFile\(filename: "((?:[^"\\]|\\.)*)", directory: "((?:[^"\\]|\\.)*)"\)',
                      re.MULTILINE)


def defined_funs(ir: bytes, outside: list[Path]) -> list[str]:
    """The funs (C-named functions) that a Crystal program's IR defines from source files outside the
    `outside` directories (the standard library), in definition order: the program's own `fun`s. A
    program compiled without debug information (--no-debug) has none that can be told apart."""
    files = {number: Path(directory.decode("utf-8", "replace"), filename.decode("utf-8", "replace"))
             for number, filename, directory in _IR_FILE.findall(ir)}
    subprograms = dict(_IR_SUBPROGRAM_FILE.findall(ir))
    found = []
    for name, subprogram in _IR_DEBUG_DEFINITION.findall(ir):
        path = files.get(subprograms.get(subprogram, b""))
        if path is not None and path.is_absolute() and not any(path.is_relative_to(root) for root in outside):
            found.append(name.decode())
    return found


# The attribute Crystal gives every fun it defines on wasm32: export it under its name.
_IR_EXPORT_ATTRIBUTE = re.compile(rb' "wasm-export-name"="(?:[^"\\]|\\.)*"')


def without_exports(ir: bytes) -> bytes:
    """The IR with no function exported by attribute (Crystal exports every fun on wasm32)."""
    return _IR_EXPORT_ATTRIBUTE.sub(b"", ir)


# A comparison written as a constant expression in an instruction's operand (`and i1 %12, icmp slt (i32
# ptrtoint (...) to i32), i32 0)`: Pointer(T)#bytesize's overflow check when T's size is a pointer's),
# which the LLVM that Crystal 1.6 uses emits and LLVM 19 no longer reads ("icmp constexprs are no
# longer supported").
_IR_COMPARISON_CONSTANT = re.compile(rb"\b([if]cmp) ([a-z]+) \(")
_IR_BRACKETS = {ord("("): ord(")"), ord("{"): ord("}"), ord("<"): ord(">"), ord("["): ord("]")}


def _unquoted(text: bytes, start: int = 0) -> Iterator[tuple[int, int]]:
    """The positions and characters of `text` from `start`, but those inside quotes (a name such as
    @"*Int32#<=><Int32>:Int32" holds brackets; a quote inside one is written \\22)."""
    quoted = False
    for position in range(start, len(text)):
        character = text[position]
        if character == ord('"'):
            quoted = not quoted
        elif not quoted:
            yield position, character


def _closing(text: bytes, start: int) -> int:
    """The position of the bracket that closes the one at `start` (brackets of every kind nest)."""
    stack = []
    for position, character in _unquoted(text, start):
        if character in _IR_BRACKETS:
            stack.append(_IR_BRACKETS[character])
        elif stack and character == stack[-1]:
            stack.pop()
            if not stack:
                return position
    raise ValueError("unbalanced brackets")


def _typed_value(operand: bytes) -> tuple[bytes, bytes]:
    """A constant expression's operand, `TYPE VALUE`, as its type and its value."""
    operand = operand.strip()
    end = _closing(operand, 0) + 1 if operand[:1] in (b"{", b"<", b"[") else operand.index(b" ")
    while operand[end:end + 1] == b"*":  # a pointer to a struct literal type
        end += 1
    return operand[:end], operand[end:].strip()


def _split_operands(operands: bytes) -> tuple[bytes, bytes]:
    """`A, B` at the top level of nesting (A and B may contain commas inside brackets)."""
    depth = 0
    for position, character in _unquoted(operands):
        if character in _IR_BRACKETS:
            depth += 1
        elif character in _IR_BRACKETS.values():
            depth -= 1
        elif character == ord(",") and depth == 0:
            return operands[:position], operands[position + 1:]
    raise ValueError("a comparison has two operands")


def without_comparison_constants(ir: bytes) -> bytes:
    """The IR with each comparison constant expression inside a function's instruction computed by an
    instruction of its own just before it (`%cwpkg.cmpN = icmp slt i32 ..., 0`), and the operand naming
    its result: what LLVM 19 reads. Phi nodes (which must open their block) and global initializers
    are left as they are: Crystal 1.6 was not seen to put comparisons there."""
    if not _IR_COMPARISON_CONSTANT.search(ir):
        return ir
    lines, rewritten, count = ir.split(b"\n"), [], 0
    for line in lines:
        found = _IR_COMPARISON_CONSTANT.search(line) if line.startswith(b"  ") and b" = phi " not in line else None
        while found:
            close = _closing(line, found.end() - 1)
            first, second = _split_operands(line[found.end():close])
            kind, value = _typed_value(first)
            name = b"%%cwpkg.cmp%d" % count
            count += 1
            rewritten.append(b"  %s = %s %s %s %s, %s" % (name, found.group(1), found.group(2), kind, value,
                                                           _typed_value(second)[1]))
            line = line[:found.start()] + name + line[close + 1:]
            found = _IR_COMPARISON_CONSTANT.search(line)
        rewritten.append(line)
    return b"\n".join(rewritten)
