"""The Crystal side of the binding check: the compiler's own answers for wasm32 about `lib` declarations.

Two probe programs are compiled for the wasm32 target against the standard library checked:

1. Which declarations are active and what their types resolve to: for each type as written, an
   `alias` is declared inside its lib (so that names resolve as in the declaration) and a macro
   prints its `.resolve`, all inside the macro conditions that surround the declaration in its file,
   which the compiler decides (`--no-codegen`: nothing is generated).
2. The wasm facts: a proc pointer to every active fun (the object then imports each one with the
   signature Crystal gives it), one proc literal per callback type (defined in the object with the
   signature Crystal gives such a proc), and one `fun` per layout question (`sizeof`, `offsetof`),
   whose answers wasmtime reads from the linked probe.

A probe line the compiler rejects (a file that only compiles for another target, a type that does not
exist on wasm32) is dropped with its declaration, and the compiler's message kept.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cwpkg.bindings.probe import ProbeModule
from cwpkg.crystal import (
    CRYSTAL_TARGET,
    INSTALL_HINT,
    CrystalCompiler,
    LibDeclarations,
    Where,
    scan_file,
    split_top_level,
)
from cwpkg.errors import ProgramError, ToolchainError
from cwpkg.toolchain import Toolchain
from cwpkg.wasm import FunctionType, object_function_types

# The lib_c directory the compiler adds to CRYSTAL_PATH for CRYSTAL_TARGET: lib_c/<architecture>-<os>.
LIB_C_DIR = "wasm32-wasi"
PROBE_PREFIX = "cwpkg_binding_probe"
PROC_SYMBOL = re.compile(r"^~procProc\((.*)\)@(.+):(\d+)$")
COMPILE_ATTEMPTS = 60  # probe lines dropped one compile at a time; more means something else is wrong
NO_VALUE = ("Nil", "Void", "NoReturn")


def stdlib_files(stdlib: Path) -> list[Path]:
    """The standard library's sources that may be compiled for wasm32: lib_c only for its target,
    and neither the compiler's own sources nor its LLVM bindings."""
    files = []
    for path in sorted(stdlib.rglob("*.cr")):
        parts = path.relative_to(stdlib).parts
        if parts[0] in ("compiler", "llvm") or (parts[0] == "lib_c" and parts[1] != LIB_C_DIR):
            continue
        files.append(path)
    return files


def scan_stdlib(stdlib: Path) -> LibDeclarations:
    found = LibDeclarations()
    for path in stdlib_files(stdlib):
        found.extend(scan_file(path))
    return found


def parse_crystal_type(name: str) -> tuple[str, int]:
    """A resolved Crystal type name as its base and the number of `Pointer(...)` around it."""
    depth = 0
    while name.startswith("Pointer(") and name.endswith(")"):
        name, depth = name[len("Pointer("):-1], depth + 1
    return name, depth


def proc_parts(name: str) -> tuple[list[str], str] | None:
    """The parameter types and return type of a resolved `Proc(...)` type name; None for another type."""
    if not (name.startswith("Proc(") and name.endswith(")")):
        return None
    parts = split_top_level(name[len("Proc("):-1])
    return parts[:-1], parts[-1]


def fun_key(index: int) -> str:
    return f"F{index}"


def struct_key(index: int) -> str:
    return f"S{index}"


def global_key(index: int) -> str:
    return f"G{index}"


def _require_names(stdlib: Path, path: Path) -> list[str]:
    """What to require so that `path` compiles: the entry point of its directory first (`xml` for
    xml/libxml2.cr, whose declarations need the rest of xml/), then the file itself."""
    relative = path.relative_to(stdlib).with_suffix("")
    names = []
    if len(relative.parts) > 1 and (stdlib / f"{relative.parts[0]}.cr").is_file():
        names.append(relative.parts[0])
    return [*names, relative.as_posix()]


def _wrapped(lib: str, conditions: tuple[str, ...], code: str) -> str:
    """`code` in `lib`'s body, inside the macro conditions around the declaration: there, as in the
    declaration's own file, a condition sees the lib's constants (LibCrypto's OPENSSL_VERSION)."""
    return f"lib {lib}; " + "".join(conditions) + code + "{% end %}" * len(conditions) + " end"


def _crystal_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("#{", "\\#{") + '"'


def _compile(compiler: CrystalCompiler, stdlib: Path, source: Path, output: Path, cwd: Path,
             *flags: str) -> subprocess.CompletedProcess:
    """`crystal build --cross-compile` for wasm32 against `stdlib`: writes the object OUTPUT.wasm."""
    env = {**os.environ, "CRYSTAL_PATH": compiler.search_path_with(stdlib)}
    argv = [compiler.executable, "build", "--cross-compile", "--no-color", "--error-trace", "--target",
            CRYSTAL_TARGET, str(source), "-o", str(output), *flags]
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ToolchainError(f"{compiler.executable} does not run: {error}", hint=INSTALL_HINT) from None


@dataclass
class _Probe:
    """A probe program made of lines, each belonging to a key (a declaration, a require): a line the
    compiler rejects is dropped with every line of its key."""

    compiler: CrystalCompiler
    stdlib: Path
    source: Path
    lines: list[tuple[str, str]] = field(default_factory=list)  # (key, code)
    dropped: dict[str, str] = field(default_factory=dict)  # key: the compiler's message

    def add(self, key: str, code: str) -> None:
        self.lines.append((key, code))

    def add_requires(self, decls: LibDeclarations) -> None:
        for path in decls.files:
            for name in _require_names(self.stdlib, path):
                self.add(f"require {name}", f"require {_crystal_string(name)}")

    def compile(self, *flags: str) -> subprocess.CompletedProcess:
        for _ in range(COMPILE_ATTEMPTS):
            self.source.write_text("".join(code + "\n" for _, code in self.lines), encoding="utf-8")
            result = _compile(self.compiler, self.stdlib, self.source, self.source.with_suffix(""),
                              self.source.parent, *flags)
            if result.returncode == 0:
                return result
            output = result.stdout + result.stderr
            where = re.search(rf"{re.escape(self.source.name)}:(\d+):\d+", output)
            if where is None or not 0 < int(where.group(1)) <= len(self.lines):
                raise ProgramError(f"crystal {self.compiler.version} cannot compile the binding probe "
                                   f"{self.source}:\n{output[-3000:]}", hint="report this, with the message above")
            key = self.lines[int(where.group(1)) - 1][0]
            messages = re.findall(r"^Error: (.*)$", output, re.M)
            self.dropped[key] = messages[-1] if messages else output.strip().splitlines()[-1]
            self.lines = [(other, code) for other, code in self.lines if other != key]
        raise ProgramError(f"crystal {self.compiler.version} rejected more than {COMPILE_ATTEMPTS} lines of the "
                           f"binding probe {self.source}", hint="report this: the standard library is read wrongly")


@dataclass(frozen=True)
class ProcLiteral:
    """A proc literal of compiled code (a program's, or its standard library's)."""

    type: str  # Proc(...), resolved
    where: Where
    wasm: FunctionType


@dataclass
class CrystalAnswers:
    types: dict[str, str] = field(default_factory=dict)  # question key: resolved type name
    functions: dict[str, FunctionType] = field(default_factory=dict)  # C name: as Crystal calls it
    callbacks: dict[str, FunctionType] = field(default_factory=dict)  # Proc(...) type: its literals' wasm type
    numbers: dict[str, int] = field(default_factory=dict)  # layout question: answer
    literals: list[ProcLiteral] = field(default_factory=list)  # of the standard library's compiled code
    dropped: dict[str, str] = field(default_factory=dict)  # declaration key (or require): the compiler's message


def _type_questions(decls: LibDeclarations) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    """(declaration key, question key, lib, type as written, conditions) for every type the check
    needs resolved."""
    questions = []
    for index, fun in enumerate(decls.funs):
        key = fun_key(index)
        for position, param in enumerate(fun.params):
            questions.append((key, f"{key}.P{position}", fun.lib, param.type, fun.conditions))
        questions.append((key, f"{key}.R", fun.lib, fun.returns or "Nil", fun.conditions))
    for index, struct in enumerate(decls.structs):
        key = struct_key(index)
        questions.append((key, key, struct.lib, struct.name, struct.conditions))
        for member in struct.fields:
            questions.append((key, f"{key}.{member.name}", struct.lib, member.type,
                              struct.conditions + member.conditions))
    for index, variable in enumerate(decls.globals):
        key = global_key(index)
        questions.append((key, key, variable.lib, variable.type, variable.conditions))
    return questions


def crystal_types(compiler: CrystalCompiler, stdlib: Path, decls: LibDeclarations, work: Path) -> CrystalAnswers:
    """Step 1: the resolved types of the declarations active on wasm32, by question key (absent: the
    declaration is not active there)."""
    probe = _Probe(compiler, stdlib, work / f"{PROBE_PREFIX}_types.cr")
    probe.add_requires(decls)
    questions = _type_questions(decls)
    for number, (key, _, lib, type_text, conditions) in enumerate(questions):
        probe.add(key, _wrapped(lib, conditions, f"alias CwpkgType{number} = {type_text};"))
    for number, (key, question, lib, _, conditions) in enumerate(questions):
        probe.add(key, _wrapped(lib, conditions,
                                f'{{% puts "cwpkg-type\\t{question}\\t#{{{lib}::CwpkgType{number}.resolve}}" %}}'))
    result = probe.compile("--no-codegen")
    answers = CrystalAnswers(dropped=dict(probe.dropped))
    for line in result.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[0] == "cwpkg-type":
            answers.types[fields[1]] = fields[2]
    return answers


def _proc_literal(type_name: str) -> str:
    params, returns = proc_parts(type_name) or ([], "Nil")
    arguments = ", ".join(f"a{index} : {param}" for index, param in enumerate(params))
    body = "nil" if returns in NO_VALUE else f"value = uninitialized {returns}; value"
    return f"CWPKG_TAKEN << (->({arguments}) {{ {body} }}).pointer"


def proc_literals(types: dict[str, FunctionType], cwd: Path) -> list[ProcLiteral]:
    """The proc literals among an object's functions: their symbols name their type and place (a
    path relative to the directory the compiler ran in, or absolute)."""
    found = []
    for symbol, wasm in types.items():
        proc = PROC_SYMBOL.match(symbol)
        if proc is not None:
            where = Where(cwd / proc.group(2), int(proc.group(3)))
            found.append(ProcLiteral(f"Proc({proc.group(1)})", where, wasm))
    return found


def crystal_wasm(compiler: CrystalCompiler, stdlib: Path, decls: LibDeclarations, answers: CrystalAnswers,
                 toolchain: Toolchain, work: Path, funs: set[str], numbers: dict[str, str]) -> None:
    """Step 2, into `answers`: the wasm signatures of the active funs among `funs` (C names) and of
    the callback types among the resolved types, the proc literals of the standard library code
    required, and the `numbers` asked (question key: a Crystal expression giving an integer)."""
    probe = _Probe(compiler, stdlib, work / f"{PROBE_PREFIX}_wasm.cr")
    probe.add_requires(decls)
    probe.add("taken", "CWPKG_TAKEN = [] of Void*")
    for index, fun in enumerate(decls.funs):
        if f"{fun_key(index)}.R" in answers.types and fun.c_name in funs:
            probe.add(fun_key(index), f"CWPKG_TAKEN << (->{fun.lib}.{fun.name}).pointer")
    for name in sorted({name for name in answers.types.values() if proc_parts(name) is not None}):
        probe.add(f"callback {name}", _proc_literal(name))
    symbols = {key: f"cwpkg_number_{index}" for index, key in enumerate(sorted(numbers))}
    for key, symbol in symbols.items():
        probe.add(f"number {key}", f"fun {symbol} : Int64; ({numbers[key]}).to_i64!; end")
    probe.compile()
    for key, message in probe.dropped.items():
        answers.dropped.setdefault(key, message)
    callback_lines = {number: key[len("callback "):] for number, (key, _) in enumerate(probe.lines, 1)
                      if key.startswith("callback ")}
    obj = probe.source.with_suffix(".wasm")
    types = object_function_types(obj)
    for symbol, wasm in types.items():
        if not symbol.startswith(("~", "*")):
            answers.functions[symbol] = wasm
    for literal in proc_literals(types, probe.source.parent):
        if literal.where.file == probe.source:
            if literal.where.line in callback_lines:
                answers.callbacks[callback_lines[literal.where.line]] = literal.wasm
        else:
            answers.literals.append(literal)
    asked = {key: symbol for key, symbol in symbols.items() if f"number {key}" not in probe.dropped}
    results = ProbeModule(toolchain, obj, work / f"{PROBE_PREFIX}_numbers.wasm").call_all(list(asked.values()))
    answers.numbers.update({key: results[symbol] for key, symbol in asked.items()})


def program_literals(compiler: CrystalCompiler, stdlib: Path, program: Path, work: Path) -> list[ProcLiteral]:
    """The proc literals of a program (and of the standard library code it uses), compiled for wasm32."""
    output = work / f"{PROBE_PREFIX}_program"
    result = _compile(compiler, stdlib, program.resolve(), output, Path.cwd())
    if result.returncode != 0:
        raise ProgramError(f"crystal {compiler.version} could not compile {program}:\n"
                           f"{(result.stdout + result.stderr).strip()[-3000:]}",
                           hint="fix the program (the message above is the compiler's)")
    return proc_literals(object_function_types(output.with_suffix(".wasm")), Path.cwd())
