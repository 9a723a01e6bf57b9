"""Which functions Asyncify must instrument: those that can be on the stack when an unwind starts.

An unwind starts where a function calls the `asyncify` module's `start_unwind` (or `stop_rewind`,
which the same runtime function calls when the rewind gets back to it). Every function that can be
between the bottom frame and that call must save its locals, so the set is every function from
which a call path leads to such a call, stopping at the bottom frames (the functions that call
`stop_unwind` or `start_rewind`), which are never instrumented.

Binaryen on its own must assume that any indirect call can reach an unwind, so each function that
makes one, and all their callers, get instrumented. Here an indirect call reaches only the table's
functions of its signature: wasm-ld puts a function in the table only if its address is taken, and
`call_indirect` traps unless the signature matches.

Binaryen matches list entries by the names in the name section, splits lists at commas, counts
brackets and treats `*` as a wildcard, which Crystal's names (`*Array(Int32)#<<<Int32>:Array(Int32)`)
are full of. So the instrumented functions are renamed to plain unique names for the pass
(`prepare_for_asyncify`), and their own names are put back afterwards (`restore_names`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

from cwpkg.wasm import (
    CodeModule,
    Signature,
    defined_function_names,
    function_bodies,
    function_names,
    read_code_module,
    with_calls_inserted,
    with_function_names,
)

ASYNCIFY_MODULE = "asyncify"
STARTS_UNWIND = frozenset(["start_unwind", "stop_rewind"])  # the unwinder calls both
BOTTOM = frozenset(["stop_unwind", "start_rewind"])  # the bottom frame calls both
PLACEHOLDER_PREFIX = "__cwpkg_asyncify_"
WRAPPER_PREFIX = "__wrap_"  # wasm-ld --wrap=NAME: calls to NAME reach __wrap_NAME
# The exception catchers the link generates (cwpkg.link.exceptions): on the path of every unwind through
# an invoke, yet never instrumented, because the innermost one must see an exception's unwind arrive
# and stop it. Their caller reaches them through a function pointer, so Binaryen checks for an unwind
# after the call; any other unwind passes through them and they run again on the rewind.
PASS_THROUGH_PREFIX = "cwpkg_rt_catch_through_"


@dataclass(frozen=True)
class Cuts:
    """Calls under which, by the runtime's own guarantees, no unwind starts: the analysis does not follow
    them. Names that the module lacks, or names more than one function, cut nothing: the analysis then
    instruments more, never less."""
    no_unwind_below: frozenset[str] = frozenset()  # functions below which no unwind starts
    no_unwind_indirect: frozenset[str] = frozenset()  # functions whose indirect calls never lead to an unwind
    guarded_wraps: frozenset[str] = frozenset()  # NAMEs whose __wrap_NAME calls NAME with unwinds forbidden
    # A function that forbids unwinds from then on: called at the start of a path that ends in
    # `unreachable` (cwpkg.wasm.code.DeadEnd), it makes the calls on that path cut calls.
    dead_end_marker: str | None = None


# cwpkg's runtime (runtime/): no unwind starts below rt_run_service (the bottom frame's services), or
# below the callbacks it gives bdwgc (push_unwound_frames, which bdwgc runs in a collection, and
# notify_finalizers, which it runs in a collection or an allocation). bdwgc (patched) collects only
# through GC_try_to_collect_inner and GC_collect_a_little_inner, which return at once unless the runtime
# allows a collection, which it does only inside a service. cwpkg_rt_catch_enter, which the exception
# catchers call (also while a rewind passes through them, when an instrumented callee would rewind
# itself), only grows its array or ends the program.
RUNTIME_NO_UNWIND_BELOW = frozenset(["rt_run_service", "push_unwound_frames", "notify_finalizers",
                                     "GC_try_to_collect_inner", "GC_collect_a_little_inner", "cwpkg_rt_catch_enter"])
# Called where a path to `unreachable` starts: a raise (Crystal 1.6 on wasm32 exits there; a module
# whose raises unwind to catchers has no dead ends, see _dead_end_marker), an abort, a failed assertion. A program that takes such
# a path is ending, and need not collect on the way, so the functions it calls there need no
# instrumentation for its sake: Crystal's arithmetic calls __crystal_raise_overflow on every overflow
# check, and that allocates an OverflowError.
RUNTIME_DEAD_END_MARKER = "cwpkg_rt_dead_end"

# bdwgc's functions that call the program back where it may allocate, and so collect: finalizers, and
# the functions that run a client function without the collector's lock (GC_do_blocking goes through
# GC_with_callee_saves_pushed to GC_do_blocking_inner).
BDWGC_CALLBACK_RUNNERS = frozenset(["GC_invoke_finalizers", "GC_call_with_stack_base", "GC_call_with_gc_active",
                                    "GC_with_callee_saves_pushed", "GC_do_blocking_inner"])


def runtime_cuts(libgc_functions: set[str], wrapped: set[str]) -> Cuts:
    """The cuts cwpkg's runtime guarantees, given the functions libgc.a defines (cwpkg.wasm.code's
    defined_function_names) and the functions the runtime wraps.

    Every indirect call of bdwgc's other than the callback runners' runs a callback that cannot start
    an unwind: under the collector's lock (the runtime refuses to unwind while it is held), inside a
    collection (a service), inside an allocation (a wrapper forbids unwinds), or a warning, abort or
    debugging print procedure, which must not allocate from the collected heap. The runtime's wrapper
    of each bdwgc function (GC_*) and of exit calls it with unwinds forbidden; those of the program's
    entry points do not (they open the bottom frame)."""
    guarded = frozenset(name for name in wrapped if name.startswith("GC_") or name == "exit")
    return Cuts(RUNTIME_NO_UNWIND_BELOW, frozenset(libgc_functions) - BDWGC_CALLBACK_RUNNERS, guarded,
                RUNTIME_DEAD_END_MARKER)


@dataclass(frozen=True)
class UnwindPaths:
    instrumented: frozenset[int]  # every function that can be on the stack when an unwind starts
    unwinders: frozenset[int]  # those that start it (in the list, never instrumented by Binaryen)
    bottoms: frozenset[int]  # the bottom frames
    defined: int  # how many functions the module defines
    marker: int | None  # the dead-end marker function, if the cuts name one the module has
    dead_ends: frozenset[int]  # where it must be called: starts of dead ends whose calls can unwind
    pass_through: frozenset[int]  # the exception catchers: on unwind paths, never instrumented

    @property
    def count(self) -> int:
        """How many functions Binaryen will actually instrument."""
        return len(self.instrumented - self.unwinders)


def _table_by_signature(module: CodeModule) -> dict[Signature, list[int]]:
    table: dict[Signature, list[int]] = defaultdict(list)
    for index in module.table:
        table[module.functions[index].signature].append(index)
    return table


def _pass_through(module: CodeModule) -> set[int]:
    return {index for index, name in module.names.items() if name.startswith(PASS_THROUGH_PREFIX)}


def _dead_end_marker(module: CodeModule, cuts: Cuts) -> int | None:
    """The marker function, if the cuts name one and the module can use it: a module that catches
    exceptions has no dead ends (a raise unwinds to a catcher and the program goes on)."""
    if _pass_through(module):
        return None
    marker = _unique_names(module).get(cuts.dead_end_marker or "")
    if marker is None or module.functions[marker].signature != Signature(b"", b""):
        return None
    return marker


def _call_graph(module: CodeModule, cuts: Cuts) -> dict[int, set[int]]:
    """For each function, the functions it may call (directly, or through the table), without the cut
    calls."""
    table_by_signature = _table_by_signature(module)
    by_name = _unique_names(module)
    no_unwind_below = {by_name[name] for name in cuts.no_unwind_below if name in by_name}
    no_unwind_indirect = {by_name[name] for name in cuts.no_unwind_indirect if name in by_name}
    marked = _dead_end_marker(module, cuts) is not None
    callees: dict[int, set[int]] = {}
    for function in module.functions:
        if function.imported or function.index in no_unwind_below:
            callees[function.index] = set()
            continue
        targets = set(function.calls)
        signatures = set(function.indirect)
        if not marked:  # without the marker, the calls on dead ends are calls like any other
            for dead_end in function.dead_ends:
                targets |= dead_end.calls
                signatures |= dead_end.indirect
        if function.index not in no_unwind_indirect:
            for signature in signatures:
                targets.update(table_by_signature.get(signature, ()))
        name = module.names.get(function.index, "")
        if name.startswith(WRAPPER_PREFIX) and name[len(WRAPPER_PREFIX):] in cuts.guarded_wraps:
            targets.discard(by_name.get(name[len(WRAPPER_PREFIX):], -1))
        callees[function.index] = targets
    return callees


def wrapped_functions(runtime_library: Path) -> set[str]:
    """The NAMEs for which the runtime library defines __wrap_NAME (and the link passes --wrap=NAME)."""
    return {name[len(WRAPPER_PREFIX):] for name in defined_function_names(runtime_library)
            if name.startswith(WRAPPER_PREFIX)}


def _unique_names(module: CodeModule) -> dict[str, int]:
    """Function names that name exactly one function (static functions of different objects may share one)."""
    counts: dict[str, int] = defaultdict(int)
    for name in module.names.values():
        counts[name] += 1
    return {name: index for index, name in module.names.items() if counts[name] == 1}


def _reachable(starts: set[int], edges: dict[int, set[int]], stops: set[int]) -> set[int]:
    """Everything reachable from `starts` along `edges`, not entering `stops`."""
    reached = set(starts)
    queue = deque(starts)
    while queue:
        for following in edges.get(queue.popleft(), ()):
            if following not in reached and following not in stops:
                reached.add(following)
                queue.append(following)
    return reached


def unwind_paths(module: CodeModule, cuts: Cuts = Cuts()) -> UnwindPaths:
    """The functions on some call path bottom frame -> ... -> unwinder that uses no cut call."""
    asyncify_imports = {function.index: function.imported[1] for function in module.functions
                        if function.imported and function.imported[0] == ASYNCIFY_MODULE}
    unwinders = {function.index for function in module.functions
                 if any(asyncify_imports.get(target) in STARTS_UNWIND for target in function.calls)}
    bottoms = {function.index for function in module.functions
               if any(asyncify_imports.get(target) in BOTTOM for target in function.calls)}
    callees = _call_graph(module, cuts)
    callers: dict[int, set[int]] = defaultdict(set)
    for caller, targets in callees.items():
        for target in targets:
            callers[target].add(caller)
    above_bottom = _reachable({target for bottom in bottoms for target in callees[bottom]} - bottoms, callees,
                              bottoms)
    reaching_unwind = _reachable(unwinders, callers, bottoms)
    defined = sum(1 for function in module.functions if function.imported is None)
    marker = _dead_end_marker(module, cuts)
    dead_ends: set[int] = set()
    if marker is not None:
        # A dead end must forbid unwinds if a call on it can reach one by ordinary calls; a dead end
        # further down forbids them itself.
        table_by_signature = _table_by_signature(module)
        no_unwind_indirect = {index for name, index in _unique_names(module).items() if name in cuts.no_unwind_indirect}
        for function in module.functions:
            for dead_end in function.dead_ends:
                targets = set(dead_end.calls)
                if function.index not in no_unwind_indirect:
                    for signature in dead_end.indirect:
                        targets.update(table_by_signature.get(signature, ()))
                if targets & reaching_unwind:
                    dead_ends.add(dead_end.offset)
    pass_through = frozenset(_pass_through(module))
    return UnwindPaths(frozenset((above_bottom & reaching_unwind) - pass_through | unwinders), frozenset(unwinders),
                       frozenset(bottoms), defined, marker, frozenset(dead_ends), pass_through)


def path_to_unwind(module: CodeModule, paths: UnwindPaths, start: int, cuts: Cuts = Cuts()) -> list[int]:
    """A shortest call path from `start` to a function that starts an unwind, through instrumented
    functions (empty if there is none): why `start` is instrumented."""
    callees = _call_graph(module, cuts)
    previous: dict[int, int] = {start: start}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current in paths.unwinders:
            path = [current]
            while path[-1] != start:
                path.append(previous[path[-1]])
            return path[::-1]
        for target in callees[current]:
            if target in paths.instrumented and target not in previous:
                previous[target] = current
                queue.append(target)
    return []


def placeholder(index: int) -> str:
    return f"{PLACEHOLDER_PREFIX}{index}"


def prepare_for_asyncify(data: bytes, paths: UnwindPaths) -> tuple[bytes, list[str], dict[str, str]]:
    """The module with the dead-end marker called where paths.dead_ends says and the listed functions
    renamed, the placeholder names for `asyncify-onlylist`, and the placeholder -> original name mapping
    for restore_names."""
    if not paths.unwinders:
        raise ValueError("no function calls asyncify's start_unwind: the runtime is not linked")
    names = function_names(data)
    renamed = {index: placeholder(index) for index in sorted(paths.instrumented)}
    originals = {renamed[index]: names[index] for index in renamed if index in names}
    if paths.dead_ends:
        assert paths.marker is not None
        data = with_calls_inserted(data, paths.marker, set(paths.dead_ends))
    return with_function_names(data, renamed), list(renamed.values()), originals


def restore_names(data: bytes, originals: dict[str, str]) -> bytes:
    """Gives the renamed functions their own names back (after wasm-opt, which keeps the name section
    with -g; functions it removed or merged are simply absent)."""
    changes = {index: originals[name] for index, name in function_names(data).items() if name in originals}
    return with_function_names(data, changes) if changes else data


# What asyncify-asserts puts after each call of a function it does not instrument (Binaryen 108,
# without -O): global.get $__asyncify_state, local.get $state_at_entry, i32.ne, if, unreachable, end.
_STATE_ASSERTION = re.compile(rb"\x23[\x80-\xff]*[\x00-\x7f]\x20[\x80-\xff]*[\x00-\x7f]\x47\x04\x40(\x00)\x0b")


def without_runtime_assertions(data: bytes, names: set[str]) -> bytes:
    """The module with asyncify-asserts' checks disabled in the named functions (each `unreachable`
    becomes a `nop`): the runtime's own functions that start, stop and receive unwinds, where the
    state changes by design. Everywhere else the checks stay and prove that no function an unwind
    went through was left uninstrumented."""
    by_name = {name: index for index, name in function_names(data).items()}
    bodies = function_bodies(data)
    patched = bytearray(data)
    for name in names & by_name.keys():
        start, end = bodies[by_name[name]]
        for match in _STATE_ASSERTION.finditer(data, start, end):
            patched[match.start(1)] = 0x01  # nop
    return bytes(patched)


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the functions Asyncify must instrument in a linked module.")
    parser.add_argument("module", type=Path)
    parser.add_argument("--names", action="store_true", help="list the functions' names, one per line")
    parser.add_argument("--why", metavar="NAME", action="append", default=[],
                        help="print a call path from the function NAME to an unwind")
    parser.add_argument("--libgc", type=Path, metavar="LIBGC_A",
                        help="apply the cuts cwpkg's runtime guarantees (runtime_cuts), given the libgc.a linked")
    parser.add_argument("--runtime", type=Path, metavar="LIBCWPKG_RT_A", help="the runtime library linked")
    options = parser.parse_args(arguments)
    module = read_code_module(options.module.read_bytes())
    if bool(options.libgc) != bool(options.runtime):
        parser.error("--libgc and --runtime go together")
    cuts = runtime_cuts(defined_function_names(options.libgc), wrapped_functions(options.runtime)) \
        if options.libgc else Cuts()
    paths = unwind_paths(module, cuts)
    by_name = {name: index for index, name in module.names.items()}
    for name in options.why:
        if name not in by_name:
            parser.error(f"no function named {name!r}")
        path = path_to_unwind(module, paths, by_name[name], cuts)
        print(" -> ".join(module.name(index) for index in path) if path else f"{name}: cannot reach an unwind")
    if options.names:
        for index in sorted(paths.instrumented - paths.unwinders):
            print(module.name(index))
    print(f"{paths.count} of {paths.defined} functions can be on the stack when an unwind starts "
          f"({len(paths.unwinders)} unwinders, {len(paths.bottoms)} bottom frames, {len(paths.dead_ends)} dead ends "
          "marked)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
