"""What exceptions would cost as early returns instead of Asyncify unwinds (a measurement for the design).

A raise does not need its stack rewound, only returned from: after Emscripten-style lowering, a raise
could set a flag (`__THREW__`) and return, and every call to a function that may raise be followed by
`if (__THREW__) return <zeros>`, up to the `invoke_*` catcher. This script inserts exactly those checks
into a gc/none build of a program (a new mutable i32 global stands for __THREW__; nothing ever sets
it, so the program's behaviour is unchanged and only the checks' cost shows) and compares the run time
with the unchanged build and with the same build where Asyncify instruments every function that may
raise (what exceptions through Asyncify unwinds would need).

"May raise" is computed like the Asyncify lists: every function from which a call path (indirect calls
by signature) reaches one of Crystal's raise functions.

    python bench/exception_checks.py [--repeat N] [PROGRAM...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import defaultdict, deque
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "runtime"))
sys.path.insert(0, str(REPO))

import gc_runtime  # noqa: E402
import handbuild  # noqa: E402

from cwpkg.link.runtime import OPTIMIZATION  # noqa: E402
from cwpkg.wasm.code import (  # noqa: E402
    _IMMEDIATES,
    CODE,
    CUSTOM,
    GLOBAL,
    IMPORT,
    _custom_name,
    _leb,
    _read_imports,
    _Reader,
    _sections_with_headers,
    _skip_fc,
    _skip_simd,
    read_code_module,
    with_function_names,
)

RAISES = ("*raise<", "__crystal_raise", "*raise_without_backtrace")
ZERO = {0x7F: b"\x41\x00", 0x7E: b"\x42\x00", 0x7D: b"\x43" + bytes(4), 0x7C: b"\x44" + bytes(8)}


def may_raise(data: bytes) -> set[int]:
    module = read_code_module(data)
    table: dict = defaultdict(list)
    for index in module.table:
        table[module.functions[index].signature].append(index)
    callers: dict[int, set[int]] = defaultdict(set)
    for function in module.functions:
        targets = set(function.calls) | {call for dead_end in function.dead_ends for call in dead_end.calls}
        for signature in function.indirect | {s for dead_end in function.dead_ends for s in dead_end.indirect}:
            targets.update(table[signature])
        for target in targets:
            callers[target].add(function.index)
    raising = {index for index, name in module.names.items() if name.startswith(RAISES)}
    reached, queue = set(raising), deque(raising)
    while queue:
        for caller in callers[queue.popleft()]:
            if caller not in reached:
                reached.add(caller)
                queue.append(caller)
    return reached


def _call_ends(data: bytes, start: int, end: int, targets: set[int]) -> list[int]:
    """Offsets just after each direct call to one of `targets` in the body at data[start:end]."""
    reader = _Reader(data, start)
    for _ in range(reader.unsigned()):
        reader.unsigned()
        reader.offset += 1
    ends = []
    while reader.offset < end:
        opcode = data[reader.offset]
        reader.offset += 1
        kind = _IMMEDIATES[opcode]
        if kind == 1:
            reader.unsigned()
        elif kind == 2:
            if reader.unsigned() & 0x40:
                reader.unsigned()
            reader.unsigned()
        elif kind == 3:
            if data[reader.offset] in (0x40, 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F):
                reader.offset += 1
            else:
                reader.unsigned()
        elif kind:
            reader.offset += kind
        elif opcode == 0x10:
            if reader.unsigned() in targets:
                ends.append(reader.offset)
        elif opcode == 0x11:
            reader.unsigned(), reader.unsigned()
        elif opcode == 0x0E:
            for _ in range(reader.unsigned() + 1):
                reader.unsigned()
        elif opcode == 0x1C:
            reader.offset += reader.unsigned()
        elif opcode == 0xD0:
            reader.offset += 1
        elif opcode == 0xFC:
            _skip_fc(reader, reader.unsigned())
        elif opcode == 0xFD:
            _skip_simd(reader, reader.unsigned())
    return ends


def with_threw_checks(data: bytes) -> tuple[bytes, int]:
    """The module with `global.get $threw; if; <zeros>; return; end` after every call to a function that
    may raise, in every function that may raise; and how many checks that is."""
    module = read_code_module(data)
    raising = may_raise(data)
    imported_globals = 0
    sections = _sections_with_headers(data)
    for section_id, _, start, _ in sections:
        if section_id == IMPORT:
            reader = _Reader(data, start)
            for _ in range(reader.unsigned()):
                reader.name(), reader.name()
                kind = reader.byte()
                if kind == 3:
                    imported_globals += 1
                    reader.offset += 2
                elif kind == 0:
                    reader.unsigned()
                elif kind == 1:
                    reader.byte()
                    reader.skip_limits()
                elif kind == 2:
                    reader.skip_limits()
    imported_functions = len(_read_imports(data, next(start for sid, _, start, _ in sections if sid == IMPORT)))
    out = bytearray(data[:8])
    threw = None
    checks = 0
    for section_id, header, start, end in sections:
        if section_id == GLOBAL:
            reader = _Reader(data, start)
            count = reader.unsigned()
            threw = imported_globals + count
            contents = _leb(count + 1) + data[reader.offset:end] + b"\x7f\x01\x41\x00\x0b"  # mut i32 = 0
            out += bytes([GLOBAL]) + _leb(len(contents)) + contents
        elif section_id == CODE:
            assert threw is not None
            reader = _Reader(data, start)
            entries = bytearray(_leb(reader.unsigned()))
            position = 0
            while reader.offset < end:
                size = reader.unsigned()
                body_start, body_end = reader.offset, reader.offset + size
                index = imported_functions + position
                function = module.functions[index]
                body = data[body_start:body_end]
                if index in raising:
                    check = (b"\x23" + _leb(threw) + b"\x04\x40"
                             + b"".join(ZERO[value] for value in function.signature.results) + b"\x0f\x0b")
                    pieces, previous = [], body_start
                    for after in _call_ends(data, body_start, body_end, raising):
                        pieces += [data[previous:after], check]
                        previous = after
                        checks += 1
                    body = b"".join([*pieces, data[previous:body_end]])
                entries += _leb(len(body)) + body
                reader.offset = body_end
                position += 1
            out += bytes([CODE]) + _leb(len(entries)) + entries
        elif not (section_id == CUSTOM and _custom_name(data, start)[0].startswith(".debug_")):
            out += data[header:end]
    return bytes(out), checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("programs", nargs="*", default=["nbody", "fannkuch", "spectral_norm", "mandelbrot"])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    print("| program | gc/none s | checks | with checks s | x | Asyncify on may-raise s | x | functions that may raise "
          "| size KiB: gc/none, checks, Asyncify (no DWARF, all through wasm-opt) |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="exception-checks-") as scratch:
        for case in gc_runtime.CASES:
            if case.name not in options.programs:
                continue
            out = Path(scratch)
            program = handbuild.compile_crystal(case.source, out, release=case.release, gc=False)
            plain = out / f"{case.name}.wasm"
            handbuild.link(program, plain, None, None)
            data = plain.read_bytes()
            checked_data, checks = with_threw_checks(data)
            checked = out / f"{case.name}-checks.wasm"
            checked.write_bytes(checked_data)
            subprocess.run(["wasm-opt", str(checked), "-O1", "-o", str(checked)], check=True)  # validates it too
            module = read_code_module(data)
            raising = may_raise(data)
            only = out / "onlylist"
            only.write_text(",".join(f"f{index}" for index in sorted(raising)))
            renamed = out / f"{case.name}-renamed.wasm"
            renamed.write_bytes(with_function_names(data, {index: f"f{index}" for index in raising}))
            asyncified = out / f"{case.name}-asyncify.wasm"
            subprocess.run(["wasm-opt", str(renamed), "-o", str(asyncified), "--asyncify",
                            "--pass-arg=asyncify-ignore-imports", f"--pass-arg=asyncify-onlylist@@{only}",
                            OPTIMIZATION], check=True, capture_output=True)
            plain_optimized = out / f"{case.name}-O.wasm"
            subprocess.run(["wasm-opt", str(plain), OPTIMIZATION, "-o", str(plain_optimized)], check=True)
            sizes = [gc_runtime.size_without_dwarf(path) // 1024 for path in (plain_optimized, checked, asyncified)]
            with tempfile.TemporaryDirectory() as workdir:
                base = gc_runtime.run_module(plain, case.args, options.repeat, Path(workdir))
                with_checks = gc_runtime.run_module(checked, case.args, options.repeat, Path(workdir))
                with_asyncify = gc_runtime.run_module(asyncified, case.args, options.repeat, Path(workdir))
            assert base[2] == with_checks[2] == with_asyncify[2], "outputs differ"
            defined = sum(1 for function in module.functions if function.imported is None)
            print(f"| {case.name} | {base[0]:.2f} | {checks} | {with_checks[0]:.2f} | {with_checks[0] / base[0]:.2f} | "
                  f"{with_asyncify[0]:.2f} | {with_asyncify[0] / base[0]:.2f} | {len(raising)} of {defined} | "
                  f"{sizes[0]}, {sizes[1]}, {sizes[2]} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
