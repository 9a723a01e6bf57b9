"""The binding check: every Crystal `lib` declaration that binds a sysroot library, against the C headers.

What is compared is what WebAssembly enforces or silently gets wrong, each side as its own compiler
sees it for wasm32 (bindings/crystal_declarations.py, bindings/c_declarations.py):

- every fun's wasm signature (i32/i64/f32/f64 parameters and results): wasm-ld replaces a direct call
  with another signature by a trap;
- every callback (a proc type among a fun's parameters, a struct's fields, a global) against the C
  function pointer type: C calls it indirectly, and a call with another type traps;
- the proc literals that compiled code hands to C: a literal's own return type can differ from the
  callback type it is passed as;
- the size of what a pointer parameter or result points to, when that is a plain value (a C `long`
  is 4 bytes on wasm32): a wrong size reads or writes the wrong bytes, without any warning;
- the layout of every struct shared with C through a fun, a global or another shared struct: each
  field must lie on a C member of its size, the one of its name if C has one, else the one at its
  offset (bindings rename fields: `intSubset` is `int_subset`); a struct that declares only leading
  members of the C one is partial, not a mismatch.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cwpkg.bindings.c_declarations import (
    CField,
    CFunction,
    CHeaders,
    CProbeAnswers,
    CProbeQuestions,
    CType,
    ask_probe,
    read_headers,
)
from cwpkg.bindings.crystal_declarations import (
    NO_VALUE,
    CrystalAnswers,
    ProcLiteral,
    crystal_types,
    crystal_wasm,
    fun_key,
    global_key,
    parse_crystal_type,
    proc_parts,
    program_literals,
    scan_stdlib,
    struct_key,
)
from cwpkg.crystal import CrystalCompiler, LibDeclarations, LibField, LibFun, Where
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import Toolchain
from cwpkg.wasm import FunctionType

CALL = re.compile(r"(Lib\w+)\.(\w+)\s*$")
CALL_WITHOUT_PARENS = re.compile(r"(Lib\w+)\.(\w+)[ \t]+(?!=)(.*)$")
MACRO_SHIFT = 2
LITERAL = re.compile(r"->\s*(\(|\{|do\b|[A-Z]\w*(?:::\w+)*\.)")


@dataclass(frozen=True)
class Mismatch:
    where: str  # file:line, relative to the standard library
    label: str  # LibXML.xmlSetGenericErrorFunc, LibXML::Node.name, ...
    what: str  # "Crystal (i32, i64) -> i32, C (i32, i32) -> i32"
    declaration: str  # the C declaration, with its header and line

    def __str__(self) -> str:
        return f"{self.where}: {self.label}: {self.what}: {self.declaration}"


@dataclass
class BindingReport:
    stdlib: Path
    mismatches: list[Mismatch] = field(default_factory=list)
    checked: Counter = field(default_factory=Counter)
    partial: list[str] = field(default_factory=list)  # structs that declare only leading C members
    undeclared: list[str] = field(default_factory=list)  # funs of checked libs that the headers do not declare
    not_on_wasm32: list[str] = field(default_factory=list)  # declarations the compiler rejects for wasm32

    def summary(self) -> str:
        counts = ", ".join(f"{self.checked[kind]} {kind}" for kind in
                           ("funs", "callbacks", "pointer targets", "structs", "fields", "globals", "proc literals"))
        count = len(self.mismatches)
        return f"checked {counts}: {count} mismatch{'' if count == 1 else 'es'}"


@dataclass(frozen=True)
class _Pair:
    """A Crystal struct and a C record that share memory: how the C probe names the record (a root
    type and a member path below it: anonymous records have no name of their own), and why."""

    struct: int
    record: str
    root: str
    path: tuple[str, ...]
    via: str

    def member(self, *names: str) -> str:
        return ".".join((*self.path, *names))


@dataclass(frozen=True)
class _Slot:
    """A member of a paired record, at any depth of the records it holds by value."""

    path: tuple[str, ...]  # below the pair's record
    field: CField


@dataclass(frozen=True)
class _Match:
    member: LibField
    crystal_type: str
    slot: _Slot | None
    agrees: bool
    what: str  # the difference, when it does not agree


def _pointer_type(c_type: str) -> str:
    return re.sub(r"\s*\*$", "", c_type).strip()


class _Check:
    def __init__(self, decls: LibDeclarations, headers: CHeaders, crystal: CrystalAnswers, stdlib: Path,
                 ask_c: Callable[[dict[str, CProbeQuestions]], dict[str, CProbeAnswers]]) -> None:
        self.decls, self.headers, self.crystal, self.stdlib, self.ask_c = decls, headers, crystal, stdlib, ask_c
        self.report = BindingReport(stdlib)
        self.struct_index = {struct.label: index for index, struct in enumerate(decls.structs)
                             if struct_key(index) in crystal.types}
        self.aliases = {alias.label: alias for alias in decls.aliases}
        self.c_questions: dict[str, CProbeQuestions] = {}
        self.c_names: dict[tuple[str, str], str] = {}  # (package, expression or callback type): probe name
        self.c_answers: dict[str, CProbeAnswers] = {}
        self.asked: set[tuple[str, str]] = set()  # what the C probes have answered already
        self.pairs: dict[tuple[int, str], _Pair] = {}
        self.matches: dict[tuple[int, str], list[_Match]] = {}

    def active_funs(self) -> list[tuple[int, LibFun]]:
        return [(index, fun) for index, fun in enumerate(self.decls.funs) if f"{fun_key(index)}.R" in self.crystal.types]

    # Questions for the Crystal probe: about every active declaration, whatever C pairs it with

    def crystal_questions(self) -> dict[str, str]:
        questions = {}
        for index, struct in enumerate(self.decls.structs):
            struct_type = self.crystal.types.get(struct_key(index))
            if struct_type is None:
                continue
            questions[f"size {struct_key(index)}"] = f"sizeof({struct_type})"
            for member in struct.fields:
                member_type = self.crystal.types.get(f"{struct_key(index)}.{member.name}")
                if member_type is None:
                    continue
                if not struct.union:  # a union's fields are all at 0 (and Crystal 1.6's offsetof is wrong there)
                    questions[f"offset {struct_key(index)}.{member.name}"] = f"offsetof({struct_type}, @{member.name})"
                if proc_parts(member_type) is None:
                    questions[f"size {member_type}"] = f"sizeof({member_type})"
        for index, fun in self.active_funs():
            c_fun = self.headers.functions.get(fun.c_name)
            if c_fun is None:
                continue
            for key, c_type in self._values(index, fun, c_fun):
                crystal_type = self.crystal.types.get(key)
                pointee = self._plain_pointee(crystal_type, self.headers.resolve(c_type)) if crystal_type else None
                if pointee is not None:
                    questions[f"size {pointee}"] = f"sizeof({pointee})"
        for index, _ in enumerate(self.decls.globals):
            crystal_type = self.crystal.types.get(global_key(index))
            if crystal_type is not None and proc_parts(crystal_type) is None:
                questions[f"size {crystal_type}"] = f"sizeof({crystal_type})"
        return questions

    @staticmethod
    def _values(index: int, fun: LibFun, c_fun: CFunction) -> list[tuple[str, str]]:
        """(Crystal type question key, C type) of each parameter both declare, and of the result."""
        params = [(f"{fun_key(index)}.P{position}", c_type)
                  for position, (_, c_type) in enumerate(c_fun.params[:len(fun.params)])]
        return [*params, (f"{fun_key(index)}.R", c_fun.returns)]

    def _plain_pointee(self, crystal_type: str, resolved: CType) -> str | None:
        """What a pointer points to when both sides see a plain value there (a number, an enum, a
        pointer); shared structs are compared by their layouts instead."""
        base, depth = parse_crystal_type(crystal_type)
        if depth == 0 or resolved.depth == 0 or resolved.kind in ("void", "function", "array"):
            return None
        if resolved.kind == "record" and resolved.depth == 1:
            return None
        pointee = crystal_type[len("Pointer("):-1]
        if pointee in NO_VALUE or (depth == 1 and (base in self.struct_index or proc_parts(base) is not None)):
            return None
        return pointee

    # Questions for the C probes, asked in rounds: a layout tells which records the fields share

    def c_number(self, package: str, expression: str) -> int | None:
        name = self.c_names.setdefault((package, expression), f"cwpkg_n{len(self.c_names)}")
        self.c_questions.setdefault(package, CProbeQuestions()).numbers[name] = expression
        answers = self.c_answers.get(package)
        return answers.numbers.get(name) if answers and (package, name) in self.asked else None

    def c_callback(self, package: str, pointer_type: str) -> FunctionType | None:
        name = self.c_names.setdefault((package, "callback " + pointer_type), f"cwpkg_cb{len(self.c_names)}")
        self.c_questions.setdefault(package, CProbeQuestions()).callbacks[name] = pointer_type
        answers = self.c_answers.get(package)
        return answers.types.get(name) if answers and (package, name) in self.asked else None

    def c_function(self, package: str, name: str) -> FunctionType | None:
        self.c_questions.setdefault(package, CProbeQuestions()).functions.add(name)
        answers = self.c_answers.get(package)
        return answers.types.get(name) if answers and (package, name) in self.asked else None

    def _unanswered(self) -> dict[str, CProbeQuestions]:
        return {package: questions for package, questions in self.c_questions.items()
                if any((package, name) not in self.asked
                       for name in [*questions.functions, *questions.callbacks, *questions.numbers])}

    def run(self, literals: list[ProcLiteral]) -> BindingReport:
        """Compares everything, asking the C probes again while the comparisons have new questions
        (a record's layout tells which records its fields share). Every round answers at least one
        question of a finite set (the members of the records paired), so the rounds end."""
        while True:
            self.report = BindingReport(self.stdlib)
            self._pair_from_declarations()
            self._match_pairs()
            self._compare_functions()
            self._compare_globals()
            self._compare_structs()
            self._compare_literals(literals)
            pending = self._unanswered()
            if not pending:
                return self.report
            self.c_answers.update(self.ask_c({package: self.c_questions[package] for package in pending}))
            for package in pending:
                questions = self.c_questions[package]
                self.asked.update((package, name) for name in
                                  [*questions.functions, *questions.callbacks, *questions.numbers])

    # Pairing structs with records

    def _pair(self, crystal_type: str, c_type: CType, root: str | None, path: tuple[str, ...], via: str) -> None:
        base, depth = parse_crystal_type(crystal_type)
        index = self.struct_index.get(base)
        if index is None or c_type.kind != "record" or c_type.record is None or depth != c_type.depth:
            return
        if c_type.record not in self.headers.records or (index, c_type.record) in self.pairs:
            return
        if root is None:  # a record of its own, named by its key (an anonymous one is reached through a field)
            if c_type.record.startswith("#"):
                return
            root, path = c_type.record, ()
        self.pairs[(index, c_type.record)] = _Pair(index, c_type.record, root, path, via)

    def _pair_from_declarations(self) -> None:
        for index, fun in self.active_funs():
            c_fun = self.headers.functions.get(fun.c_name)
            if c_fun is None:
                continue
            for key, c_type in self._values(index, fun, c_fun):
                if key in self.crystal.types:
                    self._pair(self.crystal.types[key], self.headers.resolve(c_type), None, (), f"fun {fun.label}")
        for index, variable in enumerate(self.decls.globals):
            c_variable = self.headers.variables.get(variable.c_name)
            if c_variable is not None and global_key(index) in self.crystal.types:
                self._pair(self.crystal.types[global_key(index)], self.headers.resolve(c_variable.type), None, (),
                           f"global {variable.label}")

    def _slots(self, record: str, path: tuple[str, ...] = ()) -> list[_Slot]:
        """The members of `record`, and of the records it holds by value, with their paths."""
        slots = []
        for member in self.headers.records[record].fields:
            if member.bitfield:
                continue
            if not member.name:  # an anonymous member's fields belong to the record itself
                if member.record in self.headers.records:
                    slots += self._slots(member.record, path)
                continue
            slots.append(_Slot((*path, member.name), member))
            resolved = self.headers.resolve(member.type)
            inner = member.record if member.record else (resolved.record if resolved.kind == "record" and
                                                         resolved.depth == 0 else None)
            if inner in self.headers.records:
                slots += self._slots(inner, (*path, member.name))
        return slots

    def _match_pairs(self) -> None:
        """Puts each field of a paired struct on its C member, once the C layout is known; the members
        found may pair more structs (next round)."""
        for key, pair in list(self.pairs.items()):
            if key in self.matches:
                continue
            record = self.headers.records[pair.record]
            numbers = {}
            for slot in self._slots(pair.record):
                offset = self.c_number(record.package, self._offset(pair, slot.path))
                size = self.c_number(record.package, f"sizeof((({pair.root} *)0)->{pair.member(*slot.path)})")
                numbers[slot] = (offset, size)
            if any(value is None for answer in numbers.values() for value in answer):
                continue
            self.matches[key] = [self._match(pair, member, numbers)
                                 for member in self.decls.structs[pair.struct].fields
                                 if f"{struct_key(pair.struct)}.{member.name}" in self.crystal.types]
            for match in self.matches[key]:
                if match.slot is None:
                    continue
                via = f"field {self.decls.structs[pair.struct].label}.{match.member.name}"
                if match.slot.field.record is not None:  # an anonymous record, reached through the field
                    nested = CType(match.slot.field.type, 0, "record", match.slot.field.record)
                    self._pair(match.crystal_type, nested, pair.root, (*pair.path, *match.slot.path), via)
                else:
                    self._pair(match.crystal_type, self.headers.resolve(match.slot.field.type), None, (), via)

    def _offset(self, pair: _Pair, path: tuple[str, ...]) -> str:
        base = f" - offsetof({pair.root}, {pair.member()})" if pair.path else ""
        return f"offsetof({pair.root}, {pair.member(*path)}){base}"

    def _match(self, pair: _Pair, member: LibField, numbers: dict[_Slot, tuple[int, int]]) -> _Match:
        struct = self.decls.structs[pair.struct]
        crystal_type = self.crystal.types[f"{struct_key(pair.struct)}.{member.name}"]
        offset = 0 if struct.union else self.crystal.numbers.get(f"offset {struct_key(pair.struct)}.{member.name}")
        is_proc = proc_parts(crystal_type) is not None
        size = None if is_proc else self.crystal.numbers.get(f"size {crystal_type}")
        if offset is None or (size is None and not is_proc):
            return _Match(member, crystal_type, None, True, "")
        named = next((slot for slot in numbers if slot.path == (member.name,)), None)
        at_offset = [slot for slot in numbers if numbers[slot][0] == offset]
        fitting = [slot for slot in at_offset if is_proc or numbers[slot][1] == size]
        slot = named or (fitting or at_offset or [None])[0]
        crystal = f"Crystal {crystal_type} at offset {offset}" + ("" if is_proc else f" ({size} bytes)")
        if slot is None:
            return _Match(member, crystal_type, None, False, f"{crystal}, C has no member there")
        c_offset, c_size = numbers[slot]
        agrees = c_offset == offset and (is_proc or c_size == size)
        return _Match(member, crystal_type, slot, agrees,
                      f"{crystal}, C {'.'.join(slot.path)} at offset {c_offset} ({c_size} bytes)")

    # Comparisons

    def mismatch(self, where: Where, label: str, what: str, declaration: str) -> None:
        self.report.mismatches.append(Mismatch(where.relative_to(self.stdlib), label, what, declaration))

    def _callback_declaration(self, c_type: str, fallback: str) -> str:
        typedef = self.headers.typedefs.get(_pointer_type(c_type))
        return typedef.declaration() if typedef else fallback

    def _compare_callback(self, where: Where, label: str, crystal_type: str, package: str, c_type: str,
                          declaration: str) -> None:
        resolved = self.headers.resolve(c_type)
        if resolved.kind != "function" or resolved.depth != 1:
            self.mismatch(where, label, f"Crystal {crystal_type}, C {c_type} (not a function pointer)", declaration)
            return
        crystal_wasm, c_wasm = self.crystal.callbacks.get(crystal_type), self.c_callback(package, c_type)
        if crystal_wasm is None or c_wasm is None:
            return
        self.report.checked["callbacks"] += 1
        if crystal_wasm != c_wasm:
            self.mismatch(where, label, f"Crystal {crystal_wasm}, C {c_wasm}",
                          self._callback_declaration(c_type, declaration))

    def _compare_pointee(self, where: Where, label: str, crystal_type: str, package: str, c_type: str,
                         declaration: str) -> None:
        pointee = self._plain_pointee(crystal_type, self.headers.resolve(c_type))
        if pointee is None:
            return
        crystal_size = self.crystal.numbers.get(f"size {pointee}")
        c_size = self.c_number(package, f"sizeof(*(({c_type})0))")
        if crystal_size is None or c_size is None:
            return
        self.report.checked["pointer targets"] += 1
        if crystal_size != c_size:
            self.mismatch(where, label, f"Crystal {crystal_type} points to {crystal_size} bytes, C {c_type} to "
                                        f"{c_size}", declaration)

    def _param_place(self, fun: LibFun, position: int) -> tuple[Where, str]:
        """Where a callback parameter's type is declared: at its alias when it names one."""
        param = fun.params[position]
        alias = self.aliases.get(f"{fun.lib}::{param.type}")
        if alias is not None:
            return alias.where, f"{alias.label} (callback {param.name} of {fun.label})"
        return fun.where, f"{fun.label} (callback {param.name})"

    def _compare_functions(self) -> None:
        for index, fun in self.active_funs():
            c_fun = self.headers.functions.get(fun.c_name)
            if c_fun is None:
                self.report.undeclared.append(f"{fun.where.relative_to(self.stdlib)}: {fun.label} ({fun.c_name})")
                continue
            declaration = c_fun.declaration()
            crystal_wasm = self.crystal.functions.get(fun.c_name)
            c_wasm = self.c_function(c_fun.package, fun.c_name)
            if crystal_wasm is not None and c_wasm is not None:
                self.report.checked["funs"] += 1
                if crystal_wasm != c_wasm:
                    self.mismatch(fun.where, fun.label, f"Crystal {crystal_wasm}, C {c_wasm}", declaration)
            for position, (_, c_type) in enumerate(c_fun.params[:len(fun.params)]):
                crystal_type = self.crystal.types.get(f"{fun_key(index)}.P{position}")
                if crystal_type is None:
                    continue
                if proc_parts(crystal_type) is not None:
                    where, label = self._param_place(fun, position)
                    self._compare_callback(where, label, crystal_type, c_fun.package, c_type, declaration)
                else:
                    self._compare_pointee(fun.where, f"{fun.label} ({fun.params[position].name})", crystal_type,
                                          c_fun.package, c_type, declaration)
            self._compare_pointee(fun.where, f"{fun.label} (result)", self.crystal.types[f"{fun_key(index)}.R"],
                                  c_fun.package, c_fun.returns, declaration)

    def _compare_globals(self) -> None:
        for index, variable in enumerate(self.decls.globals):
            c_variable = self.headers.variables.get(variable.c_name)
            crystal_type = self.crystal.types.get(global_key(index))
            if c_variable is None or crystal_type is None:
                continue
            if proc_parts(crystal_type) is not None:
                self._compare_callback(variable.where, variable.label, crystal_type, c_variable.package,
                                       c_variable.type, c_variable.declaration())
                continue
            crystal_size = self.crystal.numbers.get(f"size {crystal_type}")
            c_size = self.c_number(c_variable.package, f"sizeof({c_variable.name})")
            if crystal_size is None or c_size is None:
                continue
            self.report.checked["globals"] += 1
            if crystal_size != c_size:
                self.mismatch(variable.where, variable.label, f"Crystal {crystal_type} ({crystal_size} bytes), C "
                                                              f"{c_size} bytes", c_variable.declaration())

    def _compare_structs(self) -> None:
        for key, pair in sorted(self.pairs.items()):
            matches = self.matches.get(key)
            if matches is None:
                continue
            struct = self.decls.structs[pair.struct]
            record = self.headers.records[pair.record]
            c_name = pair.root + (f".{pair.member()}" if pair.path else "")
            spelled = c_name if c_name.startswith(record.kind) else f"{record.kind} {c_name}"
            declaration = f"{spelled} ({record.where}), shared through {pair.via}"
            self.report.checked["structs"] += 1
            for match in matches:
                where = Where(struct.where.file, match.member.line)
                label = f"{struct.label}.{match.member.name}"
                self.report.checked["fields"] += 1
                if match.slot is not None and proc_parts(match.crystal_type) is not None:
                    self._compare_callback(where, label, match.crystal_type, record.package, match.slot.field.type,
                                           f"{match.slot.field.type} {'.'.join(match.slot.path)} in {declaration}")
                if not match.agrees:
                    c_field = f"{match.slot.field.type} {'.'.join(match.slot.path)} in " if match.slot else ""
                    self.mismatch(where, label, match.what, f"{c_field}{declaration}")
            sizes = (self.crystal.numbers.get(f"size {struct_key(pair.struct)}"),
                     self.c_number(record.package, f"sizeof((({pair.root} *)0)->{pair.member()})" if pair.path
                                   else f"sizeof({pair.root})"))
            if None in sizes or sizes[0] == sizes[1]:
                continue
            if sizes[0] < sizes[1] and all(match.agrees for match in matches):
                self.report.partial.append(f"{struct.where.relative_to(self.stdlib)}: {struct.label}: {sizes[0]} "
                                           f"of the {sizes[1]} bytes of {spelled}")
            else:
                self.mismatch(struct.where, struct.label, f"Crystal {sizes[0]} bytes, C {sizes[1]}", declaration)

    def _compare_literals(self, literals: list[ProcLiteral]) -> None:
        funs = {(fun.lib, fun.name): fun for _, fun in self.active_funs()}
        for literal in literals:
            call = find_call(literal.where)
            fun = funs.get(call[:2]) if call else None
            c_fun = self.headers.functions.get(fun.c_name) if fun else None
            if c_fun is None or call[2] >= len(c_fun.params):
                continue
            c_type = c_fun.params[call[2]][1]
            if self.headers.resolve(c_type).kind != "function":
                continue
            c_wasm = self.c_callback(c_fun.package, c_type)
            if c_wasm is None:
                continue
            self.report.checked["proc literals"] += 1
            if literal.wasm != c_wasm:
                name = fun.params[call[2]].name if call[2] < len(fun.params) else str(call[2])
                self.mismatch(literal.where, fun.label, f"proc literal {literal.type} passed as {name}: Crystal "
                                                        f"{literal.wasm}, C {c_wasm}",
                              self._callback_declaration(c_type, c_fun.declaration()))

    def describe(self, key: str) -> str:
        """A declaration key (or a probe's require) as the user knows it: place and name."""
        kinds = {"F": self.decls.funs, "S": self.decls.structs, "G": self.decls.globals}
        if key[:1] in kinds and key[1:].isdigit():
            item = kinds[key[:1]][int(key[1:])]
            return f"{item.where.relative_to(self.stdlib)}: {item.label}"
        return key


def find_call(where: Where) -> tuple[str, str, int] | None:
    """The lib fun call that a proc literal at `where` is an argument of, from the source text: (lib,
    fun, argument index); None when the literal is not passed to a lib fun directly."""
    try:
        lines = where.file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    # Inside a macro's `{% if %}` the compiler places code a line or two early: the literal is on the
    # first line from there that starts one.
    found = next(((number, match) for number in range(where.line, min(where.line + MACRO_SHIFT, len(lines)) + 1)
                  if (match := LITERAL.search(lines[number - 1]))), None)
    if found is None:
        return None
    number, literal = found
    line = lines[number - 1][:literal.start()]
    text = "\n".join(lines[max(0, number - 20):number - 1] + [line])
    depth, commas = 0, 0
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char in ")]}":
            depth += 1
        elif char in "([{":
            if depth == 0:  # the literal is an argument of this call, if it is a lib fun's
                call = CALL.search(text[:index]) if char == "(" else None
                if call:
                    return call.group(1), call.group(2), commas
                break
            depth -= 1
        elif char == "," and depth == 0:
            commas += 1
    call = CALL_WITHOUT_PARENS.search(line)  # `LibX.f a, ->(...) {`
    return (call.group(1), call.group(2), call.group(3).count(",")) if call else None


def check_bindings(compiler: CrystalCompiler, stdlib: Path, toolchain: Toolchain, sysroot: Sysroot,
                   programs: list[Path] = (), say: Callable[[str], None] = lambda message: None) -> BindingReport:
    """Checks the `lib` declarations of `stdlib` (the compiler's own, or a patched copy) that bind a
    library installed in `sysroot`, and the proc literals that `programs` hand to C."""
    say(f"reading the headers of the sysroot {sysroot.root}")
    headers = read_headers(toolchain, sysroot)
    scanned = scan_stdlib(stdlib)
    libs = {fun.lib for fun in scanned.funs if fun.c_name in headers.functions}
    decls = LibDeclarations([fun for fun in scanned.funs if fun.lib in libs],
                            [struct for struct in scanned.structs if struct.lib in libs],
                            [alias for alias in scanned.aliases if alias.lib in libs],
                            [variable for variable in scanned.globals if variable.lib in libs])
    decls.files = sorted({item.where.file for item in [*decls.funs, *decls.structs, *decls.globals]})
    say(f"asking crystal {compiler.version} about {len(decls.funs)} funs, {len(decls.structs)} structs and "
        f"{len(decls.globals)} globals of {', '.join(sorted(libs))} in {stdlib}")
    with tempfile.TemporaryDirectory(prefix="cwpkg-bindings-") as scratch:
        work = Path(scratch)
        crystal = crystal_types(compiler, stdlib, decls, work)

        def ask_c(questions: dict[str, CProbeQuestions]) -> dict[str, CProbeAnswers]:
            with ThreadPoolExecutor() as pool:
                packages = sorted(questions)
                return dict(zip(packages, pool.map(lambda package: ask_probe(
                    toolchain, sysroot, headers, package, questions[package], work), packages)))

        check = _Check(decls, headers, crystal, stdlib, ask_c)
        crystal_wasm(compiler, stdlib, decls, crystal, toolchain, work, set(headers.functions),
                     check.crystal_questions())
        literals = {(literal.where, literal.type): literal for literal in crystal.literals}
        for program in programs:
            say(f"compiling {program} for the proc literals it hands to C")
            literals.update({(literal.where, literal.type): literal
                             for literal in program_literals(compiler, stdlib, program, work)})
        report = check.run(list(literals.values()))
    report.not_on_wasm32 = [f"{check.describe(key)}: {message}" for key, message in sorted(crystal.dropped.items())]
    report.mismatches.sort(key=lambda mismatch: (mismatch.where.rsplit(":", 1)[0], int(mismatch.where.rsplit(":", 1)[1])))
    return report
