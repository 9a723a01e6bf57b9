"""Decodes a linked WebAssembly module's functions: their signatures, names, the table, and what each calls.

Enough of the code section is decoded to find every `call` and `call_indirect` (and `ref.func`, which
takes a function's address), so that cwpkg can compute a call graph; instruction immediates are skipped,
not interpreted. The name section can be read and rewritten (see with_function_names).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cwpkg.wasm.module import WASM_MAGIC

CUSTOM, TYPE, IMPORT, FUNCTION, TABLE, MEMORY, GLOBAL, EXPORT, START, ELEMENT, CODE = range(11)
NAME_SECTION = "name"
FUNCTION_NAMES = 1  # the name section's function-names subsection
GLOBAL_NAMES = 7  # the name section's global-names subsection (wasm-ld writes it)


class WasmDecodeError(ValueError):
    """The module is not one this decoder understands (a truncated file, or an unknown instruction)."""


@dataclass(frozen=True)
class Signature:
    params: bytes  # value type codes (0x7F i32, 0x7E i64, 0x7D f32, 0x7C f64, 0x7B v128, ...)
    results: bytes


@dataclass(frozen=True)
class DeadEnd:
    """A straight-line path of a function body that ends in `unreachable`, and the calls on it."""
    offset: int  # where the path starts in the module's bytes
    calls: frozenset[int]
    indirect: frozenset[Signature]
    end: int = 0  # where its `unreachable` is


@dataclass(frozen=True)
class CallSite:
    """A call that returns to its function (call, call_indirect)."""
    start: int  # where the instruction starts in the module's bytes
    end: int  # where the instruction after it starts
    target: int | Signature  # the function called, or the signature called through the table


@dataclass(frozen=True)
class Function:
    index: int  # in the function index space: imports first
    signature: Signature
    imported: tuple[str, str] | None  # (module, name) of an imported function
    calls: frozenset[int]  # functions it calls directly (call, return_call), dead ends aside
    indirect: frozenset[Signature]  # signatures it calls through the table (call_indirect), dead ends aside
    dead_ends: tuple[DeadEnd, ...] = ()
    call_sites: tuple[CallSite, ...] = ()  # every call that returns to it, dead ends included


@dataclass(frozen=True)
class CodeModule:
    functions: list[Function]
    names: dict[int, str]  # from the name section; functions without an entry have none
    table: frozenset[int]  # functions whose address is taken: in an element segment, or by ref.func

    def name(self, index: int) -> str:
        return self.names.get(index, f"<function {index}>")


class _Reader:
    __slots__ = ("data", "offset")

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def byte(self) -> int:
        value = self.data[self.offset]
        self.offset += 1
        return value

    def unsigned(self) -> int:
        data, offset = self.data, self.offset
        value = shift = 0
        while True:
            byte = data[offset]
            offset += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                self.offset = offset
                return value
            shift += 7

    def name(self) -> str:
        size = self.unsigned()
        text = self.data[self.offset:self.offset + size].decode("utf-8", errors="replace")
        self.offset += size
        return text

    def skip_limits(self) -> None:
        flags = self.unsigned()
        self.unsigned()
        if flags & 1:
            self.unsigned()

    def skip_constant_expression(self) -> int | None:
        """Skips an initializer expression; returns the function of a `ref.func` in it, if any."""
        function = None
        while True:
            opcode = self.byte()
            if opcode == 0x0B:
                return function
            if opcode in (0x41, 0x42, 0x23):  # i32.const, i64.const, global.get
                self.unsigned()
            elif opcode == 0x43:
                self.offset += 4
            elif opcode == 0x44:
                self.offset += 8
            elif opcode == 0xD0:  # ref.null
                self.byte()
            elif opcode == 0xD2:  # ref.func
                function = self.unsigned()
            else:
                raise WasmDecodeError(f"unexpected opcode 0x{opcode:02x} in a constant expression")


def sections(data: bytes) -> list[tuple[int, int, int]]:
    """(id, start, end) of every section's contents, in order."""
    if not data.startswith(WASM_MAGIC) or len(data) < 8:
        raise WasmDecodeError("not a WebAssembly module")
    reader = _Reader(data, 8)
    found = []
    while reader.offset < len(data):
        section_id = reader.byte()
        size = reader.unsigned()
        found.append((section_id, reader.offset, reader.offset + size))
        reader.offset += size
    if reader.offset != len(data):
        raise WasmDecodeError("truncated module")
    return found


def _custom_name(data: bytes, start: int) -> tuple[str, int]:
    reader = _Reader(data, start)
    name = reader.name()
    return name, reader.offset


# Immediates of the single-byte opcodes that have any, by kind (see _scan_body).
_U32 = 1  # one LEB128 (indices, depths, signed constants: their bytes are skipped alike)
_MEMARG = 2  # alignment (with a memory index when bit 6 is set) and offset
_BLOCK = 3  # block type
_SKIP4, _SKIP8 = 4, 8
_IMMEDIATES = bytearray(256)
for _opcode in (0x0C, 0x0D, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x3F, 0x40, 0x41, 0x42, 0xD2):
    _IMMEDIATES[_opcode] = _U32
for _opcode in range(0x28, 0x3F):
    _IMMEDIATES[_opcode] = _MEMARG
for _opcode in (0x02, 0x03, 0x04):
    _IMMEDIATES[_opcode] = _BLOCK
_IMMEDIATES[0x43] = _SKIP4
_IMMEDIATES[0x44] = _SKIP8
# Opcodes without immediates and without effect on control flow: parametric, numeric (sign extension
# included), ref.is_null.
_PLAIN = frozenset([0x01, 0x1A, 0x1B, 0xD1, *range(0x45, 0xC5)])
# Control instructions after which a new straight-line path starts (see _scan_body).
_PATH_ENDS = frozenset([0x02, 0x03, 0x04, 0x05, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x12, 0x13])
# 0xFD (SIMD) sub-opcodes with a memarg, a lane index, or both.
_SIMD_MEMARG = frozenset([*range(0, 12), 92, 93])
_SIMD_LANE = frozenset(range(21, 35))
_SIMD_MEMARG_LANE = frozenset(range(84, 92))


@dataclass
class _Body:
    """What one function body calls: on its ordinary paths, and on its paths to `unreachable`."""
    calls: set[int] = field(default_factory=set)
    indirect: set[Signature] = field(default_factory=set)
    dead_ends: list[DeadEnd] = field(default_factory=list)
    call_sites: list[CallSite] = field(default_factory=list)


def _scan_body(data: bytes, offset: int, end: int, types: list[Signature], taken: set[int]) -> _Body:
    """Walks one function body's instructions, noting calls, indirect calls and taken addresses.

    Calls on a straight-line path (no branch, no block boundary) that ends in `unreachable` are
    noted apart, as a dead end: control that takes such a path never continues normally (the calls
    exit, abort or raise, or the `unreachable` traps).
    """
    body = _Body()
    reader = _Reader(data, offset)
    unsigned = reader.unsigned
    immediates = _IMMEDIATES
    plain = _PLAIN
    path_ends = _PATH_ENDS
    for _ in range(unsigned()):  # local declarations: count, type
        unsigned()
        reader.offset += 1
    path_start = reader.offset
    path_calls: list[int] = []
    path_indirect: list[Signature] = []
    while reader.offset < end:
        opcode = data[reader.offset]
        reader.offset += 1
        if opcode in plain:
            continue
        kind = immediates[opcode]
        if kind == _U32:
            if opcode == 0xD2:
                taken.add(unsigned())
            else:
                unsigned()
        elif kind == _MEMARG:
            if unsigned() & 0x40:
                unsigned()
            unsigned()
        elif kind == _BLOCK:
            if data[reader.offset] in (0x40, 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F):
                reader.offset += 1
            else:
                unsigned()  # a type index, as a signed LEB
        elif kind:
            reader.offset += kind
        elif opcode in (0x10, 0x12):  # call, return_call
            start = reader.offset - 1
            callee = unsigned()
            path_calls.append(callee)
            if opcode == 0x10:
                body.call_sites.append(CallSite(start, reader.offset, callee))
        elif opcode in (0x11, 0x13):  # call_indirect, return_call_indirect: type, table
            start = reader.offset - 1
            signature = types[unsigned()]
            path_indirect.append(signature)
            unsigned()
            if opcode == 0x11:
                body.call_sites.append(CallSite(start, reader.offset, signature))
        elif opcode == 0x0E:  # br_table
            for _ in range(unsigned() + 1):
                unsigned()
        elif opcode == 0x00:  # unreachable
            if path_calls or path_indirect:
                body.dead_ends.append(DeadEnd(path_start, frozenset(path_calls), frozenset(path_indirect),
                                              reader.offset - 1))
                path_calls, path_indirect = [], []
            path_start = reader.offset
            continue
        elif opcode in (0x05, 0x0B, 0x0F):  # else, end, return
            pass
        elif opcode == 0x1C:  # select with types
            reader.offset += unsigned()
        elif opcode == 0xD0:  # ref.null
            reader.offset += 1
        elif opcode == 0xFC:
            _skip_fc(reader, unsigned())
        elif opcode == 0xFD:
            _skip_simd(reader, unsigned())
        elif opcode == 0xFE:
            if unsigned() == 0x03:  # atomic.fence
                reader.offset += 1
            else:
                unsigned(), unsigned()
        else:
            raise WasmDecodeError(f"unknown instruction 0x{opcode:02x} at byte {reader.offset - 1}")
        if opcode in path_ends:
            body.calls.update(path_calls)
            body.indirect.update(path_indirect)
            path_calls, path_indirect = [], []
            path_start = reader.offset
    if reader.offset != end:
        raise WasmDecodeError(f"function body overruns its end at byte {end}")
    body.calls.update(path_calls)
    body.indirect.update(path_indirect)
    return body


def _skip_fc(reader: _Reader, sub: int) -> None:
    if sub <= 7:  # saturating truncations
        return
    operands = {8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1}.get(sub)
    if operands is None:
        raise WasmDecodeError(f"unknown instruction 0xfc {sub}")
    for _ in range(operands):
        reader.unsigned()


def _skip_simd(reader: _Reader, sub: int) -> None:
    if sub in _SIMD_MEMARG or sub in _SIMD_MEMARG_LANE:
        if reader.unsigned() & 0x40:
            reader.unsigned()
        reader.unsigned()
    if sub in _SIMD_LANE or sub in _SIMD_MEMARG_LANE:
        reader.offset += 1
    elif sub in (12, 13):  # v128.const, i8x16.shuffle
        reader.offset += 16


def _read_types(data: bytes, start: int) -> list[Signature]:
    reader = _Reader(data, start)
    types = []
    for _ in range(reader.unsigned()):
        form = reader.byte()
        if form != 0x60:
            raise WasmDecodeError(f"type form 0x{form:02x} is not a function type")
        params = bytes(reader.byte() for _ in range(reader.unsigned()))
        results = bytes(reader.byte() for _ in range(reader.unsigned()))
        types.append(Signature(params, results))
    return types


def _read_imports(data: bytes, start: int) -> list[tuple[str, str, int]]:
    """Function imports: (module, name, type index)."""
    reader = _Reader(data, start)
    found = []
    for _ in range(reader.unsigned()):
        module, name, kind = reader.name(), reader.name(), reader.byte()
        if kind == 0:
            found.append((module, name, reader.unsigned()))
        elif kind == 1:
            reader.byte()
            reader.skip_limits()
        elif kind == 2:
            reader.skip_limits()
        elif kind == 3:
            reader.offset += 2
        else:
            reader.byte()
            reader.unsigned()
    return found


def _read_elements(data: bytes, start: int) -> set[int]:
    reader = _Reader(data, start)
    functions: set[int] = set()
    for _ in range(reader.unsigned()):
        flags = reader.unsigned()
        if flags & 2 and not flags & 1:  # explicit table index
            reader.unsigned()
        if not flags & 1:  # active: an offset expression
            reader.skip_constant_expression()
        if flags & 3:  # an element kind (0x00) or reference type
            reader.byte()
        count = reader.unsigned()
        if flags & 4:  # expressions
            for _ in range(count):
                function = reader.skip_constant_expression()
                if function is not None:
                    functions.add(function)
        else:
            functions.update(reader.unsigned() for _ in range(count))
    return functions


def function_names(data: bytes) -> dict[int, str]:
    """The name section's function names, by function index (empty without a name section)."""
    for section_id, start, end in sections(data):
        if section_id == CUSTOM:
            name, offset = _custom_name(data, start)
            if name == NAME_SECTION:
                return _read_names(data, offset, end)
    return {}


def global_names(data: bytes) -> dict[int, str]:
    """The name section's global names, by global index (empty without them)."""
    for section_id, start, end in sections(data):
        if section_id == CUSTOM:
            name, offset = _custom_name(data, start)
            if name == NAME_SECTION:
                return _read_names(data, offset, end, GLOBAL_NAMES)
    return {}


def _read_names(data: bytes, offset: int, end: int, subsection_id: int = FUNCTION_NAMES) -> dict[int, str]:
    """The names of one of the name section's index -> name subsections (functions by default)."""
    reader = _Reader(data, offset)
    while reader.offset < end:
        subsection, size = reader.byte(), reader.unsigned()
        if subsection == subsection_id:
            names = {}
            for _ in range(reader.unsigned()):
                index = reader.unsigned()
                names[index] = reader.name()
            return names
        reader.offset += size
    return {}


def read_code_module(data: bytes) -> CodeModule:
    types: list[Signature] = []
    imports: list[tuple[str, str, int]] = []
    declared: list[int] = []
    table: set[int] = set()
    names: dict[int, str] = {}
    bodies: list[tuple[int, int]] = []
    for section_id, start, end in sections(data):
        if section_id == TYPE:
            types = _read_types(data, start)
        elif section_id == IMPORT:
            imports = _read_imports(data, start)
        elif section_id == FUNCTION:
            reader = _Reader(data, start)
            declared = [reader.unsigned() for _ in range(reader.unsigned())]
        elif section_id == ELEMENT:
            table |= _read_elements(data, start)
        elif section_id == CODE:
            reader = _Reader(data, start)
            for _ in range(reader.unsigned()):
                size = reader.unsigned()
                bodies.append((reader.offset, reader.offset + size))
                reader.offset += size
        elif section_id == CUSTOM:
            name, offset = _custom_name(data, start)
            if name == NAME_SECTION:
                names = _read_names(data, offset, end)
    if len(bodies) != len(declared):
        raise WasmDecodeError(f"{len(declared)} functions declared, {len(bodies)} bodies")
    functions = [Function(index, types[type_index], (module, name), frozenset(), frozenset())
                 for index, (module, name, type_index) in enumerate(imports)]
    for position, (type_index, (start, end)) in enumerate(zip(declared, bodies)):
        body = _scan_body(data, start, end, types, table)
        functions.append(Function(len(imports) + position, types[type_index], None, frozenset(body.calls),
                                  frozenset(body.indirect), tuple(body.dead_ends), tuple(body.call_sites)))
    return CodeModule(functions, names, frozenset(table))


def read_code_file(path: Path) -> CodeModule:
    return read_code_module(path.read_bytes())


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _encoded_name(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _leb(len(raw)) + raw


def with_function_names(data: bytes, changes: dict[int, str]) -> bytes:
    """The module with the name section's function names changed as given, the others kept.

    The other subsections (module name, locals, globals, ...) are kept as they are; a module without a
    name section gets one that names only the changed functions.
    """
    for section_id, header, start, end in _sections_with_headers(data):
        if section_id == CUSTOM:
            name, offset = _custom_name(data, start)
            if name == NAME_SECTION:
                return data[:header] + _name_section(data, offset, end, changes) + data[end:]
    return data + _name_section(data, 0, 0, changes)


def without_exports(data: bytes, dropped: Callable[[str], bool]) -> bytes:
    """The module without the exports whose names `dropped` accepts; everything else as it was."""
    for section_id, header, start, end in _sections_with_headers(data):
        if section_id == EXPORT:
            reader = _Reader(data, start)
            kept = []
            for _ in range(reader.unsigned()):
                entry_start = reader.offset
                name = reader.name()
                reader.byte()  # the kind
                reader.unsigned()  # the index
                if not dropped(name):
                    kept.append(data[entry_start:reader.offset])
            contents = _leb(len(kept)) + b"".join(kept)
            return data[:header] + bytes([EXPORT]) + _leb(len(contents)) + contents + data[end:]
    return data


def _name_section(data: bytes, offset: int, end: int, changes: dict[int, str]) -> bytes:
    """A name section made of the subsections in data[offset:end], with the function names changed."""
    before, after = bytearray(), bytearray()
    names: dict[int, str] = {}
    reader = _Reader(data, offset)
    while reader.offset < end:
        subsection_start = reader.offset
        subsection, size = reader.byte(), reader.unsigned()
        subsection_end = reader.offset + size
        if subsection == FUNCTION_NAMES:
            names = _read_names(data, subsection_start, subsection_end)
        else:  # subsections come in id order: the module name before the function names
            (before if subsection < FUNCTION_NAMES else after).extend(data[subsection_start:subsection_end])
        reader.offset = subsection_end
    names.update(changes)
    entries = _leb(len(names)) + b"".join(_leb(index) + _encoded_name(names[index]) for index in sorted(names))
    contents = (_encoded_name(NAME_SECTION) + bytes(before) + bytes([FUNCTION_NAMES]) + _leb(len(entries))
                + entries + bytes(after))
    return bytes([CUSTOM]) + _leb(len(contents)) + contents


def _sections_with_headers(data: bytes) -> list[tuple[int, int, int, int]]:
    """(id, header start, contents start, end) of every section."""
    reader = _Reader(data, 8)
    found = []
    for section_id, start, end in sections(data):
        found.append((section_id, reader.offset, start, end))
        reader.offset = end
    return found


AR_MAGIC = b"!<arch>\n"
SYMBOL_TABLE = 8  # the "linking" section's symbol table subsection
SYMBOL_FUNCTION = 0
FLAG_UNDEFINED, FLAG_EXPLICIT_NAME = 0x10, 0x40


def _archive_members(data: bytes) -> list[bytes]:
    members, offset = [], len(AR_MAGIC)
    while offset + 60 <= len(data):
        size = int(data[offset + 48:offset + 58].decode("ascii").strip())
        members.append(data[offset + 60:offset + 60 + size])
        offset += 60 + size + (size & 1)
    return members


def _object_function_names(data: bytes) -> set[str]:
    """The functions an object file defines, local (static) ones included."""
    names: set[str] = set()
    for section_id, start, end in sections(data):
        if section_id != CUSTOM:
            continue
        name, offset = _custom_name(data, start)
        if name != "linking":
            continue
        reader = _Reader(data, offset)
        reader.unsigned()  # version
        while reader.offset < end:
            kind, size = reader.byte(), reader.unsigned()
            following = reader.offset + size
            if kind == SYMBOL_TABLE:
                for _ in range(reader.unsigned()):
                    symbol, flags = reader.byte(), reader.unsigned()
                    if symbol == 1:  # data: name, then segment, offset, size if defined
                        reader.name()
                        if not flags & FLAG_UNDEFINED:
                            reader.unsigned(), reader.unsigned(), reader.unsigned()
                    elif symbol == 3:  # section
                        reader.unsigned()
                    else:  # function, global, tag, table: an index, then a name unless an import's own
                        reader.unsigned()
                        if not flags & FLAG_UNDEFINED or flags & FLAG_EXPLICIT_NAME:
                            text = reader.name()
                            if symbol == SYMBOL_FUNCTION and not flags & FLAG_UNDEFINED:
                                names.add(text)
            reader.offset = following
    return names


def defined_function_names(path: Path) -> set[str]:
    """The functions a wasm object file, or an archive of them, defines (static ones included)."""
    data = path.read_bytes()
    if data.startswith(AR_MAGIC):
        return set().union(*(_object_function_names(member) for member in _archive_members(data)
                             if member.startswith(WASM_MAGIC)))
    return _object_function_names(data)


def function_bodies(data: bytes) -> dict[int, tuple[int, int]]:
    """Where each defined function's body lies in `data`, by function index."""
    imported = 0
    for section_id, start, end in sections(data):
        if section_id == IMPORT:
            imported = len(_read_imports(data, start))
        elif section_id == CODE:
            reader = _Reader(data, start)
            bodies = {}
            for position in range(reader.unsigned()):
                size = reader.unsigned()
                bodies[imported + position] = (reader.offset, reader.offset + size)
                reader.offset += size
            return bodies
    return {}


def call_instruction(callee: int) -> bytes:
    """`call callee`, encoded."""
    return b"\x10" + _leb(callee)


_ZEROS = {0x7F: b"\x41\x00", 0x7E: b"\x42\x00", 0x7D: b"\x43" + bytes(4), 0x7C: b"\x44" + bytes(8)}


def i32_const(value: int) -> bytes:
    """`i32.const value`, encoded (signed LEB128)."""
    out = bytearray(b"\x41")
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def return_if_global_set(global_index: int, results: bytes, before_return: bytes = b"") -> bytes:
    """`global.get G; if; <before_return>; <a zero of each result type>; return; end`, encoded: an
    early return (`before_return`: instructions that leave the operand stack as they found it).

    The `if` takes nothing from the operand stack but its condition, so this fits after any
    instruction; `return` takes only the results it needs."""
    try:
        zeros = b"".join(_ZEROS[value_type] for value_type in results)
    except KeyError as unknown:
        raise WasmDecodeError(f"no zero for the result type 0x{unknown.args[0]:02x}") from None
    return b"\x23" + _leb(global_index) + b"\x04\x40" + before_return + zeros + b"\x0f\x0b"


def with_code_edits(data: bytes, edits: dict[int, tuple[int, bytes]],
                    added: Sequence[tuple[int, bytes]] = ()) -> bytes:
    """The module with the code from each key of `edits` to the value's end replaced by its bytes (an
    insertion when start and end are equal; byte positions in the code section), and a function
    added at the end for each (type index, body) of `added`, whose indices follow the module's.

    The code moves, so the DWARF sections (.debug_*), whose addresses point into it, are dropped;
    the name section stays valid (function indices do not change).
    """
    out = bytearray(data[:8])
    starts = sorted(edits)
    for section_id, header, start, end in _sections_with_headers(data):
        if section_id == CUSTOM and _custom_name(data, start)[0].startswith(".debug_"):
            continue
        if section_id == FUNCTION and added:
            reader = _Reader(data, start)
            count = reader.unsigned()
            contents = _leb(count + len(added)) + data[reader.offset:end] + b"".join(_leb(t) for t, _ in added)
            out += bytes([FUNCTION]) + _leb(len(contents)) + contents
            continue
        if section_id != CODE:
            out += data[header:end]
            continue
        reader = _Reader(data, start)
        entries = bytearray(_leb(reader.unsigned() + len(added)))
        position = 0
        while reader.offset < end:
            size = reader.unsigned()
            body_start, body_end = reader.offset, reader.offset + size
            while position < len(starts) and starts[position] < body_start:
                position += 1
            pieces, previous = [], body_start
            while position < len(starts) and starts[position] < body_end:
                here = starts[position]
                until, code = edits[here]
                assert previous <= here <= until <= body_end, f"edits overlap or leave the body at byte {here}"
                pieces += [data[previous:here], code]
                previous = until
                position += 1
            pieces.append(data[previous:body_end])
            body = b"".join(pieces)
            entries += _leb(len(body)) + body
            reader.offset = body_end
        for _, body in added:
            entries += _leb(len(body)) + body
        out += bytes([CODE]) + _leb(len(entries)) + entries
    return bytes(out)


def forwarder_body(callee: int, parameters: int) -> bytes:
    """The body of a function that calls `callee` with its own `parameters` and returns its results."""
    return b"\x00" + b"".join(b"\x20" + _leb(index) for index in range(parameters)) + call_instruction(callee) + b"\x0b"


def declared_types(data: bytes) -> list[int]:
    """The type index of each function the module defines, in order."""
    for section_id, start, _ in sections(data):
        if section_id == FUNCTION:
            reader = _Reader(data, start)
            return [reader.unsigned() for _ in range(reader.unsigned())]
    return []
