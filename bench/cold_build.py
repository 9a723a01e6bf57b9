"""A cold build of every recipe with a warm source cache: cwpkg against a plain serial shell script.

    python bench/cold_build.py [--workdir DIR] [--keep-script FILE]

The script is generated from the same recipes with cwpkg's own step builder, so it runs exactly the
configure/make/install commands (same arguments, same environment, same `make -j`) one package
after the other: unpack with tar, patch with patch(1), build, copy the installed tree into its
sysroot. cwpkg adds what the script lacks (verification, staging, deterministic archives,
transactions) and builds independent packages in parallel. Prints both times, the ratio, and peak
memory.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cwpkg.builds.environment import PREFIX, BuildDirs, build_environment, placeholders  # noqa: E402
from cwpkg.builds.kinds import build_steps  # noqa: E402
from cwpkg.recipes.book import RecipeBook  # noqa: E402
from cwpkg.sources.cache import SourceCache  # noqa: E402
from cwpkg.sources.download import Downloader  # noqa: E402
from cwpkg.sysroot.sysroot import Sysroot  # noqa: E402
from cwpkg.toolchain.detect import detect_toolchain  # noqa: E402


def serial_script(cache: Path, base: Path, sysroot: Path, jobs: int) -> str:
    book = RecipeBook(REPO)
    toolchain = detect_toolchain()
    sources = SourceCache(cache, Downloader(quiet=True))
    lines = ["#!/bin/bash", "# one package after the other, the same steps cwpkg runs", "set -euo pipefail",
             f"mkdir -p {sysroot}"]
    for recipe in book.with_dependencies(book.names()):
        _, archive = sources.fetch(recipe)
        work = base / recipe.name
        work.mkdir(parents=True, exist_ok=True)  # a CMake build's toolchain file is written here now
        dirs = BuildDirs(src=work / "src", destdir=work / "dest", sysroot=Sysroot(sysroot))
        lines += [f"echo '== {recipe.name}'", f"rm -rf {dirs.src} {dirs.destdir} {work}/cmake-build",
                  f"mkdir -p {dirs.src}",
                  f"tar -xf {archive} -C {dirs.src} --strip-components=1"]
        lines += [f"patch -s -p1 -d {dirs.src} < {book.patch_path(patch)}" for patch in recipe.patches]
        if recipe.build.kind == "autotools":
            lines += [f"find {dirs.src} -name config.{kind} -exec cp /usr/share/misc/config.{kind} {{}} \\;"
                      for kind in ("sub", "guess")]
        values = placeholders(toolchain, recipe, dirs, jobs)
        environment = " ".join(shlex.quote(f"{key}={value}")
                               for key, value in build_environment(toolchain, recipe, dirs, values).items())
        for step in build_steps(recipe, toolchain, dirs, values, work):
            lines.append(f"(cd {shlex.quote(str(step.cwd))} && env -i {environment} "
                         f"{' '.join(shlex.quote(part) for part in step.argv)}) > {work}.log 2>&1")
        lines += [f"cp -a {dirs.destdir}{PREFIX}/. {sysroot}/",
                  f"find {sysroot} -name '*.pc' -exec sed -i 's|^prefix=.*|prefix={sysroot}|' {{}} +"]
    return "\n".join(lines) + "\n"


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{process.stderr.read().decode()[-3000:]}")
    return time.perf_counter() - started, usage.ru_maxrss


def measure_cold_build(workdir: Path | None, keep_script: Path | None = None) -> tuple[tuple[float, int], ...]:
    """((script time, peak KiB), (cwpkg time, peak KiB)) for a cold build of every recipe."""
    jobs = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="cwpkg-cold-") as scratch:
        base = (workdir or Path(scratch)).resolve()
        for earlier in ("cwpkg-sysroot", "serial-sysroot", "serial-work"):  # cold: only the sources stay
            shutil.rmtree(base / earlier, ignore_errors=True)
        cache = base / "cache"
        env = {key: value for key, value in os.environ.items() if not key.startswith("CWPKG_")}
        env.update(CWPKG_CACHE=str(cache), CWPKG_SYSROOT=str(base / "cwpkg-sysroot"))
        subprocess.run([sys.executable, "-m", "cwpkg", "fetch"], env=env, cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)  # the warm source cache both builds start from
        script = base / "serial.sh"
        os.environ["CWPKG_CACHE"] = str(cache)
        script.write_text(serial_script(cache, base / "serial-work", base / "serial-sysroot", jobs))
        if keep_script:
            shutil.copyfile(script, keep_script)
        shell = timed(["bash", str(script)], env, base)
        built = timed([sys.executable, "-m", "cwpkg", "install", "--all", "--quiet", "-j", str(jobs)], env, REPO)
    return shell, built


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="where both builds go (default: a temporary directory)")
    parser.add_argument("--keep-script", type=Path, help="also write the generated serial script here")
    options = parser.parse_args()
    jobs = os.cpu_count() or 1
    (shell_time, shell_peak), (cwpkg_time, cwpkg_peak) = measure_cold_build(options.workdir, options.keep_script)
    print(f"{'cold build of every recipe':32} {'time':>9} {'peak MiB':>9}")
    print(f"{'plain serial shell script':32} {shell_time:8.1f}s {shell_peak / 1024:9.0f}")
    print(f"{'cwpkg install --all':32} {cwpkg_time:8.1f}s {cwpkg_peak / 1024:9.0f}")
    print(f"ratio cwpkg / script: {cwpkg_time / shell_time:.2f}x on {jobs} cores (make -j{jobs} in both)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
