"""Reads the little of a WebAssembly binary's structure that cwpkg needs: its kind, imports, symbols and
the types of an object's functions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WASM_MAGIC = b"\0asm"
CUSTOM_SECTION = 0
TYPE_SECTION = 1
IMPORT_SECTION = 2
FUNCTION_SECTION = 3
GLOBAL_SECTION = 6
EXPORT_SECTION = 7
DATA_SECTION = 11
NAME_GLOBALS = 7  # the "name" custom section's subsection of global names
I32_CONST, GLOBAL_GET, END = 0x41, 0x23, 0x0B
STACK_POINTER = "__stack_pointer"
VALUE_TYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref", 0x6F: "externref"}
IMPORT_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}
AR_MAGIC = b"!<arch>\n"
# The "linking" section of an object file (WebAssembly tool-conventions, Linking.md).
SYMBOL_TABLE = 8
SYMBOL_FUNCTION, SYMBOL_DATA, SYMBOL_SECTION = 0, 1, 3
FLAG_LOCAL, FLAG_UNDEFINED, FLAG_EXPLICIT_NAME = 0x2, 0x10, 0x40


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    kind: str


class MalformedWasm(ValueError):
    """The bytes end, or say something impossible, where a WebAssembly binary must go on."""


class _Reader:
    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def byte(self) -> int:
        if self.offset >= len(self.data):
            raise MalformedWasm(f"truncated at byte {self.offset}")
        value = self.data[self.offset]
        self.offset += 1
        return value

    def _leb128(self) -> tuple[int, int, int]:
        """A LEB128 number's bits, their count and its last byte (which holds the sign bit)."""
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, shift, byte

    def unsigned(self) -> int:
        return self._leb128()[0]

    def signed(self) -> int:
        value, shift, last = self._leb128()
        return value - (1 << shift) if last & 0x40 else value

    def name(self) -> str:
        size = self.unsigned()
        if self.offset + size > len(self.data):
            raise MalformedWasm(f"a name runs past the end at byte {self.offset}")
        text = self.data[self.offset:self.offset + size].decode("utf-8", errors="replace")
        self.offset += size
        return text

    def limits(self) -> None:
        flags = self.unsigned()
        self.unsigned()
        if flags & 1:
            self.unsigned()


def is_wasm(path: Path) -> bool:
    """Starts with the WebAssembly magic number (a module or an object file)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == WASM_MAGIC
    except OSError:
        return False


def _sections(data: bytes) -> list[tuple[int, bytes]]:
    reader = _Reader(data, 8)
    sections = []
    while reader.offset < len(data):
        section_id = reader.byte()
        size = reader.unsigned()
        if reader.offset + size > len(data):
            raise MalformedWasm(f"section {section_id} runs past the end at byte {reader.offset}")
        sections.append((section_id, data[reader.offset:reader.offset + size]))
        reader.offset += size
    return sections


def _linking_section(data: bytes) -> _Reader | None:
    """A reader placed after the name of the "linking" custom section, which only object files have."""
    for section_id, body in _sections(data):
        if section_id == CUSTOM_SECTION:
            reader = _Reader(body)
            if reader.name() == "linking":
                return reader
    return None


def is_linked_program(path: Path) -> bool:
    """A linked module; object files share the magic number but carry a "linking" custom section.
    Bytes that end or go wrong within the module's structure are no module."""
    if not path.is_file() or not is_wasm(path):
        return False
    try:
        return _linking_section(path.read_bytes()) is None
    except MalformedWasm:
        return False


@dataclass(frozen=True)
class _ImportEntry:
    module: str
    name: str
    kind: str
    type_index: int | None  # a function's type


def _import_entries(reader: _Reader) -> list[_ImportEntry]:
    """The entries of an import section, `reader` placed at its start."""
    entries = []
    for _ in range(reader.unsigned()):
        module, name, kind = reader.name(), reader.name(), reader.byte()
        type_index = None
        if kind == 0:  # function: type index
            type_index = reader.unsigned()
        elif kind == 1:  # table: element type, limits
            reader.byte()
            reader.limits()
        elif kind == 2:  # memory: limits
            reader.limits()
        elif kind == 3:  # global: value type, mutability
            reader.byte()
            reader.byte()
        else:  # tag: attribute, type index
            reader.byte()
            reader.unsigned()
        entries.append(_ImportEntry(module, name, IMPORT_KINDS.get(kind, str(kind)), type_index))
    return entries


def function_exports(path: Path) -> set[str]:
    """The names of the functions a linked module exports."""
    names = set()
    for section_id, body in _sections(path.read_bytes()):
        if section_id == EXPORT_SECTION:
            reader = _Reader(body)
            for _ in range(reader.unsigned()):
                name, kind = reader.name(), reader.byte()
                reader.unsigned()
                if kind == 0:
                    names.add(name)
    return names


def imports(path: Path) -> list[Import]:
    """The module's imports, in order."""
    return [Import(entry.module, entry.name, entry.kind)
            for section_id, body in _sections(path.read_bytes()) if section_id == IMPORT_SECTION
            for entry in _import_entries(_Reader(body))]


@dataclass(frozen=True)
class _Symbol:
    kind: int  # SYMBOL_FUNCTION, SYMBOL_DATA, ...
    flags: int
    index: int | None  # function, global, tag or table index; None for data and section symbols
    name: str | None  # None for section symbols, and for imports named by their import

    @property
    def defined(self) -> bool:
        return not self.flags & FLAG_UNDEFINED


def _symbol_table(data: bytes) -> list[_Symbol] | None:
    """The symbols of an object file's "linking" section; None when `data` has none (a linked module)."""
    reader = _linking_section(data)
    if reader is None:
        return None
    found: list[_Symbol] = []
    reader.unsigned()  # version
    while reader.offset < len(reader.data):
        kind, size = reader.byte(), reader.unsigned()
        end = reader.offset + size
        if kind == SYMBOL_TABLE:
            for _ in range(reader.unsigned()):
                symbol, flags = reader.byte(), reader.unsigned()
                defined = not flags & FLAG_UNDEFINED
                name = index = None
                if symbol == SYMBOL_DATA:
                    name = reader.name()
                    if defined:  # segment, offset, size
                        reader.unsigned(), reader.unsigned(), reader.unsigned()
                elif symbol == SYMBOL_SECTION:
                    reader.unsigned()
                else:  # function, global, tag, table: an index, then a name unless it is the import's
                    index = reader.unsigned()
                    if defined or flags & FLAG_EXPLICIT_NAME:
                        name = reader.name()
                found.append(_Symbol(symbol, flags, index, name))
        reader.offset = end
    return found


def _object_symbols(data: bytes) -> set[str] | None:
    """The names of an object file's defined, non-local symbols (what `nm --defined-only --extern-only`
    lists); None when `data` has no "linking" section (a linked module is not an object)."""
    symbols = _symbol_table(data)
    if symbols is None:
        return None
    return {symbol.name for symbol in symbols
            if symbol.name is not None and symbol.defined and not symbol.flags & FLAG_LOCAL}


@dataclass(frozen=True)
class FunctionType:
    """A WebAssembly function type: what a call must agree with, or the module traps."""

    params: tuple[str, ...]
    results: tuple[str, ...]

    def __str__(self) -> str:
        result = ", ".join(self.results) if len(self.results) != 1 else self.results[0]
        return f"({', '.join(self.params)}) -> {result or '()'}"


def _value_types(reader: _Reader) -> tuple[str, ...]:
    return tuple(VALUE_TYPES.get(reader.byte(), "?") for _ in range(reader.unsigned()))


def object_function_types(path: Path) -> dict[str, FunctionType]:
    """The type of every named function of a wasm object file, imported (called but defined elsewhere)
    or defined in it, by symbol name. A function the object both calls and defines is listed once."""
    data = path.read_bytes()
    symbols = _symbol_table(data) if data.startswith(WASM_MAGIC) else None
    if symbols is None:
        raise ValueError(f"{path}: not a WebAssembly object file")
    types: list[FunctionType] = []
    function_types: list[int] = []  # type index of each function, imported ones first
    import_names: dict[int, str] = {}
    for section_id, body in _sections(data):
        reader = _Reader(body)
        if section_id == TYPE_SECTION:
            for _ in range(reader.unsigned()):
                reader.byte()  # 0x60: function type
                params = _value_types(reader)
                types.append(FunctionType(params, _value_types(reader)))
        elif section_id == IMPORT_SECTION:
            for entry in _import_entries(reader):
                if entry.kind == "func":
                    import_names[len(function_types)] = entry.name
                    function_types.append(entry.type_index)
        elif section_id == FUNCTION_SECTION:
            function_types.extend(reader.unsigned() for _ in range(reader.unsigned()))
    found: dict[str, FunctionType] = {}
    for symbol in symbols:
        if symbol.kind == SYMBOL_FUNCTION and symbol.index is not None:
            name = symbol.name or import_names.get(symbol.index)
            if name is not None:
                found[name] = types[function_types[symbol.index]]
    return found


def _archive_members(data: bytes) -> list[bytes]:
    """The members of an ar archive (the symbol index and the long-name table included)."""
    members, offset = [], len(AR_MAGIC)
    while offset + 60 <= len(data):
        field = data[offset + 48:offset + 58].strip()
        if not field.isdigit():
            raise MalformedWasm(f"archive member header at byte {offset} has no size")
        size = int(field)
        members.append(data[offset + 60:offset + 60 + size])
        offset += 60 + size + (size & 1)
    return members


def defined_symbols(path: Path) -> set[str] | None:
    """The defined, non-local symbols of a wasm object file or of an archive of them; None for
    anything else (a linked module, not WebAssembly at all, or a damaged file)."""
    data = path.read_bytes()
    try:
        if data.startswith(WASM_MAGIC):
            return _object_symbols(data)
        if not data.startswith(AR_MAGIC):
            return None
        members = (_object_symbols(member) for member in _archive_members(data) if member.startswith(WASM_MAGIC))
        return set().union(*(symbols for symbols in members if symbols is not None))
    except MalformedWasm:
        return None


def _constant(reader: _Reader) -> int | None:
    """The value of a constant expression that is a lone `i32.const`; None for any other (the reader
    is left after the expression's `end` either way)."""
    opcode = reader.byte()
    value = reader.signed() & 0xFFFFFFFF if opcode == I32_CONST else None
    if opcode != I32_CONST or reader.byte() != END:
        while reader.byte() != END:  # what wasm-ld and wasm-opt write: global.get, *.const, then end
            pass
        return None
    return value


def _global_names(body: bytes) -> dict[int, str]:
    """Global index -> name, from the body of a "name" custom section (after its own name)."""
    reader, names = _Reader(body), {}
    while reader.offset < len(body):
        kind, size = reader.byte(), reader.unsigned()
        end = reader.offset + size
        if kind == NAME_GLOBALS:
            for _ in range(reader.unsigned()):
                index = reader.unsigned()
                names[index] = reader.name()
        reader.offset = end
    return names


def linear_stack_size(path: Path) -> int | None:
    """The bytes of linear memory that wasm-ld laid out as the module's stack (`-z stack-size`, which
    `cwpkg link --stack-size` sets); None for a module with no stack of its own (a shared or
    position-independent module imports its stack pointer).

    wasm-ld gives the stack pointer, `__stack_pointer`, the stack's top as its initial value. Its
    bottom is the end of the data below it (or 0 with `--stack-first`, where data lies above). The
    data's end is read from the initialized data segments; zero-initialized data (.bss) has none, so
    a module whose .bss lies between its data and its stack is reported that much larger. The stack
    pointer is the global of that name when the module has names; stripped, it is the mutable i32
    global with the highest constant start (Asyncify's and other runtime globals start at 0). The
    stack's bottom is aligned to 16 bytes, as wasm-ld aligns it.
    """
    data = path.read_bytes()
    if not data.startswith(WASM_MAGIC):
        raise MalformedWasm("not a WebAssembly module")
    imported_globals = 0
    globals_: dict[int, int] = {}  # index -> initial value of every mutable i32 global with a constant one
    names: dict[int, str] = {}
    segments: list[tuple[int, int]] = []  # (start, end) of each active data segment at a constant address
    for section_id, body in _sections(data):
        reader = _Reader(body)
        if section_id == IMPORT_SECTION:
            imported_globals = sum(entry.kind == "global" for entry in _import_entries(reader))
        elif section_id == GLOBAL_SECTION:
            for index in range(imported_globals, imported_globals + reader.unsigned()):
                value_type, mutable = reader.byte(), reader.byte()
                value = _constant(reader)
                if value_type == 0x7F and mutable and value is not None:
                    globals_[index] = value
        elif section_id == DATA_SECTION:
            for _ in range(reader.unsigned()):
                flags = reader.unsigned()
                if flags == 2:  # active, explicit memory index
                    reader.unsigned()
                start = _constant(reader) if flags in (0, 2) else None
                size = reader.unsigned()
                reader.offset += size
                if start is not None:
                    segments.append((start, start + size))
        elif section_id == CUSTOM_SECTION and reader.name() == "name":
            try:
                names = _global_names(body[reader.offset:])
            except MalformedWasm:  # names are for debuggers; a damaged name section leaves the others
                names = {}
    named = [index for index, name in names.items() if name == STACK_POINTER]
    if named:
        top = globals_.get(named[0])
    else:
        top = max(globals_.values(), default=None)
    if not top:
        return None
    bottom = max((end for start, end in segments if end <= top), default=0)
    return top - (bottom + 15) // 16 * 16  # wasm-ld aligns the stack to 16 bytes
