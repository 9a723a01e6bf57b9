"""The C side of the binding check: what the sysroot's headers declare, as clang reads them for wasm32.

Declarations (functions, typedefs, records, variables) come from clang's JSON AST of each installed
package's headers. Their WebAssembly facts come from a compiled probe, never from a table here: the
probe takes the address of each function asked about and declares a function of each callback type
(`extern __typeof__(*(T)0) name;`), so the object's imports carry the exact wasm signatures; and it
defines one function per layout question (`offsetof`, `sizeof`) whose answer wasmtime reads from
the linked probe.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from cwpkg.bindings.probe import ProbeModule
from cwpkg.errors import ToolchainError
from cwpkg.sysroot import PKG_CONFIG_DIR, Sysroot
from cwpkg.toolchain import INSTALL_HINT, Toolchain, run_tool
from cwpkg.wasm import FunctionType, object_function_types

# What the headers need defined to declare everything the packages provide: wasi-libc's emulation
# libraries (the recipe builds them; their headers refuse to be used without these), and every code
# unit width of PCRE2 (0: the _8, _16 and _32 functions all declared).
HEADER_DEFINES = ("-D_WASI_EMULATED_SIGNAL", "-D_WASI_EMULATED_MMAN", "-D_WASI_EMULATED_PROCESS_CLOCKS",
                  "-D_WASI_EMULATED_GETPID", "-DPCRE2_CODE_UNIT_WIDTH=0")
QUALIFIERS = re.compile(r"\b(const|volatile|restrict|__restrict)\b")
FUNCTION_POINTER = re.compile(r"^(.*?)\(\*\)\s*(\(.*\))$")
ANONYMOUS = re.compile(r"\((unnamed|anonymous) ")


@dataclass(frozen=True)
class CWhere:
    header: str  # relative to the sysroot's include/
    line: int

    def __str__(self) -> str:
        return f"{self.header}:{self.line}"


def _named(type_text: str, name: str) -> str:
    """A C declarator: `type_text` (clang's spelling) declaring `name`."""
    if "(*)" in type_text:
        return type_text.replace("(*)", f"(*{name})", 1)
    return f"{type_text}{name}" if type_text.endswith("*") else f"{type_text} {name}"


@dataclass(frozen=True)
class CFunction:
    name: str
    returns: str
    params: tuple[tuple[str, str], ...]  # (name, type) as clang spells them
    variadic: bool
    where: CWhere
    package: str

    def declaration(self) -> str:
        params = [_named(type_text, name or "") .strip() for name, type_text in self.params]
        if self.variadic:
            params.append("...")
        return f"{_named(self.returns, self.name)}({', '.join(params) or 'void'}) ({self.where})"


@dataclass(frozen=True)
class CTypedef:
    name: str
    type: str
    where: CWhere
    package: str
    record: str | None  # the key of the anonymous record it names

    def declaration(self) -> str:
        return f"typedef {_named(self.type, self.name)} ({self.where})"


@dataclass(frozen=True)
class CField:
    name: str
    type: str
    bitfield: bool
    record: str | None  # the key of an anonymous record defined in place


@dataclass(frozen=True)
class CRecord:
    key: str  # "struct _xmlNode", a typedef's name for an anonymous one, else "#package:id"
    kind: str  # struct | union
    fields: tuple[CField, ...]
    where: CWhere
    package: str

    def field(self, name: str) -> CField | None:
        return next((member for member in self.fields if member.name == name), None)


@dataclass(frozen=True)
class CVariable:
    name: str
    type: str
    where: CWhere
    package: str

    def declaration(self) -> str:
        return f"extern {_named(self.type, self.name)} ({self.where})"


@dataclass(frozen=True)
class CType:
    """A C type with the typedefs at its head expanded: `base` with `depth` pointers on it."""

    base: str  # "struct _xmlNode", "unsigned long", "int (void *, char *, int)", ...
    depth: int
    kind: str  # record | function | void | scalar | array
    record: str | None = None  # the record's key


@dataclass
class CHeaders:
    include: Path
    functions: dict[str, CFunction] = field(default_factory=dict)
    typedefs: dict[str, CTypedef] = field(default_factory=dict)
    records: dict[str, CRecord] = field(default_factory=dict)
    variables: dict[str, CVariable] = field(default_factory=dict)
    headers: dict[str, list[str]] = field(default_factory=dict)  # package: the headers its probe includes
    flags: dict[str, list[str]] = field(default_factory=dict)  # package: its compiler flags (pkg-config)

    def resolve(self, type_text: str) -> CType:
        """`type_text` with the typedefs at its head followed, down to a record, function, scalar or
        void; a typedef of an anonymous record stops there (its record is keyed by the typedef)."""
        text, depth = QUALIFIERS.sub("", type_text).strip(), 0
        for _ in range(64):
            text = re.sub(r"\s+", " ", text).strip()
            if text.endswith("]"):
                return CType(text, depth, "array")
            pointer = FUNCTION_POINTER.match(text)
            if pointer:
                return CType(f"{pointer.group(1).strip()} {pointer.group(2)}", depth + 1, "function")
            if text.endswith("*"):
                text, depth = text[:-1], depth + 1
                continue
            if text.endswith(")"):
                return CType(text, depth, "function")
            typedef = self.typedefs.get(text)
            if typedef is not None:
                if typedef.record is not None:
                    return CType(text, depth, "record", typedef.record)
                text = QUALIFIERS.sub("", typedef.type)
                continue
            if text.startswith(("struct ", "union ")):
                return CType(text, depth, "record", text if text in self.records else None)
            return CType(text, depth, "void" if text == "void" else "scalar")
        return CType(text, depth, "scalar")


class _Locations:
    """clang's JSON AST writes a location's file and line only when they changed since the previous
    location it wrote: this follows them through the dump in document order."""

    def __init__(self, include: Path) -> None:
        self.include, self.file, self.line = include, "", 0

    def bare(self, loc: dict) -> None:
        self.file = loc.get("file", self.file)
        self.line = loc.get("line", self.line)

    def see(self, loc: dict | None) -> CWhere:
        """Follows one location (a macro's has a spelling and an expansion location); returns where it
        is, the expansion's place for a name a macro made."""
        if not loc:
            return self.here()
        if "spellingLoc" in loc:
            self.bare(loc["spellingLoc"])
            self.bare(loc["expansionLoc"])
        else:
            self.bare(loc)
        return self.here()

    def here(self) -> CWhere:
        try:  # pkg-config's include directories are spelled through lib/pkgconfig/../..
            header = os.path.relpath(os.path.normpath(self.file), self.include)
            if header.startswith(".."):
                raise ValueError(header)
        except ValueError:
            header = self.file
        return CWhere(header, self.line)

    def node(self, node: dict) -> CWhere:
        """Follows a node's own locations (loc, then range); returns the loc's place."""
        where = self.see(node.get("loc"))
        for end in ("begin", "end"):
            self.see(node.get("range", {}).get(end))
        return where

    def skip(self, node: dict) -> None:
        """Follows every location below `node` (which is not read otherwise)."""
        self.node(node)
        for inner in node.get("inner", []):
            self.skip(inner)


def _owned_record(node: dict) -> str | None:
    """The id of the record a typedef or field declares in place (`typedef struct {...} name;`)."""
    for key in ("ownedTagDecl", "decl"):
        owned = node.get(key)
        if isinstance(owned, dict) and owned.get("kind") == "RecordDecl":
            return owned["id"]
    for inner in node.get("inner", []):
        if inner.get("kind", "").endswith("Type"):
            found = _owned_record(inner)
            if found:
                return found
    return None


def _read_ast(headers: CHeaders, package: str, dump: dict) -> None:
    locations = _Locations(headers.include)
    anonymous: dict[str, str] = {}  # id of a top-level anonymous record: its key

    def record(node: dict, where: CWhere) -> str:
        fields, nested = [], None  # nested: the anonymous record just defined inside this one
        for inner in node.get("inner", []):
            if inner.get("kind") == "FieldDecl":
                locations.skip(inner)
                type_text = inner["type"]["qualType"]
                fields.append(CField(inner.get("name", ""), type_text, bool(inner.get("isBitfield")),
                                     nested if ANONYMOUS.search(type_text) else None))
            elif inner.get("kind") == "RecordDecl":
                key = record(inner, locations.node(inner))
                nested = key if not inner.get("name") else nested
            else:
                locations.skip(inner)
        name = node.get("name")
        key = f"{node['tagUsed']} {name}" if name else f"#{package}:{node['id']}"
        if node.get("completeDefinition") and key not in headers.records:
            headers.records[key] = CRecord(key, node["tagUsed"], tuple(fields), where, package)
        return key

    for node in dump.get("inner", []):
        kind = node.get("kind")
        if kind not in ("FunctionDecl", "TypedefDecl", "RecordDecl", "VarDecl"):
            locations.skip(node)
            continue
        where = locations.node(node)
        if kind == "RecordDecl":
            key = record(node, where)
            if not node.get("name"):
                anonymous[node["id"]] = key
            continue
        for inner in node.get("inner", []):
            locations.skip(inner)
        name, type_text = node.get("name", ""), node.get("type", {}).get("qualType", "")
        if kind == "FunctionDecl" and name not in headers.functions:
            params = tuple((inner.get("name", ""), inner["type"]["qualType"]) for inner in node.get("inner", [])
                           if inner.get("kind") == "ParmVarDecl")
            returns = type_text[:_parameter_list_start(type_text)].strip()
            headers.functions[name] = CFunction(name, returns, params, bool(node.get("variadic")), where, package)
        elif kind == "TypedefDecl" and name not in headers.typedefs:
            owned = _owned_record(node)
            key = anonymous.get(owned) if owned else None
            if key is not None and key.startswith("#") and key in headers.records:
                # `typedef struct {...} name;`: the record is known by the typedef's name from now on
                headers.records[name] = replace(headers.records.pop(key), key=name)
                anonymous[owned] = key = name
            headers.typedefs[name] = CTypedef(name, type_text, where, package, key if key == name else None)
        elif kind == "VarDecl" and name not in headers.variables:
            headers.variables[name] = CVariable(name, type_text, where, package)


def _parameter_list_start(function_type: str) -> int:
    """Where the parameter list of clang's spelling of a function type starts (its last top-level
    parenthesis group)."""
    depth = 0
    for index in range(len(function_type) - 1, -1, -1):
        char = function_type[index]
        if char == ")":
            depth += 1
        elif char == "(":
            depth -= 1
            if depth == 0:
                return index
    return len(function_type)


def _package_headers(files: list[str]) -> list[str]:
    """A package's public headers, as `#include <...>` names; the internal ones (`bits/`, `__*.h`) are
    included by those."""
    names = []
    for path in files:
        if path.startswith("include/") and path.endswith(".h"):
            name = path[len("include/"):]
            if "bits/" not in name and not Path(name).name.startswith("__"):
                names.append(name)
    return names


def _pkg_config_flags(sysroot: Sysroot, files: list[str]) -> list[str]:
    """The compiler flags of the package's pkg-config files, as a user of the library gets them."""
    modules = [Path(path).stem for path in files if path.startswith(f"{PKG_CONFIG_DIR}/") and path.endswith(".pc")]
    if not modules:
        return []
    hint = "on Debian/Ubuntu: apt-get install pkg-config"
    result = run_tool(["pkg-config", "--cflags", *modules], hint,
                      env={"PATH": "/usr/bin:/bin", **sysroot.pkg_config_environment()})
    if result.returncode != 0:
        raise ToolchainError(f"pkg-config --cflags {' '.join(modules)} failed: {result.stderr.strip()}", hint=hint)
    return result.stdout.split()


def _clang(toolchain: Toolchain, sysroot: Sysroot, flags: list[str]) -> list[str]:
    return [*toolchain.compiler(sysroot.root), *HEADER_DEFINES, *flags]


def _compiles(argv: list[str], source: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([*argv, "-x", "c", "-"], input=source, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ToolchainError(f"{argv[0]} does not run: {error}", hint=INSTALL_HINT) from None


def _includes(names: list[str]) -> str:
    return "".join(f"#include <{name}>\n" for name in names)


def _dump_package(toolchain: Toolchain, sysroot: Sysroot, names: list[str], flags: list[str]) -> tuple[list[str], dict]:
    """clang's JSON AST of the package's headers; a header that does not compile on its own (one
    including a header the package does not install) is left out."""
    argv = [*_clang(toolchain, sysroot, flags), "-w", "-fsyntax-only"]
    if _compiles(argv, _includes(names)).returncode != 0:
        names = [name for name in names if _compiles(argv, _includes([name])).returncode == 0]
    result = _compiles([*argv, "-Xclang", "-ast-dump=json"], _includes(names))
    if result.returncode != 0:
        raise ToolchainError(f"clang cannot read the sysroot's headers {', '.join(names)}:\n{result.stderr[-2000:]}",
                             hint="reinstall the package (cwpkg install --force is not needed: cwpkg uninstall, "
                                  "then cwpkg install)")
    return names, json.loads(result.stdout)


def read_headers(toolchain: Toolchain, sysroot: Sysroot) -> CHeaders:
    """Every declaration of every installed package's headers (first declaration of a name wins)."""
    headers = CHeaders(sysroot.include_dir)
    packages: dict[str, list[str]] = {}
    for path, package in sorted(sysroot.owners().items()):
        packages.setdefault(package, []).append(path)
    jobs = []
    for package, files in sorted(packages.items()):
        names = _package_headers(files)
        if names:
            headers.flags[package] = _pkg_config_flags(sysroot, files)
            jobs.append((package, names))
    with ThreadPoolExecutor() as pool:
        dumps = list(pool.map(lambda job: _dump_package(toolchain, sysroot, job[1], headers.flags[job[0]]), jobs))
    for (package, _), (names, dump) in zip(jobs, dumps):
        headers.headers[package] = names
        _read_ast(headers, package, dump)
    return headers


@dataclass
class CProbeQuestions:
    """What one package's probe is asked: functions' and callbacks' wasm types, and numbers (layouts)."""

    functions: set[str] = field(default_factory=set)
    callbacks: dict[str, str] = field(default_factory=dict)  # probe name: a function pointer type
    numbers: dict[str, str] = field(default_factory=dict)  # probe name: a C expression (offsetof, sizeof)


@dataclass
class CProbeAnswers:
    types: dict[str, FunctionType] = field(default_factory=dict)  # function or callback probe name: type
    numbers: dict[str, int] = field(default_factory=dict)


def _probe_source(headers: CHeaders, package: str, questions: CProbeQuestions) -> str:
    lines = [_includes(headers.headers[package]), "#include <stddef.h>"]
    for name, pointer_type in sorted(questions.callbacks.items()):
        lines.append(f"extern __typeof__(*({pointer_type})0) {name};")
    taken = sorted(questions.functions) + sorted(questions.callbacks)
    lines.append("void *cwpkg_taken[] = {" + ", ".join(f"(void *)&{name}" for name in taken) + "};")
    for name, expression in sorted(questions.numbers.items()):
        lines.append(f"long long {name}(void) {{ return (long long)({expression}); }}")
    return "\n".join(lines) + "\n"


def _iter_errors(stderr: str) -> Iterator[int]:
    for match in re.finditer(r"^<stdin>:(\d+):\d+: error", stderr, re.M):
        yield int(match.group(1))


def ask_probe(toolchain: Toolchain, sysroot: Sysroot, headers: CHeaders, package: str, questions: CProbeQuestions,
              work: Path) -> CProbeAnswers:
    """Compiles the package's probe to a wasm object: the types of what it imports and declares; links
    it (nothing resolved: every import a trap) and calls each number's function under wasmtime.

    A question the compiler rejects (a bitfield's offset, a member that is not there) is dropped, and
    the probe compiled again without it; the caller sees it unanswered.
    """
    source_path, obj = work / f"c-probe-{package}.c", work / f"c-probe-{package}.o"
    argv = [*_clang(toolchain, sysroot, headers.flags.get(package, [])), "-w", "-c", "-o", str(obj)]
    for _ in range(len(questions.numbers) + len(questions.callbacks) + 2):
        source = _probe_source(headers, package, questions)
        source_path.write_text(source)
        result = _compiles(argv, source)
        if result.returncode == 0:
            break
        lines = source.splitlines()
        rejected = {lines[number - 1] for number in _iter_errors(result.stderr) if number <= len(lines)}
        kept_numbers = {name: expression for name, expression in questions.numbers.items()
                        if not any(f" {name}(void)" in line for line in rejected)}
        kept_callbacks = {name: pointer for name, pointer in questions.callbacks.items()
                          if not any(f" {name};" in line for line in rejected)}
        if (kept_numbers, kept_callbacks) == (questions.numbers, questions.callbacks):
            raise ToolchainError(f"the C probe of {package} ({source_path}) does not compile:\n"
                                 f"{result.stderr[-2000:]}", hint="report this: the headers are read wrongly")
        questions = CProbeQuestions(questions.functions, kept_callbacks, kept_numbers)
    types = object_function_types(obj)
    numbers = ProbeModule(toolchain, obj, work / f"c-probe-{package}.wasm").call_all(list(questions.numbers))
    return CProbeAnswers(types, numbers)
