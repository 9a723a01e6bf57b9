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
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from cwpkg.link.exceptions import INVOKE_PREFIX, PASS_THROUGH_PREFIX
from cwpkg.toolchain import ASYNCIFY_MODULE
from cwpkg.wasm import (
    CallSite,
    CodeModule,
    Function,
    Signature,
    call_instruction,
    declared_types,
    defined_function_names,
    forwarder_body,
    function_bodies,
    function_names,
    read_code_module,
    with_code_edits,
    with_function_names,
)

STARTS_UNWIND = frozenset(["start_unwind", "stop_rewind"])  # the unwinder calls both
BOTTOM = frozenset(["stop_unwind", "start_rewind"])  # the bottom frame calls both
PLACEHOLDER_PREFIX = "__cwpkg_asyncify_"
WRAPPER_PREFIX = "__wrap_"  # wasm-ld --wrap=NAME: calls to NAME reach __wrap_NAME


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
    # Its counterpart in a module that catches exceptions, where such a path is a raise on its way to a
    # catcher and may run `ensure` code first: it forbids collections (which can wait), not the
    # switches below (those the path can reach are followed and instrumented).
    raise_path_marker: str | None = None
    switches: frozenset[str] = frozenset()  # functions whose unwinds cannot wait: fiber switches
    # Functions below which no switch starts on a dead end, by the runtime's guarantees there.
    no_switch_below_dead_ends: frozenset[str] = frozenset()
    # Functions that only the exception catchers call through the table (LinkLine.only_called).
    only_called: frozenset[str] = frozenset()


# cwpkg's runtime (runtime/): no unwind starts below rt_run_service (the bottom frame's services),
# rt_fatal (which writes a message and exits), or below the callbacks it gives bdwgc
# (push_unwound_frames, which bdwgc runs in a collection, and notify_finalizers, which it runs in a
# collection or an allocation). bdwgc (patched) collects only
# through GC_try_to_collect_inner and GC_collect_a_little_inner, which return at once unless the runtime
# allows a collection, which it does only inside a service. cwpkg_rt_catch_enter, which the exception
# catchers call (also while a rewind passes through them, when an instrumented callee would rewind
# itself), only grows its array or ends the program.
RUNTIME_NO_UNWIND_BELOW = frozenset(["rt_run_service", "push_unwound_frames", "notify_finalizers",
                                     "GC_try_to_collect_inner", "GC_collect_a_little_inner", "cwpkg_rt_catch_enter",
                                     "rt_fatal"])
# Called where a path to `unreachable` starts: a raise (Crystal 1.6 on wasm32 exits there without
# exceptions), an abort, a failed assertion. A program that takes such a path is ending, and need not
# collect on the way, so the functions it calls there need no instrumentation for its sake:
# Crystal's arithmetic calls __crystal_raise_overflow on every overflow check, and that allocates an
# OverflowError. With exceptions such a path returns to a catcher, which takes the raise-path
# marker's prohibition back (runtime/exceptions.c).
RUNTIME_DEAD_END_MARKER = "cwpkg_rt_dead_end"
RUNTIME_RAISE_PATH_MARKER = "cwpkg_rt_raise_path"
# The runtime's fiber switch: it cannot wait (refused, it ends the program).
RUNTIME_SWITCHES = frozenset(["cwpkg_rt_fiber_switch"])
# On a raise's path the runtime's allocation wrappers run no finalizers (runtime/gc.c,
# straight_to_collector).
RUNTIME_NO_SWITCH_BELOW_DEAD_ENDS = frozenset(["GC_invoke_finalizers"])

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
                RUNTIME_DEAD_END_MARKER, RUNTIME_RAISE_PATH_MARKER, RUNTIME_SWITCHES,
                RUNTIME_NO_SWITCH_BELOW_DEAD_ENDS)


@dataclass(frozen=True)
class UnwindPaths:
    instrumented: frozenset[int]  # every function that can be on the stack when an unwind starts
    unwinders: frozenset[int]  # those that start it (in the list, never instrumented by Binaryen)
    bottoms: frozenset[int]  # the bottom frames
    defined: int  # how many functions the module defines
    marker: int | None  # the dead-end marker function, if the cuts name one the module has
    dead_ends: frozenset[int]  # where it must be called: starts of dead ends whose calls can unwind
    pass_through: frozenset[int]  # the exception catchers: on unwind paths, never instrumented
    # Calls on those dead ends of instrumented functions that cannot switch fibers: Binaryen would
    # instrument each such call site (it instruments every call of a listed function), so they call
    # an uninstrumented forwarder instead (prepare_for_asyncify).
    dead_end_calls: frozenset[CallSite] = frozenset()
    parameters: tuple[tuple[int, int], ...] = ()  # (function, its parameters) of those calls' functions
    functions: int = 0  # how many functions the module has, imported ones included

    @property
    def count(self) -> int:
        """How many functions Binaryen will actually instrument."""
        return len(self.instrumented - self.unwinders)


def _table_by_signature(module: CodeModule, table: Iterable[int]) -> dict[Signature, list[int]]:
    by_signature: dict[Signature, list[int]] = defaultdict(list)
    for index in table:
        by_signature[module.functions[index].signature].append(index)
    return by_signature


def _pass_through(module: CodeModule) -> set[int]:
    return {index for index, name in module.names.items() if name.startswith(PASS_THROUGH_PREFIX)}


def _dead_end_marker(module: CodeModule, cuts: Cuts) -> int | None:
    """The marker function, if the cuts name one the module has: the raise-path marker in a module
    that catches exceptions, else the dead-end marker."""
    name = cuts.raise_path_marker if _pass_through(module) else cuts.dead_end_marker
    marker = _unique_names(module).get(name or "")
    if marker is None or module.functions[marker].signature != Signature(b"", b""):
        return None
    return marker


def ordinary_table(module: CodeModule, only_called: frozenset[str]) -> set[int]:
    """The table's functions that an indirect call outside the exception machinery can reach: not the
    catchers, not the functions that only invokes put there (`only_called`, LinkLine.only_called)."""
    by_name = _unique_names(module)
    return set(module.table) - _pass_through(module) - {by_name[name] for name in only_called if name in by_name}


class _Targets:
    """Where calls go: a direct call to its callee, an indirect call to the table's functions of its
    signature, but for the table entries of exceptions (cwpkg.link.exceptions): an invoke_SIG calls
    only its catcher through the table, a catcher any function but a catcher, and every other
    function neither a catcher nor a function that only invokes put in the table (Cuts.only_called).
    A function whose indirect calls the cuts name calls nothing through the table."""

    def __init__(self, module: CodeModule, cuts: Cuts) -> None:
        by_name = _unique_names(module)
        self.no_indirect = {by_name[name] for name in cuts.no_unwind_indirect if name in by_name}
        self.catchers = _pass_through(module)
        generated = {INVOKE_PREFIX + module.names[index][len(PASS_THROUGH_PREFIX):] for index in self.catchers}
        self.invokes = {by_name[name] for name in generated if name in by_name}
        self.catcher_table = _table_by_signature(module, module.table & self.catchers)
        self.invoked_table = _table_by_signature(module, module.table - self.catchers)
        self.address_taken = _table_by_signature(module, ordinary_table(module, cuts.only_called))

    def of(self, function: Function, calls: Iterable[int], signatures: Iterable[Signature]) -> set[int]:
        targets = set(calls)
        if function.index not in self.no_indirect:
            table = (self.catcher_table if function.index in self.invokes else
                     self.invoked_table if function.index in self.catchers else self.address_taken)
            for signature in signatures:
                targets.update(table.get(signature, ()))
        return targets


def call_graph(module: CodeModule, cuts: Cuts = Cuts()) -> dict[int, set[int]]:
    """For each function, the functions it may call (directly, or through the table), without the cut
    calls; without cuts, every call."""
    return _graph_and_dead_ends(module, cuts)[0]


def _graph_and_dead_ends(module: CodeModule, cuts: Cuts) -> tuple[dict[int, set[int]], set[int], set[int]]:
    """The call graph, the dead ends (their offsets) whose calls the marker cuts: all of them, or none
    without the marker, and the functions that can reach a switch. In a module that catches
    exceptions the calls of a dead end to the latter stay in the graph (a raise's path may switch
    fibers)."""
    if _dead_end_marker(module, cuts) is None:
        return _graph(module, cuts), set(), set()
    dead_ends = {dead_end.offset for function in module.functions for dead_end in function.dead_ends}
    switching: set[int] = set()
    if _pass_through(module):
        by_name = _unique_names(module)
        on_dead_ends = _graph(module, replace(cuts, no_unwind_below=cuts.no_unwind_below | cuts.no_switch_below_dead_ends))
        switching = reachable({by_name[name] for name in cuts.switches if name in by_name},
                              reversed_graph(on_dead_ends), set())
    return _graph(module, cuts, frozenset(dead_ends), frozenset(switching)), dead_ends, switching


def _dead_end_targets(module: CodeModule, cuts: Cuts) -> dict[int, set[int]]:
    """For each dead end (by offset), the functions its calls may reach (through the table too)."""
    targets = _Targets(module, cuts)
    return {dead_end.offset: targets.of(function, dead_end.calls, dead_end.indirect)
            for function in module.functions for dead_end in function.dead_ends}


def _graph(module: CodeModule, cuts: Cuts, cut_dead_ends: frozenset[int] = frozenset(),
           switching: frozenset[int] = frozenset()) -> dict[int, set[int]]:
    """The call graph without the cut calls and the calls of the dead ends at `cut_dead_ends` but
    those to `switching`."""
    targets_of = _Targets(module, cuts)
    by_name = _unique_names(module)
    no_unwind_below = {by_name[name] for name in cuts.no_unwind_below if name in by_name}
    callees: dict[int, set[int]] = {}
    for function in module.functions:
        if function.imported or function.index in no_unwind_below:
            callees[function.index] = set()
            continue
        calls, signatures = set(function.calls), set(function.indirect)
        kept: set[int] = set()
        for dead_end in function.dead_ends:
            if dead_end.offset not in cut_dead_ends:
                calls |= dead_end.calls
                signatures |= dead_end.indirect
            elif switching:
                kept |= targets_of.of(function, dead_end.calls, dead_end.indirect) & switching
        targets = targets_of.of(function, calls, signatures) | kept
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


def reversed_graph(callees: dict[int, set[int]]) -> dict[int, set[int]]:
    """For each function, the functions that may call it."""
    callers: dict[int, set[int]] = defaultdict(set)
    for caller, targets in callees.items():
        for target in targets:
            callers[target].add(caller)
    return callers


def reachable(starts: set[int], edges: dict[int, set[int]], stops: set[int]) -> set[int]:
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
    callees, cut, switching = _graph_and_dead_ends(module, cuts)
    callers = reversed_graph(callees)
    above_bottom = reachable({target for bottom in bottoms for target in callees[bottom]} - bottoms, callees,
                              bottoms)
    reaching_unwind = reachable(unwinders, callers, bottoms)
    defined = sum(1 for function in module.functions if function.imported is None)
    marker = _dead_end_marker(module, cuts)
    # A dead end must forbid unwinds if a call on it can reach one by ordinary calls; a dead end further
    # down forbids them itself.
    targets_of = _dead_end_targets(module, cuts) if cut else {}
    dead_ends = {offset for offset in cut if targets_of[offset] & reaching_unwind}
    pass_through = frozenset(_pass_through(module))
    instrumented = frozenset((above_bottom & reaching_unwind) - pass_through | unwinders)
    dead_end_calls = frozenset(
        site for function in module.functions for dead_end in function.dead_ends if dead_end.offset in dead_ends
        for site in function.call_sites if dead_end.offset <= site.start < dead_end.end
        and isinstance(site.target, int) and site.target in instrumented - switching - unwinders)
    parameters = tuple(sorted({(site.target, len(module.functions[site.target].signature.params))
                               for site in dead_end_calls}))
    return UnwindPaths(instrumented, frozenset(unwinders), frozenset(bottoms), defined, marker, frozenset(dead_ends),
                       pass_through, dead_end_calls, parameters, len(module.functions))


def path_to_unwind(module: CodeModule, paths: UnwindPaths, start: int, cuts: Cuts = Cuts()) -> list[int]:
    """A shortest call path from `start` to a function that starts an unwind, through instrumented
    functions (empty if there is none): why `start` is instrumented."""
    callees = call_graph(module, cuts)
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


def prepare_for_asyncify(data: bytes, paths: UnwindPaths,
                         insertions: dict[int, bytes] | None = None) -> tuple[bytes, list[str], dict[str, str]]:
    """The module with the dead-end marker called where paths.dead_ends says, the dead ends' calls
    (paths.dead_end_calls) going through forwarders, `insertions` (more code by offset, such as
    cwpkg.link.raise_returns' checks) put in and the listed functions renamed; the placeholder names
    for `asyncify-onlylist`, and the placeholder -> original name mapping for restore_names."""
    if not paths.unwinders:
        raise ValueError("no function calls asyncify's start_unwind: the runtime is not linked")
    names = function_names(data)
    renamed = {index: placeholder(index) for index in sorted(paths.instrumented)}
    originals = {renamed[index]: names[index] for index in renamed if index in names}
    edits = {offset: (offset, code) for offset, code in (insertions or {}).items()}
    if paths.dead_ends:
        assert paths.marker is not None
        for offset in paths.dead_ends:  # after what ends the previous path, if both are there
            edits[offset] = (offset, edits.get(offset, (offset, b""))[1] + call_instruction(paths.marker))
    types = declared_types(data)
    imported = paths.functions - len(types)
    forwarders = {callee: paths.functions + position for position, (callee, _) in enumerate(paths.parameters)}
    for site in paths.dead_end_calls:  # after the marker or a check that may stand at the same place
        edits[site.start] = (site.end, edits.get(site.start, (site.start, b""))[1]
                             + call_instruction(forwarders[site.target]))
    added = [(types[callee - imported], forwarder_body(callee, parameters)) for callee, parameters in paths.parameters]
    if edits or added:
        data = with_code_edits(data, edits, added)
    forwarder_names = {index: f"{names.get(callee, callee)} [from a dead end]" for callee, index in forwarders.items()}
    return with_function_names(data, {**renamed, **forwarder_names}), list(renamed.values()), originals


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
