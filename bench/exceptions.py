"""Exceptions under cwpkg's wasm32 runtime (the default of `cwpkg link`): the cost of a raise and its
rescue per frame crossed against native, and what enabling exceptions costs a program that does not
raise, in CPU and module size, against the same program's gc/none build (the GC issue's targets:
<= 1.3x time, <= 1.4x size) and its runtime build without exceptions.

- raise/rescue: bench/crystal/raise_depth.cr, ITERATIONS raises each through DEPTH frames, at two
  depths; the cost per raise at each, and per frame (the difference over the extra frames); wasm32:
  CPU seconds of `_start` in this process, native: the executable's user+system time; best of
  --repeat runs, release builds;
- programs: the CPU-bound programs of bench/gc_runtime.py, release builds linked by `cwpkg link`
  (gc/none with `-- -Dgc_none`), CPU seconds of `_start` (best of --repeat) and module bytes.

Every build must print what the native build prints.

    python bench/exceptions.py [--repeat N] [--iterations N]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "runtime"))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

import handbuild  # noqa: E402
from gc_runtime import CASES  # noqa: E402

RAISES = REPO / "bench" / "crystal" / "raise_depth.cr"
BUILDS = {"gc/none": ("--", "-Dgc_none"), "runtime": ("--no-exceptions",), "exceptions": ()}


def link(source: Path, output: Path, *flags: str) -> Path:
    """`cwpkg link --release` as a user runs it (flags after `--` go to crystal)."""
    extra, crystal = (flags, ()) if "--" not in flags else (flags[:flags.index("--")], flags[flags.index("--"):])
    result = subprocess.run([sys.executable, "-m", "cwpkg", "link", str(source), "--release", "-q", *extra,
                             "-o", str(output), *crystal], capture_output=True, text=True, env=os.environ)
    if result.returncode != 0:
        raise SystemExit(f"cwpkg link {source.name} {' '.join(flags)} failed:\n{result.stderr[-3000:]}")
    return output


def native_seconds(source: Path, args: tuple[str, ...]) -> tuple[str, float]:
    executable = handbuild.native_executable(source)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([str(executable), *args], capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result.stdout, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best_run(module: Path, args: tuple[str, ...], expected: str, repeat: int) -> float:
    runs = [handbuild.execute(module, args) for _ in range(repeat)]
    for ran in runs:
        if (ran.status, ran.stdout) != (0, expected):
            raise SystemExit(f"{module.name} {' '.join(args)}: {ran.status} {ran.stdout[:200]!r}, native "
                             f"{expected[:200]!r}\n{ran.stderr[-1000:]}")
    return min(ran.seconds for ran in runs)


def raise_costs(out: Path, iterations: int, repeat: int) -> None:
    module = link(RAISES, out / "raises.wasm", "--exceptions")
    print(f"raise and rescue ({iterations} raises, release builds, best of {repeat}):")
    per_raise = {}
    for depth in (1, 41):
        args = (str(iterations), str(depth))
        expected, _ = native_seconds(RAISES, args)
        native = min(native_seconds(RAISES, args)[1] for _ in range(repeat))
        wasm = best_run(module, args, expected, repeat)
        per_raise[depth] = (native / iterations, wasm / iterations)
        print(f"  through {depth:2} frames: native {native / iterations * 1e6:.2f} us, wasm32 "
              f"{wasm / iterations * 1e6:.2f} us per raise ({wasm / native:.2f}x)")
    native_frame = (per_raise[41][0] - per_raise[1][0]) / 40
    wasm_frame = (per_raise[41][1] - per_raise[1][1]) / 40
    print(f"  per frame crossed: native {native_frame * 1e9:.0f} ns, wasm32 {wasm_frame * 1e9:.0f} ns")


def program_costs(out: Path, repeat: int) -> None:
    print(f"programs that do not raise (release builds, CPU of _start, best of {repeat}):")
    print("  program        gc/none         runtime          exceptions       exceptions/gc-none")
    for case in (case for case in CASES if case.kind == "cpu"):
        expected, _ = native_seconds(case.source, case.args)
        seconds, sizes = {}, {}
        for build, flags in BUILDS.items():
            module = link(case.source, out / f"{case.name}-{build.replace('/', '-')}.wasm", *flags)
            seconds[build] = best_run(module, case.args, expected, repeat)
            sizes[build] = module.stat().st_size
        cells = "  ".join(f"{seconds[b]:6.2f} s {sizes[b] >> 10:5} K" for b in BUILDS)
        print(f"  {case.name:13} {cells}   {seconds['exceptions'] / seconds['gc/none']:.2f}x time "
              f"{sizes['exceptions'] / sizes['gc/none']:.2f}x size")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=100_000)
    options = parser.parse_args()
    handbuild.bdwgc()  # the runtime must be installed
    with tempfile.TemporaryDirectory(prefix="cwpkg-bench-exceptions-") as scratch:
        raise_costs(Path(scratch), options.iterations, options.repeat)
        program_costs(Path(scratch), options.repeat)


if __name__ == "__main__":
    main()
