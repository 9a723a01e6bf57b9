"""The wasm32 GC runtime against the gc/none build: peak linear memory, run time, module size, link time.

Each program is built twice from the same source and compiler: as Crystal 1.6.0 builds it for wasm32
today (gc/none, linked as `cwpkg link` links it, no wasm-opt), and with bdwgc and cwpkg's runtime
(tests/runtime/handbuild.py: the Asyncify step of cwpkg.link.runtime, with the call-graph onlylist, dead
ends marked, then wasm-opt -O). `--variants` adds the levers measured in docs/wasm-runtime.md: Asyncify
with Binaryen's own analysis instead of the onlylist (every indirect call may unwind), the onlylist
without dead ends, and no -O after Asyncify.

Run time is the CPU time of `_start` in this process (wasmtime, compiled beforehand), the best of
--repeat runs; peak linear memory is the memory's size when the program ends (it never shrinks).
Module sizes are given with and without DWARF (.debug_* sections): the instrumented module has none
(its code moved), the gc/none one keeps what the compiler emitted, so the fair comparison is without.
Every build's output must equal what the native build of the same program prints (and the gc/none build's).

    python bench/gc_runtime.py [--repeat N] [--variants] [--json FILE] [PROGRAM...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "runtime"))
sys.path.insert(0, str(REPO))

import handbuild  # noqa: E402

from cwpkg.link.asyncify_lists import Cuts  # noqa: E402
from cwpkg.link.runtime import instrument  # noqa: E402
from cwpkg.wasm.code import CUSTOM, _custom_name, sections  # noqa: E402

EXAMPLES = REPO / "examples"
PROGRAMS = REPO / "tests" / "runtime" / "crystal"


@dataclass(frozen=True)
class Case:
    name: str
    source: Path
    args: tuple[str, ...] = ()
    release: bool = False
    kind: str = "example"  # example | allocation | cpu


CASES = [
    *(Case(path.stem, path) for path in sorted(EXAMPLES.glob("*.cr"))),
    Case("binary_trees", PROGRAMS / "binary_trees.cr", ("16",), True, "allocation"),
    Case("alloc_heavy", PROGRAMS / "alloc_heavy.cr", (), True, "allocation"),
    Case("nbody", PROGRAMS / "nbody.cr", ("20000000",), True, "cpu"),
    Case("fannkuch", PROGRAMS / "fannkuch.cr", ("11",), True, "cpu"),
    Case("spectral_norm", PROGRAMS / "spectral_norm.cr", ("2500",), True, "cpu"),
    Case("mandelbrot", PROGRAMS / "mandelbrot.cr", ("3000",), True, "cpu"),
]


@dataclass
class Measured:
    build: str
    seconds: float  # CPU time of the run, best of the repeats
    peak_memory: int  # bytes of linear memory at exit
    size: int  # module bytes
    size_without_dwarf: int
    link_seconds: float  # wasm-ld, plus analysis and wasm-opt for the runtime builds
    wasm_opt_seconds: float
    instrumented: int | None  # functions Asyncify instrumented (None: no Asyncify)
    defined: int | None
    output_ok: bool


def size_without_dwarf(module: Path) -> int:
    data = module.read_bytes()
    dwarf = sum(end - start for section_id, start, end in sections(data)
                if section_id == CUSTOM and _custom_name(data, start)[0].startswith(".debug_"))
    return len(data) - dwarf


def run_module(module: Path, args: tuple[str, ...], repeat: int, workdir: Path) -> tuple[float, int, str, int]:
    """(best CPU seconds, linear memory at exit, stdout, exit status) of running `module` in `workdir`."""
    import wasmtime

    config = wasmtime.Config()
    config.max_wasm_stack = 2 << 20
    engine = wasmtime.Engine(config)
    compiled = wasmtime.Module.from_file(engine, str(module))
    best, memory, output, status = float("inf"), 0, "", 0
    for _ in range(repeat):
        store = wasmtime.Store(engine)
        wasi = wasmtime.WasiConfig()
        wasi.argv = [module.name, *args]
        wasi.preopen_dir(str(workdir), ".")
        wasi.stdout_file = str(workdir / "stdout")
        wasi.stderr_file = str(workdir / "stderr")
        store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, compiled)
        started = time.process_time()
        status = 0
        try:
            instance.exports(store)["_start"](store)
        except wasmtime.ExitTrap as stop:
            status = stop.code
        best = min(best, time.process_time() - started)
        memory = instance.exports(store)["memory"].size(store) * 65536
        output = (workdir / "stdout").read_text()
    return best, memory, output, status


def build_variant(case: Case, variant: str, program: handbuild.Program, out: Path, gc: handbuild.Bdwgc,
                  runtime: Path) -> tuple[Path, float, float, int | None, int | None]:
    """Links one variant of the compiled program; returns the module, link seconds (all steps), wasm-opt
    seconds, and how many functions were instrumented of how many."""
    none = variant == "gc/none"
    module = out / f"{case.name}-{variant.replace('/', '-')}.wasm"
    if none:
        seconds = handbuild.link(program, module, None, None)
        return module, seconds, 0.0, None, None
    linked = out / f"{case.name}-{variant}.linked.wasm"
    seconds = handbuild.link(program, linked, gc, runtime)
    if variant == "binaryen-lists":  # what Asyncify does on its own: no onlylist
        started = time.perf_counter()
        subprocess.run(["wasm-opt", str(linked), "-o", str(module), "--asyncify", "--pass-arg=asyncify-ignore-imports",
                        "-O"], check=True, capture_output=True)
        elapsed = time.perf_counter() - started
        return module, seconds + elapsed, elapsed, None, None
    cuts = None
    if variant == "no-dead-ends":
        from cwpkg.link.asyncify_lists import runtime_cuts, wrapped_functions
        from cwpkg.wasm.code import defined_function_names
        base = runtime_cuts(defined_function_names(gc.library), wrapped_functions(runtime))
        cuts = Cuts(base.no_unwind_below, base.no_unwind_indirect, base.guarded_wraps, None)
    optimize = {"no-O": None, "O1": "-O1", "O": "-O"}.get(variant, handbuild.OPTIMIZATION)
    done = instrument(linked, module, gc.library, runtime, optimize=optimize, cuts=cuts)
    return (module, seconds + done.analysis_seconds + done.wasm_opt_seconds, done.wasm_opt_seconds, done.paths.count,
            done.paths.defined)


def measure(case: Case, variants: list[str], repeat: int, out: Path, gc: handbuild.Bdwgc, runtime: Path) -> list[Measured]:
    expected = handbuild.native_output(case.source, case.args)  # what the native build prints
    results = []
    reference = None
    programs = {gc_build: handbuild.compile_crystal(case.source, out, release=case.release, gc=gc_build)
                for gc_build in (False, True)}
    for variant in variants:
        module, link_seconds, wasm_opt_seconds, count, defined = build_variant(
            case, variant, programs[variant != "gc/none"], out, gc, runtime)
        with tempfile.TemporaryDirectory(prefix="gc-runtime-run-") as workdir:
            seconds, memory, output, status = run_module(module, case.args, repeat, Path(workdir))
        if reference is None:
            reference = output
        ok = status == 0 and output == reference and (expected is None or output == expected)
        results.append(Measured(variant, seconds, memory, module.stat().st_size, size_without_dwarf(module), link_seconds,
                                wasm_opt_seconds, count, defined, ok))
    return results


def table(rows: dict[str, list[Measured]]) -> str:
    lines = ["| program | build | run s | x | peak MiB | size KiB (no DWARF) | x | link s (wasm-opt) | instrumented | output |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, results in rows.items():
        base = results[0]
        for result in results:
            instrumented = f"{result.instrumented}/{result.defined}" if result.instrumented is not None else "-"
            lines.append(
                f"| {name} | {result.build} | {result.seconds:.3f} | {result.seconds / base.seconds:.2f} | "
                f"{result.peak_memory / 2**20:.1f} | {result.size_without_dwarf / 1024:.0f} | "
                f"{result.size_without_dwarf / base.size_without_dwarf:.2f} | {result.link_seconds:.2f} "
                f"({result.wasm_opt_seconds:.2f}) | {instrumented} | {'same' if result.output_ok else 'DIFFERS'} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("programs", nargs="*", help="names of the programs to measure (default: all)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", action="store_true",
                        help="also Binaryen's own lists, no dead ends, and other optimization levels with Asyncify")
    parser.add_argument("--json", type=Path, help="write the measurements here too")
    options = parser.parse_args()
    cases = [case for case in CASES if not options.programs or case.name in options.programs]
    variants = ["gc/none", "runtime"] + (["O", "O1", "no-O", "no-dead-ends", "binaryen-lists"] if options.variants
                                          else [])
    gc = handbuild.bdwgc()
    runtime = handbuild.runtime(gc)
    rows: dict[str, list[Measured]] = {}
    with tempfile.TemporaryDirectory(prefix="gc-runtime-bench-") as scratch:
        for case in cases:
            out = Path(scratch) / case.name
            out.mkdir()
            rows[case.name] = measure(case, variants, options.repeat, out, gc, runtime)
            print(table({case.name: rows[case.name]}).split("\n", 2)[2], flush=True)
    print()
    print(table(rows))
    if options.json:
        options.json.write_text(json.dumps({name: [asdict(result) for result in results]
                                            for name, results in rows.items()}, indent=2))
    return 0 if all(result.output_ok for results in rows.values() for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
