"""Plugins: a WASI reactor module (`cwpkg link --reactor`), whose exported functions a host calls.

The Crystal side (patches/crystal/1.6.0/wasm32-reactor.patch, compiled with REACTOR_FLAG) defines
`_initialize`, which initializes the collector and runs the program's top-level code inside the
runtime's bottom frame, `cwpkg_reactor_run`, which calls an exported fun there and rescues what
escapes it, and `cwpkg_error`. The link writes, for each exported fun NAME, a C function exported as
NAME that puts its arguments in a frame and asks the runtime to run `cwpkg_reactor_run` in a bottom
frame of its own (cwpkg_rt_run), which calls a thunk that calls the fun. So collections, fiber
switches and exceptions work inside every call, as in a program's main. It also exports malloc and
free, for a host to pass strings and bytes in and out. docs/wasm-runtime.md, "Plugins".
"""

from __future__ import annotations

import re
from pathlib import Path

from cwpkg.errors import UsageError
from cwpkg.link.exceptions import C_TYPES
from cwpkg.link.generated import c_string_literal, compile_generated
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import Toolchain
from cwpkg.wasm import ERROR_EXPORT, INITIALIZE, FunctionType

ALLOC_EXPORT, FREE_EXPORT = "cwpkg_alloc", "cwpkg_free"  # memory a host fills or reads
# Exported by the link from the program's own objects; the generated ones carry export_name.
PROGRAM_EXPORTS = (INITIALIZE, ERROR_EXPORT)
RESERVED = frozenset({INITIALIZE, ERROR_EXPORT, ALLOC_EXPORT, FREE_EXPORT, "_start", "main", "memory"})
THUNK_PREFIX = "cwpkg_thunk_"  # calls the exported fun NAME: cwpkg_thunk_NAME
C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_export_names(names: tuple[str, ...]) -> None:
    """--export's names: C identifiers (a Crystal fun's name is one), none of the reactor's own."""
    for name in names:
        if not C_IDENTIFIER.fullmatch(name):
            raise UsageError(f"--export {name}: not the name of a Crystal fun",
                             hint="name a top-level `fun` of the program, such as --export greet")
        if name in RESERVED:
            raise UsageError(f"--export {name}: the plugin defines {name} itself",
                             hint="give the fun another name")


def export_types(names: tuple[str, ...], types: dict[str, FunctionType]) -> dict[str, FunctionType]:
    """The wasm type of each exported fun, from the program's object (`types`); a clear error for a
    name the program does not define, or a type a host cannot call."""
    found: dict[str, FunctionType] = {}
    for name in names:
        if name not in types:
            raise UsageError(f"--export {name}: the program defines no fun {name}",
                             hint="name a top-level `fun` of the program (a `def` cannot be exported)")
        function_type = types[name]
        if len(function_type.results) > 1 or any(value not in C_TYPES for value in function_type.params
                                                 + function_type.results):
            raise UsageError(f"--export {name}: its type {function_type} is not one a host can call",
                             hint="take and return integers, floats and pointers only")
        found[name] = function_type
    return found


def wrappers_source(exports: dict[str, FunctionType], program_name: str) -> str:
    """C source: each export's wrapper and thunk, malloc and free exported, the program's name."""
    lines = ["#include <stdlib.h>", '#include "cwpkg_rt.h"', "",
             "struct cwpkg_export_call { void (*thunk)(void *); void *frame; };",
             "int cwpkg_reactor_run(void *call); /* crystal/system/wasi/reactor.cr */", "",
             f"const char *const cwpkg_reactor_program_name = {c_string_literal(program_name)};", "",
             f'__attribute__((export_name("{ALLOC_EXPORT}"))) void *cwpkg_export_alloc(size_t size) '
             "{ return malloc(size); }",
             f'__attribute__((export_name("{FREE_EXPORT}"))) void cwpkg_export_free(void *pointer) '
             "{ free(pointer); }", ""]
    for name, function_type in exports.items():
        result = C_TYPES[function_type.results[0]] if function_type.results else "void"
        arguments = [C_TYPES[value] for value in function_type.params]
        fields = "".join(f" {c_type} a{index};" for index, c_type in enumerate(arguments))
        passed = ", ".join(f"frame->a{index}" for index in range(len(arguments)))
        stored = "" if result == "void" else "frame->result = "
        lines += [f"{result} {name}({', '.join(arguments) or 'void'});",
                  f"struct cwpkg_frame_{name} {{{fields}{'' if result == 'void' else f' {result} result;'} }};",
                  f"static void {THUNK_PREFIX}{name}(void *opaque) {{",
                  f"  struct cwpkg_frame_{name} *frame = opaque;",
                  f"  {stored}{name}({passed});",
                  "}",
                  f'__attribute__((export_name("{name}"))) {result} cwpkg_export_{name}('
                  f"{', '.join(f'{c_type} a{index}' for index, c_type in enumerate(arguments)) or 'void'}) {{",
                  f"  struct cwpkg_frame_{name} frame = {{{', '.join(f'a{i}' for i in range(len(arguments)))}}};",
                  f"  struct cwpkg_export_call call = {{{THUNK_PREFIX}{name}, &frame}};",
                  "  cwpkg_rt_run(cwpkg_reactor_run, &call);",
                  "  return frame.result;" if result != "void" else "",
                  "}", ""]
    return "\n".join(lines)


def compile_wrappers(toolchain: Toolchain, sysroot: Sysroot, exports: dict[str, FunctionType], program_name: str,
                     scratch: Path) -> Path:
    """An object with the exports' wrappers (wrappers_source)."""
    return compile_generated(toolchain, sysroot, "reactor", wrappers_source(exports, program_name), scratch,
                             "the plugin's export wrappers", hint="reinstall cwpkg-rt (its cwpkg_rt.h declares "
                                                                  "cwpkg_rt_run)")
