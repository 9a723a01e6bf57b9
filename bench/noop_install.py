"""Wall time of a no-op `cwpkg install bdwgc pcre`, against a baseline measured in the same run.

The baseline is the bare cost of starting Python and importing cwpkg's command line; the ratio says
how much a no-op install adds to it (recipe loading, toolchain probe, SCons's up-to-date check).

    python bench/noop_install.py [--workdir DIR] [--runs N]

The first run builds the sysroot in DIR (default: a directory under the cache), later runs reuse it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path.home() / ".cache" / "cwpkg-bench")
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    env = {**os.environ, "CWPKG_SYSROOT": str(options.workdir / "sysroot"),
           "CWPKG_CACHE": str(options.workdir / "cache")}
    install = [sys.executable, "-m", "cwpkg", "install", "--quiet", "bdwgc", "pcre"]
    print(f"preparing the sysroot in {options.workdir} ...", file=sys.stderr)
    subprocess.run(install, env=env, cwd=REPO, check=True)

    baseline = timed([sys.executable, "-c", "import cwpkg.cli.main"], env, options.runs)
    noop = timed(install, env, options.runs)
    base = statistics.median(baseline)
    print(f"{'measurement':40} {'median s':>9} {'min s':>7} {'ratio':>6}")
    for name, values in (("baseline: python + import cwpkg.cli.main", baseline),
                         ("no-op: cwpkg install bdwgc pcre", noop)):
        median = statistics.median(values)
        print(f"{name:40} {median:9.3f} {min(values):7.3f} {median / base:6.2f}")
    print(f"({options.runs} runs each, {os.cpu_count()} cores, Python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
