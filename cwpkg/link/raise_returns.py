"""Where a raise goes: early returns up to the innermost exception catcher (docs/wasm-runtime.md, Exceptions).

A raise (runtime/exceptions.c, `cwpkg_rt_throw`) sets the wasm global `cwpkg_rt_raising` and returns.
Every function that may raise then returns at once after each call that may raise:
`if (cwpkg_rt_raising) return <zeros>`, frame after frame, until the call returns into an exception
catcher (cwpkg.link.exceptions), which clears the global and lets the landing pad run. Only the
functions a raise can pass get the checks, and only after the calls a raise can come out of; a
collection or a fiber switch still unwinds through Asyncify, which instruments far fewer functions
than every one a raise can pass.

"May raise": a call path leads from the function to cwpkg_rt_throw, not through a catcher (a raise
ends there). Indirect calls reach the table's functions of their signature, as in
cwpkg.link.asyncify_lists, but for the functions only the catchers call through the table
(LinkLine.only_called).
"""

from __future__ import annotations

from collections.abc import Sequence

from cwpkg.errors import ProgramError
from cwpkg.link.asyncify_lists import (
    Cuts,
    call_graph,
    ordinary_table,
    reachable,
    reversed_graph,
)
from cwpkg.link.exceptions import (
    PASS_THROUGH_PREFIX,
    RAISING_GLOBAL,
    THROW,
    TRACE_FRAME,
)
from cwpkg.wasm import (
    CodeModule,
    call_instruction,
    global_names,
    i32_const,
    return_if_global_set,
)


def may_raise(module: CodeModule, only_called: frozenset[str] = frozenset()) -> set[int]:
    """The functions from which a raise can return: those with a call path to cwpkg_rt_throw that
    does not pass a catcher (the catchers themselves stop a raise)."""
    throw = {index for index, name in module.names.items() if name == THROW}
    catchers = {index for index, name in module.names.items() if name.startswith(PASS_THROUGH_PREFIX)}
    return reachable(throw, reversed_graph(call_graph(module, Cuts(only_called=only_called))), catchers)


def _the_one(names: dict[int, str], name: str, kind: str) -> int:
    """The index of the module's only `kind` (function, global) called `name`, which the runtime defines."""
    found = [index for index, found_name in names.items() if found_name == name]
    if len(found) != 1:
        raise ProgramError(f"the linked module raises exceptions through {THROW} but has "
                           f"{'no' if not found else 'more than one'} {kind} {name}",
                           hint="reinstall cwpkg-rt (cwpkg install cwpkg-rt): its exceptions.c defines it")
    return found[0]


def _trace_calls(module: CodeModule, frames: Sequence[str]) -> dict[str, bytes]:
    """For each name of `frames`, what its early returns do first: `cwpkg_rt_trace_frame(NUMBER)`,
    its position in `frames` (cwpkg.link.backtraces)."""
    if not frames:
        return {}
    trace = _the_one(module.names, TRACE_FRAME, "function")
    return {name: i32_const(number) + call_instruction(trace) for number, name in enumerate(frames)}


def raise_checks(module: CodeModule, data: bytes, only_called: frozenset[str] = frozenset(),
                 frames: Sequence[str] = ()) -> dict[int, bytes]:
    """The early-return checks to insert (by offset: where the instruction after the call starts) after
    every call that may raise, in every function that may raise (cwpkg_rt_throw itself sets the global
    and returns normally); `frames`: the functions numbered for backtraces, whose checks say so first."""
    raising = may_raise(module, only_called)
    if not raising:
        return {}
    flag = _the_one(global_names(data), RAISING_GLOBAL, "global")
    traced = _trace_calls(module, frames)
    raising_signatures = {module.functions[index].signature for index in ordinary_table(module, only_called) & raising}
    checks: dict[int, bytes] = {}
    for index in raising:
        function = module.functions[index]
        if module.names.get(index) == THROW:
            continue
        check = return_if_global_set(flag, function.signature.results, traced.get(module.name(index), b""))
        for site in function.call_sites:
            if site.target in raising if isinstance(site.target, int) else site.target in raising_signatures:
                checks[site.end] = check
    return checks
