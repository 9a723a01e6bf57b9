"""Reads the `lib` blocks of Crystal sources: every fun, callback alias, struct and global, where it is.

Only what a binding declares is read here, as written, with the macro conditions (`{% if flag?(...) %}`)
around it; what the declarations mean for a target (which are active, what their types resolve to,
their layouts) is the compiler's answer, asked by bindings/crystal_declarations.py, which reproduces those
conditions around each question so that the compiler decides them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

LIB_START = re.compile(r"lib\s+([A-Z]\w*)$")
BLOCK_START = re.compile(r"(struct|union|enum)\s+([A-Z]\w*)\b")
ALIAS = re.compile(r"(alias|type)\s+([A-Z]\w*)\s*=\s*(.+)$")
GLOBAL = re.compile(r"\$(\w+)\s*(?:=\s*(\w+)\s*)?:\s*(.+)$")
FUN_HEAD = re.compile(r"fun\s+(\w+[?!]?)\s*(?:=\s*(\"?)([\w.$]+)\2)?\s*")
PARAM = re.compile(r"([a-z_]\w*)\s*:(?!:)\s*(.+)$", re.S)
FIELD = re.compile(r"(\w+(?:\s*,\s*\w+)*)\s*:\s*(.+)$")
MACRO_TAG = re.compile(r"\{%-?\s*(\w+)\b.*?-?%\}")
OPENERS = ("if", "unless", "for", "begin")


@dataclass(frozen=True)
class Where:
    file: Path
    line: int

    def relative_to(self, root: Path) -> str:
        try:
            return f"{self.file.relative_to(root)}:{self.line}"
        except ValueError:
            return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # as written, resolved in the lib's scope


@dataclass(frozen=True)
class LibFun:
    lib: str
    name: str
    c_name: str
    params: tuple[Param, ...]
    variadic: bool
    returns: str | None  # None: no return type (Nil)
    where: Where
    conditions: tuple[str, ...]  # macro tags to reopen around it, innermost last

    @property
    def label(self) -> str:
        return f"{self.lib}.{self.name}"


@dataclass(frozen=True)
class LibField:
    name: str
    type: str
    line: int
    conditions: tuple[str, ...]  # inside the struct, added to the struct's own


@dataclass(frozen=True)
class LibStruct:
    lib: str
    name: str
    union: bool
    fields: tuple[LibField, ...]
    where: Where
    conditions: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.lib}::{self.name}"


@dataclass(frozen=True)
class LibAlias:
    lib: str
    name: str
    type: str
    where: Where
    conditions: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.lib}::{self.name}"


@dataclass(frozen=True)
class LibGlobal:
    lib: str
    name: str
    c_name: str
    type: str
    where: Where
    conditions: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.lib}.${self.name}"


@dataclass
class LibDeclarations:
    funs: list[LibFun] = field(default_factory=list)
    structs: list[LibStruct] = field(default_factory=list)
    aliases: list[LibAlias] = field(default_factory=list)
    globals: list[LibGlobal] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # the files that declare something in a lib

    def extend(self, other: LibDeclarations) -> None:
        self.funs += other.funs
        self.structs += other.structs
        self.aliases += other.aliases
        self.globals += other.globals
        self.files += other.files


def _strip_comment(line: str) -> str:
    """The line without a trailing `#` comment (a `#` inside a string or char literal is kept)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == "\\":
                continue
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#" and not line[index:].startswith("#{"):
            return line[:index]
    return line


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """`text` split at `separator` outside parentheses and brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return [part for part in parts if part]


def _closing_paren(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return -1


class _MacroStack:
    """The macro control tags around the current line: one frame per open `{% if %}` chain (its
    `{% elsif %}`/`{% else %}` tags appended), so that the branch a line is in can be reopened."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, list[str]]] = []  # opening keyword, tags of the chain so far

    def feed(self, line: str) -> str:
        """Takes the macro tags out of `line`; returns what is left. A tag opened and closed on the
        same line (an annotation chosen by a flag, say) is dropped with what it encloses."""
        line = re.sub(r"\{%-?\s*(?:if|unless)\b.*?%\}.*?\{%-?\s*end\s*-?%\}", " ", line)
        for match in MACRO_TAG.finditer(line):
            keyword, tag = match.group(1), match.group(0)
            if keyword in OPENERS:
                self.frames.append((keyword, [tag]))
            elif keyword in ("elsif", "else") and self.frames:
                self.frames[-1][1].append(tag)
            elif keyword == "end" and self.frames:
                self.frames.pop()
        return MACRO_TAG.sub(" ", line)

    @property
    def in_loop(self) -> bool:
        """Inside `{% for %}`: what is declared there depends on the loop variable."""
        return any(keyword == "for" for keyword, _ in self.frames)

    def conditions(self) -> tuple[str, ...]:
        return tuple("".join(tags) for keyword, tags in self.frames if keyword != "begin")


def _parse_fun(text: str, lib: str, where: Where, conditions: tuple[str, ...]) -> LibFun | None:
    head = FUN_HEAD.match(text)
    if head is None:
        return None
    name, c_name = head.group(1), head.group(3) or head.group(1)
    rest = text[head.end():].strip()
    params: list[Param] = []
    variadic = False
    if rest.startswith("("):
        close = _closing_paren(rest, 0)
        if close < 0:
            return None
        for part in split_top_level(rest[1:close]):
            named = PARAM.match(part)
            if part == "...":
                variadic = True
            elif named:
                params.append(Param(named.group(1), named.group(2).strip()))
            elif params and params[0].name[0] != "_":
                # `f : A, B -> C`: the comma was inside a proc type without parentheses
                params[-1] = Param(params[-1].name, f"{params[-1].type}, {part}")
            else:  # parameters given by type only
                params.append(Param(f"_{len(params)}", part))
        rest = rest[close + 1:].strip()
    returns = rest[1:].strip() if rest.startswith(":") else None
    if returns in ("Void", "Nil"):
        returns = None
    return LibFun(lib, name, c_name, tuple(params), variadic, returns or None, where, conditions)


def scan_file(path: Path) -> LibDeclarations:
    """The declarations of every `lib` block in one Crystal source file."""
    found = LibDeclarations()
    macros = _MacroStack()
    lib: str | None = None
    block: tuple[str, str, int, tuple[str, ...]] | None = None  # kind, name, line, conditions
    fields: list[LibField] = []
    pending: tuple[str, int, tuple[str, ...]] | None = None  # a fun spanning lines: text so far, line
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for number, raw in enumerate(lines, 1):
        code = macros.feed(_strip_comment(raw)).strip()
        if "{{" in code:  # text made by a macro: nothing the scanner can read as written
            continue
        if pending is not None:
            text, start, conditions = pending
            text = f"{text} {code}"
            if text.count("(") > text.count(")") or text.rstrip().endswith(","):
                pending = (text, start, conditions)
                continue
            pending = None
            fun = _parse_fun(text, lib or "", Where(path, start), conditions)
            if fun is not None:
                found.funs.append(fun)
            continue
        if not code or code.startswith("@["):
            continue
        if lib is None:
            match = LIB_START.match(code)
            if match:
                lib = match.group(1)
            continue
        if code == "end":
            if block is None:
                lib = None
            else:
                kind, name, line, conditions = block
                if kind != "enum":
                    found.structs.append(LibStruct(lib, name, kind == "union", tuple(fields), Where(path, line),
                                                   conditions))
                block, fields = None, []
            continue
        if macros.in_loop:
            continue
        conditions = macros.conditions()
        if block is not None:
            match = FIELD.match(code)
            if block[0] != "enum" and match:
                inner = conditions[len(block[3]):]
                for name in re.split(r"\s*,\s*", match.group(1)):
                    fields.append(LibField(name, match.group(2).strip(), number, inner))
            continue
        if code.startswith("fun "):
            if code.count("(") > code.count(")") or code.endswith(","):
                pending = (code, number, conditions)
                continue
            fun = _parse_fun(code, lib, Where(path, number), conditions)
            if fun is not None:
                found.funs.append(fun)
        elif match := BLOCK_START.match(code):
            block = (match.group(1), match.group(2), number, conditions)
        elif match := ALIAS.match(code):
            found.aliases.append(LibAlias(lib, match.group(2), match.group(3).strip(), Where(path, number), conditions))
        elif match := GLOBAL.match(code):
            found.globals.append(LibGlobal(lib, match.group(1), match.group(2) or match.group(1),
                                           match.group(3).strip(), Where(path, number), conditions))
    if found.funs or found.structs or found.aliases or found.globals:
        found.files.append(path)
    return found
