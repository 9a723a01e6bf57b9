"""A wasi-sdk-shaped toolchain that knows only `wasm32-wasip1`, made from this machine's LLVM (no network
here to fetch a release): bin/ with clang and the LLVM tools, and a clang resource directory whose
compiler-rt builtins are under lib/wasm32-unknown-wasip1/ only. That is stricter than wasi-sdk 34,
which builds no wasm32-wasi sysroot but still copies its builtins under the old name too: a toolchain
where `wasm32-wasi` cannot work at all.

clang finds its resource directory beside its own binary (bin/../lib/clang/N), so bin/clang is a copy
of the system's clang, not a link or a wrapper; the other tools are links. The builtins are the
system's wasm32 builtins (the same code for either name of WASI preview 1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def system_llvm_version() -> str:
    return sorted((path.name.split("-")[1] for path in Path("/usr/bin").glob("clang-[0-9]*")), key=int)[-1]


def make_wasip1_only_sdk(directory: Path) -> Path:
    """Assembles the toolchain in `directory` (once) and returns it, for WASI_SDK_PATH."""
    if (directory / "bin/clang").is_file():
        return directory
    version = system_llvm_version()
    clang = Path(os.path.realpath(shutil.which(f"clang-{version}")))
    (directory / "bin").mkdir(parents=True)
    shutil.copy2(clang, directory / "bin/clang")
    for tool in ("wasm-ld", "llvm-ar", "llvm-ranlib", "llvm-nm"):
        (directory / "bin" / tool).symlink_to(os.path.realpath(shutil.which(f"{tool}-{version}")))
    system_resources = Path(subprocess.run([str(clang), "-print-resource-dir"], capture_output=True, text=True,
                                           check=True).stdout.strip())
    builtins = subprocess.run([str(clang), "--target=wasm32-wasi", "-rtlib=compiler-rt", "-print-libgcc-file-name"],
                              capture_output=True, text=True, check=True).stdout.strip()
    resources = directory / "lib/clang" / system_resources.name
    (resources / "lib/wasm32-unknown-wasip1").mkdir(parents=True)
    (resources / "include").symlink_to(system_resources / "include")
    shutil.copy2(builtins, resources / "lib/wasm32-unknown-wasip1/libclang_rt.builtins.a")
    return directory
