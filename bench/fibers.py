"""Fibers under cwpkg's wasm32 runtime against the native build of the same programs: switches per
second and memory per live fiber.

- switches: bench/crystal/fiber_switches.cr, two fibers passing a counter over unbuffered channels
  (each round trip is two switches there and two back through the scheduler); the rate is round trips
  per CPU second of `_start` in this process (wasmtime, compiled beforehand) against the native
  executable's user+system time, best of --repeat runs;
- memory: tests/runtime/crystal/many_fibers.cr with N live fibers; wasm32: linear memory when the
  program ends (it never shrinks) divided by N; native: peak resident set size divided by N (native
  stacks are 8 MiB of address space each, of which only touched pages are resident).

Both builds must print the same output.

    python bench/fibers.py [--repeat N] [--rounds R] [--fibers F]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "runtime"))
sys.path.insert(0, str(REPO))

import handbuild  # noqa: E402

SWITCHES = REPO / "bench" / "crystal" / "fiber_switches.cr"
MANY = REPO / "tests" / "runtime" / "crystal" / "many_fibers.cr"


def native_run(source: Path, args: tuple[str, ...]) -> tuple[str, float, int]:
    """Output, CPU seconds and peak RSS (bytes) of the native build, run as a child process."""
    executable = handbuild.native_executable(source)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([str(executable), *args], capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result.stdout, seconds, after.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=200_000)
    parser.add_argument("--fibers", type=int, default=10_000)
    options = parser.parse_args()
    handbuild.bdwgc()  # the runtime must be installed
    with tempfile.TemporaryDirectory(prefix="cwpkg-bench-fibers-") as scratch:
        out = Path(scratch)
        rounds = (str(options.rounds),)
        module = handbuild.build(handbuild.compile_crystal(SWITCHES, out, release=True), out / "switches.wasm").module
        native = [native_run(SWITCHES, rounds) for _ in range(options.repeat)]
        wasm = [handbuild.execute(module, rounds) for _ in range(options.repeat)]
        if any(ran.stdout != native[0][0] for ran in wasm):
            raise SystemExit(f"outputs differ: {wasm[0].stdout!r} vs native {native[0][0]!r}")
        native_seconds = min(seconds for _, seconds, _ in native)
        wasm_seconds = min(ran.seconds for ran in wasm)
        print(f"fiber switches ({options.rounds} round trips, release builds, best of {options.repeat}):")
        print(f"  native {options.rounds / native_seconds:,.0f} round trips/s ({native_seconds:.3f} s)")
        print(f"  wasm32 {options.rounds / wasm_seconds:,.0f} round trips/s ({wasm_seconds:.3f} s): "
              f"{wasm_seconds / native_seconds:.2f}x the native time")
        fibers = (str(options.fibers),)
        module = handbuild.build(handbuild.compile_crystal(MANY, out, release=True), out / "many.wasm").module
        started = time.perf_counter()
        ran = handbuild.execute(module, fibers)
        elapsed = time.perf_counter() - started
        output, _, rss = native_run(MANY, fibers)
        if ran.stdout != output:
            raise SystemExit(f"outputs differ: {ran.stdout!r} vs native {output!r}")
        print(f"memory per live fiber ({options.fibers} fibers):")
        print(f"  native {rss / options.fibers / 1024:.1f} KiB resident")
        print(f"  wasm32 {ran.memory / options.fibers / 1024:.1f} KiB of linear memory "
              f"({ran.memory >> 20} MiB in all; {elapsed:.2f} s wall)")


if __name__ == "__main__":
    main()
