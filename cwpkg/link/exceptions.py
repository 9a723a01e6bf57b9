"""The catchers of a program whose exceptions LLVM lowered the Emscripten way (runtime/exceptions.c).

`-mllvm -enable-emscripten-cxx-exceptions` turns every `invoke` of a function of some type into a call
of `invoke_SIG(fn, args...)`, which the program's objects import. The link defines each one: an
`invoke_SIG` that Asyncify instruments, reads the stack pointer and calls, through a function pointer,
a catcher `cwpkg_rt_catch_through_SIG` that Asyncify leaves alone (PASS_THROUGH_PREFIX), which calls
`fn` between the runtime's cwpkg_rt_catch_enter and cwpkg_rt_catch_leave. The pointer matters:
Binaryen checks for an unwind after an indirect call, but not after a direct call of a function it
does not instrument. The stack pointer and the fiber's raise paths are read in invoke_SIG because a
rewind restores its locals, while the catcher, run again by a rewind, would find the deepest stack
pointer of the unwind and the raise paths of the moment of the switch.
"""

from __future__ import annotations

from pathlib import Path

from cwpkg.errors import ProgramError
from cwpkg.link.generated import compile_generated
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import Toolchain
from cwpkg.wasm import FunctionType, defined_symbols, is_wasm, object_function_types

INVOKE_PREFIX = "invoke_"
# The catchers: on the path of every unwind through an invoke, yet never instrumented, because the
# innermost one must see a raise return to it. Their invoke_SIG reaches them through a function pointer,
# so Binaryen checks for an unwind after the call; any other unwind passes through them and they run
# again on the rewind (cwpkg.link.asyncify_lists).
PASS_THROUGH_PREFIX = "cwpkg_rt_catch_through_"
C_TYPES = {"i32": "int", "i64": "long long", "f32": "float", "f64": "double"}
THROW = "cwpkg_rt_throw"  # runtime/exceptions.c: a raise
RAISING_GLOBAL = "cwpkg_rt_raising"  # runtime/exceptions.c: the wasm global the early returns read
TRACE_FRAME = "cwpkg_rt_trace_frame"  # runtime/exceptions.c: the backtraces' recorder (cwpkg.link.backtraces)
# What a program with exceptions needs of the runtime: the patched standard library raises and names
# frames through it, the catchers and the link's checks call it. An older installed cwpkg-rt lacks some.
RUNTIME_SYMBOLS = frozenset({THROW, TRACE_FRAME, "cwpkg_rt_trace_raise", "cwpkg_rt_frame_name",
                             "cwpkg_rt_catch_enter", "cwpkg_rt_catch_leave", "cwpkg_rt_raise_paths"})


def invoke_types(objects: list[Path], defined: set[str]) -> dict[str, FunctionType]:
    """The invoke_SIG functions the program's object files call and the link does not define (`defined`:
    the symbols its objects define), with their types (archives are libraries: their invokes, if any,
    are their own)."""
    files = [path for path in objects if is_wasm(path)]  # archives start with "!<arch>"
    called = {name: function_type for path in files for name, function_type in object_function_types(path).items()
              if name.startswith(INVOKE_PREFIX)}
    return {name: called[name] for name in sorted(called) if name not in defined}


def _c_type(value_type: str, where: str) -> str:
    if value_type not in C_TYPES:
        raise ProgramError(f"{where} has a parameter or result of type {value_type}, which cwpkg's exception "
                           "catchers do not pass", hint="report it with the program that needs it")
    return C_TYPES[value_type]


def catchers_source(invokes: dict[str, FunctionType]) -> str:
    """C source defining each invoke_SIG and its catcher."""
    lines = ['#include "cwpkg_rt.h"', ""]
    for name, function_type in invokes.items():
        if not function_type.params or function_type.params[0] != "i32" or len(function_type.results) > 1:
            raise ProgramError(f"{name} has the type {function_type}, not that of an invoke (a function "
                               "pointer, then its arguments)", hint="rename the program's own function")
        result = _c_type(function_type.results[0], name) if function_type.results else "void"
        arguments = [_c_type(value_type, name) for value_type in function_type.params[1:]]
        callee = f"{result} (*fn)({', '.join(arguments) or 'void'})"
        typed = [f"{c_type} a{index}" for index, c_type in enumerate(arguments)]
        parameters, caught = ", ".join([callee, *typed]), ", ".join([callee, "char *sp", "unsigned paths", *typed])
        passed = ", ".join(f"a{index}" for index in range(len(arguments)))
        suffix = name[len(INVOKE_PREFIX):]
        catcher, pointer = f"{PASS_THROUGH_PREFIX}{suffix}", f"cwpkg_rt_catcher_{suffix}"
        pointer_type = (f"{result} (*volatile {pointer})"
                        f"({', '.join([callee.replace('(*fn)', '(*)'), 'char *', 'unsigned', *arguments])})")
        if result == "void":
            body = f"  unsigned depth = cwpkg_rt_catch_enter(sp, paths);\n  fn({passed});\n  cwpkg_rt_catch_leave(depth);"
        else:
            body = (f"  unsigned depth = cwpkg_rt_catch_enter(sp, paths);\n  {result} value = fn({passed});\n"
                    "  return cwpkg_rt_catch_leave(depth) ? 0 : value;")
        forwarded = ", ".join(["fn", "cwpkg_rt_stack_pointer()", "cwpkg_rt_raise_paths()",
                               *([passed] if passed else [])])
        lines += [f"{result} {catcher}({caught}) {{", body, "}", "",
                  f"{pointer_type} = {catcher};", "",
                  f"{result} {name}({parameters}) {{",
                  f"  {'' if result == 'void' else 'return '}{pointer}({forwarded});",
                  "}", ""]
    return "\n".join(lines)


def require_exception_runtime(runtime_library: Path) -> None:
    """A clear error, before wasm-ld's undefined symbols, when the installed runtime is older than the
    exceptions this cwpkg compiles."""
    missing = RUNTIME_SYMBOLS - (defined_symbols(runtime_library) or set())
    if missing:
        raise ProgramError(f"{runtime_library} has no {', '.join(sorted(missing))}: the installed cwpkg-rt is "
                           "older than this cwpkg's exceptions",
                           hint="cwpkg install cwpkg-rt  (or link with --no-exceptions)")


def compile_catchers(toolchain: Toolchain, sysroot: Sysroot, invokes: dict[str, FunctionType], scratch: Path) -> Path:
    """An object defining the catchers the program's objects need."""
    return compile_generated(toolchain, sysroot, "catchers", catchers_source(invokes), scratch,
                             "the exception catchers", hint="reinstall cwpkg-rt (its cwpkg_rt.h declares what they call)")
