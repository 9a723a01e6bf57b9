"""Builds the whole sysroot twice, in two directories with different umask and job counts, each from
an empty cache, and prints every package archive's sha256 from both builds side by side (and the
bundles'), with the time of the second build as a ratio of the first.

    python bench/reproducibility.py [--workdir DIR] [PKG...]

Exit status 1 if any archive differs. Takes two full builds (about ten minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def build(directory: Path, packages: list[str], umask: int, jobs: int) -> tuple[dict[str, str], str, float]:
    """Returns package -> archive sha256, the bundle's sha256, and the build's wall time."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CWPKG_")}
    env.update(CWPKG_CACHE=str(directory / "cache"), CWPKG_SYSROOT=str(directory / "sysroot"))
    command = [sys.executable, "-m", "cwpkg", "install", "--quiet", "-j", str(jobs), *(packages or ["--all"])]
    previous = os.umask(umask)
    started = time.perf_counter()
    try:
        subprocess.run(command, env=env, cwd=directory, check=True, stdout=subprocess.DEVNULL)
    finally:
        os.umask(previous)
    elapsed = time.perf_counter() - started
    bundle = directory / "sysroot.tar.gz"
    subprocess.run([sys.executable, "-m", "cwpkg", "bundle", "--quiet", "-o", str(bundle)], env=env, cwd=directory,
                   check=True, stdout=subprocess.DEVNULL)
    installed = directory / "sysroot" / ".cwpkg" / "installed"
    archives = {path.stem: json.loads(path.read_text())["archive_sha256"] for path in sorted(installed.glob("*.json"))}
    return archives, _sha256(bundle), elapsed


def _sha256(path: Path) -> str:
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="where the two builds go (default: a temporary directory)")
    parser.add_argument("packages", nargs="*", help="packages to build (default: all)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cwpkg-repro-") as scratch:
        base = options.workdir or Path(scratch)
        first_dir, second_dir = base / "first", base / "second-elsewhere"
        first_dir.mkdir(parents=True)
        second_dir.mkdir(parents=True)
        first, first_bundle, first_time = build(first_dir, options.packages, 0o022, os.cpu_count() or 1)
        second, second_bundle, second_time = build(second_dir, options.packages, 0o077, 1)
    differ = 0
    print(f"{'package':12} {'first build':64}  same")
    for name in sorted(first.keys() | second.keys()):
        same = first.get(name) == second.get(name)
        differ += not same
        print(f"{name:12} {first.get(name, '-'):64}  {'yes' if same else 'NO: ' + second.get(name, '-')}")
    same_bundle = first_bundle == second_bundle
    print(f"{'bundle':12} {first_bundle:64}  {'yes' if same_bundle else 'NO: ' + second_bundle}")
    print(f"first build (umask 022, -j{os.cpu_count() or 1}) {first_time:.0f} s; second (umask 077, -j1) "
          f"{second_time:.0f} s, {second_time / first_time:.2f}x the first")
    return 1 if differ or not same_bundle else 0


if __name__ == "__main__":
    sys.exit(main())
