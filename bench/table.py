"""cwpkg's speed and memory against baselines measured in the same run, as one table.

    python bench/table.py [--workdir DIR] [--runs N] [--cold]

Rows: with --cold, a cold build of every recipe with a warm source cache (baseline: a plain serial
shell script running the same steps, see cold_build.py); a no-op `cwpkg install --all` (baseline:
starting Python and importing cwpkg's command line), restoring the whole sysroot from a binary
cache into an empty directory (baseline: unpacking the same archives with tar), and `cwpkg link`
of each example (baseline: the bare `crystal build --cross-compile` and `wasm-ld` commands for the
same program, run alternately with cwpkg's). Each time is the median of N runs; peak memory is the
largest resident set of the measured process tree's biggest process.

The first run builds the sysroot in DIR (default: a directory under the cache); later runs reuse it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CWPKG = [sys.executable, "-m", "cwpkg"]


def measure(argv: list[str], env: dict[str, str], cwd: Path, prepare=None) -> tuple[float, int]:
    """Wall time in seconds and peak resident memory in KiB of one run of `argv`."""
    if prepare:
        prepare()
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{process.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss


def median_of(runs: int, argv: list[str], env: dict[str, str], cwd: Path, prepare=None) -> tuple[float, int]:
    results = [measure(argv, env, cwd, prepare) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def paired_medians(runs: int, argv: list[str], env: dict[str, str], baseline: list[str], baseline_env: dict[str, str],
                   cwd: Path) -> tuple[tuple[float, int], tuple[float, int]]:
    """Like median_of for a command and its baseline, run alternately so that both see the same machine
    (a background job or a frequency change then affects both, not one side of the ratio)."""
    pairs = [(measure(argv, env, cwd), measure(baseline, baseline_env, cwd)) for _ in range(runs)]
    return tuple((statistics.median(pair[side][0] for pair in pairs), max(pair[side][1] for pair in pairs))
                 for side in (0, 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "cwpkg-bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold", action="store_true",
                        help="also a cold build of every recipe against a serial shell script (two full builds)")
    options = parser.parse_args()
    work = options.workdir.resolve()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CWPKG_")}
    env.update(CWPKG_CACHE=str(work / "cache"), CWPKG_SYSROOT=str(work / "sysroot"))
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([*CWPKG, "install", "--all", "--quiet"], env=env, cwd=work, check=True, stdout=subprocess.DEVNULL)
    rows = []

    baseline = median_of(options.runs, [sys.executable, "-c", "import cwpkg.cli.main"], env, work)
    noop = median_of(options.runs, [*CWPKG, "install", "--all", "--quiet"], env, work)
    rows.append(("no-op install --all", noop, "python + import cwpkg.cli.main", baseline))

    binary_cache, restored = work / "binary-cache", work / "restored"
    subprocess.run([*CWPKG, "cache", "push"], env={**env, "CWPKG_BINARY_CACHE": str(binary_cache)}, cwd=work,
                   check=True, stdout=subprocess.DEVNULL)
    restore_env = {**env, "CWPKG_BINARY_CACHE": str(binary_cache), "CWPKG_SYSROOT": str(restored)}
    archives = sorted((work / "sysroot" / ".cwpkg" / "archives").glob("*.tar.gz"))
    untar = ["sh", "-c", " && ".join(f"tar -xzf {archive} -C {restored}" for archive in archives)]
    restore = median_of(options.runs, [*CWPKG, "install", "--locked", "--quiet"], restore_env, work,
                        lambda: shutil.rmtree(restored, ignore_errors=True))
    rows.append(("restore sysroot from binary cache", restore, "tar -xzf of the same archives",
                 median_of(options.runs, untar, env, work, lambda: _empty(restored))))

    for example in sorted((REPO / "examples").glob("*.cr")):
        with tempfile.TemporaryDirectory(prefix="cwpkg-bench-link-") as scratch:
            rows.append((f"link {example.name}", *_link_pair(example, Path(scratch), env, work, options.runs)))

    if options.cold:
        from cold_build import measure_cold_build

        shell, built = measure_cold_build(work / "cold")
        rows.insert(0, ("cold build of every recipe", built, "serial shell script, same steps", shell))

    print(f"{'measure':36} {'cwpkg':>9} {'peak MiB':>9}   {'baseline':32} {'time':>9} {'peak MiB':>9} {'ratio':>7}")
    for name, (seconds, peak), base_name, (base_seconds, base_peak) in rows:
        print(f"{name:36} {seconds:8.3f}s {peak / 1024:9.0f}   {base_name:32} {base_seconds:8.3f}s "
              f"{base_peak / 1024:9.0f} {seconds / base_seconds:6.2f}x")
    print(f"\n{os.cpu_count()} cores, Python {sys.version.split()[0]}, median of {options.runs} runs")
    return 0


def _empty(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()


def _link_pair(example: Path, scratch: Path, env: dict[str, str], work: Path, runs: int):
    """`cwpkg link` of the example, and the bare commands it stands for (with the same compat stdlib)."""
    sysroot = work / "sysroot"
    exported = subprocess.run([*CWPKG, "env", "--shell"], env=env, cwd=work, check=True, capture_output=True,
                              text=True).stdout
    crystal_env = dict(env)
    for line in exported.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        if name in ("CRYSTAL_PATH", "CRYSTAL_LIBRARY_PATH", "PKG_CONFIG_LIBDIR"):
            crystal_env[name] = value.strip("'")
    toolchain = subprocess.run([*CWPKG, "toolchain"], env=env, cwd=work, check=True, capture_output=True,
                               text=True).stdout
    wasm_ld = toolchain.split("wasm_ld   ")[1].split()[0]
    builtins = toolchain.split("builtins  ")[1].split()[0]
    compiled = subprocess.run(["crystal", "build", "--cross-compile", "--target", "wasm32-unknown-wasi",
                               str(example), "-o", str(scratch / "bare")], env=crystal_env, cwd=scratch,
                              check=True, capture_output=True, text=True).stdout
    libraries = [token for token in compiled.split() if token.startswith("-l")]
    bare = ["sh", "-c", f"crystal build --cross-compile --target wasm32-unknown-wasi {example} -o {scratch}/bare "
            f"> /dev/null && {wasm_ld} {scratch}/bare.wasm -o {scratch}/bare.out.wasm "
            f"-L{sysroot}/lib/wasm32-wasi -z stack-size=8388608 {' '.join(libraries)} -lz -lc {builtins}"]
    # -Dgc_none: the same program as the bare commands build (no GC runtime, whose Asyncify step is
    # measured by bench/gc_runtime.py), so that the ratio is the link driver's own cost.
    linked, baseline = paired_medians(runs, [*CWPKG, "link", str(example), "-o", str(scratch / "app.wasm"), "--quiet",
                                             "--", "-Dgc_none"], env, bare, crystal_env, work)
    return linked, "crystal --cross-compile + wasm-ld", baseline


if __name__ == "__main__":
    sys.exit(main())
