"""Reads the little of a WebAssembly binary's structure that cwpkg needs: its kind, imports and symbols."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WASM_MAGIC = b"\0asm"
CUSTOM_SECTION = 0
IMPORT_SECTION = 2
IMPORT_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}
AR_MAGIC = b"!<arch>\n"
# The "linking" section of an object file (WebAssembly tool-conventions, Linking.md).
SYMBOL_TABLE = 8
SYMBOL_DATA, SYMBOL_SECTION = 1, 3
FLAG_LOCAL, FLAG_UNDEFINED, FLAG_EXPLICIT_NAME = 0x2, 0x10, 0x40


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    kind: str


class _Reader:
    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def byte(self) -> int:
        value = self.data[self.offset]
        self.offset += 1
        return value

    def unsigned(self) -> int:
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    def name(self) -> str:
        size = self.unsigned()
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
    """A linked module; object files share the magic number but carry a "linking" custom section."""
    if not path.is_file() or path.is_symlink() or not is_wasm(path):
        return False
    return _linking_section(path.read_bytes()) is None


def imports(path: Path) -> list[Import]:
    """The module's imports, in order."""
    found: list[Import] = []
    for section_id, body in _sections(path.read_bytes()):
        if section_id != IMPORT_SECTION:
            continue
        reader = _Reader(body)
        for _ in range(reader.unsigned()):
            module, name, kind = reader.name(), reader.name(), reader.byte()
            if kind == 0:  # function: type index
                reader.unsigned()
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
            found.append(Import(module, name, IMPORT_KINDS.get(kind, str(kind))))
    return found


def _object_symbols(data: bytes) -> set[str] | None:
    """The names of an object file's defined, non-local symbols (what `nm --defined-only --extern-only`
    lists); None when `data` has no "linking" section (a linked module is not an object)."""
    reader = _linking_section(data)
    if reader is None:
        return None
    found: set[str] = set()
    reader.unsigned()  # version
    while reader.offset < len(reader.data):
        kind, size = reader.byte(), reader.unsigned()
        end = reader.offset + size
        if kind == SYMBOL_TABLE:
            for _ in range(reader.unsigned()):
                symbol, flags = reader.byte(), reader.unsigned()
                defined = not flags & FLAG_UNDEFINED
                name = None
                if symbol == SYMBOL_DATA:
                    name = reader.name()
                    if defined:  # segment, offset, size
                        reader.unsigned(), reader.unsigned(), reader.unsigned()
                elif symbol == SYMBOL_SECTION:
                    reader.unsigned()
                else:  # function, global, tag, table: an index, then a name unless it is the import's
                    reader.unsigned()
                    if defined or flags & FLAG_EXPLICIT_NAME:
                        name = reader.name()
                if name is not None and defined and not flags & FLAG_LOCAL:
                    found.add(name)
        reader.offset = end
    return found


def _archive_members(data: bytes) -> list[bytes]:
    """The members of an ar archive (the symbol index and the long-name table included)."""
    members, offset = [], len(AR_MAGIC)
    while offset + 60 <= len(data):
        size = int(data[offset + 48:offset + 58].decode("ascii").strip())
        members.append(data[offset + 60:offset + 60 + size])
        offset += 60 + size + (size & 1)
    return members


def defined_symbols(path: Path) -> set[str] | None:
    """The defined, non-local symbols of a wasm object file or of an archive of them; None for
    anything else (a linked module, or not WebAssembly at all)."""
    data = path.read_bytes()
    if data.startswith(WASM_MAGIC):
        return _object_symbols(data)
    if not data.startswith(AR_MAGIC):
        return None
    members = (_object_symbols(member) for member in _archive_members(data) if member.startswith(WASM_MAGIC))
    return set().union(*(symbols for symbols in members if symbols is not None))
