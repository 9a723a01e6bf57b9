"""Finds a WebAssembly C toolchain: an explicit one, a wasi-sdk, or the system's versioned LLVM.

Order: `--toolchain DIR` / CWPKG_TOOLCHAIN (an LLVM prefix such as /usr/lib/llvm-19 or a wasi-sdk),
then WASI_SDK_PATH, then the newest clang-N (N >= 16) on PATH that has wasm-ld-N, llvm-ar-N,
llvm-ranlib-N, llvm-nm-N and the wasm32 compiler-rt builtins. An explicitly named toolchain that is
incomplete is an error, never silently replaced by another one.

A toolchain is found for one target (see targets.py): it has that target's builtins, and every compile
it runs names that target.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cwpkg.errors import ToolchainError
from cwpkg.fs import file_sha256, value_sha256
from cwpkg.toolchain.probe_memo import remembered
from cwpkg.toolchain.targets import DEFAULT_TARGET, TARGETS

MIN_LLVM = 16  # wasm-ld defines __stack_low/__stack_high from LLVM 16 on; bdwgc's port relies on them
MAX_LLVM = 40

# Debian package that provides each tool of LLVM version N.
DEBIAN_PACKAGES = {
    "clang": "clang-{n}",
    "wasm-ld": "lld-{n}",
    "llvm-ar": "llvm-{n}",
    "llvm-ranlib": "llvm-{n}",
    "llvm-nm": "llvm-{n}",
    "builtins": "libclang-rt-{n}-dev-wasm32",
}
RECOMMENDED_LLVM = 19  # the version the committed lock was built with (Debian bookworm's clang-19)
INSTALL_HINT = (
    "on Debian/Ubuntu: apt-get install "
    + " ".join(dict.fromkeys(package.format(n=RECOMMENDED_LLVM) for package in DEBIAN_PACKAGES.values())) + "; "
    "elsewhere: unpack a wasi-sdk release and set WASI_SDK_PATH to it, "
    "or point --toolchain (CWPKG_TOOLCHAIN) at an LLVM prefix with wasm32 compiler-rt"
)


@dataclass(frozen=True)
class Toolchain:
    origin: str
    target: str
    clang: str
    wasm_ld: str
    ar: str
    ranlib: str
    nm: str
    builtins: str
    fingerprint: dict[str, str] = field(compare=False)

    @property
    def identity(self) -> str:
        """Changes whenever any tool's version or the builtins library changes."""
        return value_sha256(self.fingerprint)

    def compiler(self, sysroot: Path) -> list[str]:
        """The C compiler for the target against `sysroot`'s headers and libraries: every compile cwpkg
        runs or hands to a build starts with this."""
        return [self.clang, f"--target={self.target}", f"--sysroot={sysroot}"]

    def describe(self) -> str:
        lines = [f"toolchain: {self.origin}", f"  target    {self.target}"]
        for key in ("clang", "wasm_ld", "ar", "ranlib", "nm", "builtins"):
            lines.append(f"  {key:9} {getattr(self, key)}")
        for key, value in sorted(self.fingerprint.items()):
            if key != "target":  # the first line says it
                lines.append(f"  version   {key}: {value}")
        lines.append(f"  identity  {self.identity}")
        return "\n".join(lines)


def _first_line(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unavailable ({error})"
    text = (result.stdout or result.stderr).strip()
    for line in text.splitlines():
        if "version" in line.lower():
            return line.strip()
    return text.splitlines()[0].strip() if text else "unknown"


def _builtins_location(clang: str, target: str) -> Path | None:
    """Where `clang` looks for `target`'s compiler-rt builtins (the file may be missing); None if it cannot say."""
    try:
        result = subprocess.run(
            [clang, f"--target={target}", "-rtlib=compiler-rt", "-print-libgcc-file-name"],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else None


def _builtins_path(clang: str, target: str) -> Path | None:
    """`target`'s compiler-rt builtins library, if `clang` has it."""
    path = _builtins_location(clang, target)
    return path if path is not None and path.is_file() else None


def _missing_builtins(clang: str, target: str) -> tuple[str, str]:
    """Why `clang` cannot build for `target`, and the fix: another target it has builtins for, or a toolchain."""
    location = _builtins_location(clang, target)
    where = f" ({location} is missing)" if location else ""
    known = [other for other in TARGETS if other != target and _builtins_path(clang, other) is not None]
    if known:
        return (f"{clang} has no {target} compiler-rt builtins{where}, only {', '.join(known)}'s",
                f"use --target {known[0]} (or CWPKG_TARGET={known[0]}), or a toolchain with {target}'s builtins")
    return f"{clang} has no wasm32 compiler-rt builtins{where}", INSTALL_HINT


def _examine(tools: dict[str, str], origin: str, target: str) -> dict | None:
    """clang's builtins library for `target` and the tools' versions; None when there are no builtins."""
    clang_version = _first_line([tools["clang"], "--version"])
    version = re.search(r"clang version (\d+)\.", clang_version)
    if version is None or int(version.group(1)) < MIN_LLVM:
        found = f"version {version.group(1)}" if version else "an unknown version"
        raise ToolchainError(f"{origin}: {tools['clang']} is clang {found}; WebAssembly builds need LLVM "
                             f"{MIN_LLVM} or newer", hint=INSTALL_HINT)
    builtins = _builtins_path(tools["clang"], target)
    if builtins is None:
        return None
    fingerprint = {
        "target": target,
        "clang": clang_version,
        "wasm-ld": _first_line([tools["wasm-ld"], "--version"]),
        "llvm-ar": _first_line([tools["llvm-ar"], "--version"]),
        "builtins": f"{builtins.name} sha256:{file_sha256(builtins)}",
    }
    return {"builtins": str(builtins), "fingerprint": fingerprint}


def _examined(tools: dict[str, str], origin: str, target: str) -> dict | None:
    """_examine's answer, remembered while the tools and the builtins library are unchanged."""
    return remembered(f"toolchain-{target}", [Path(path) for path in tools.values()],
                      lambda: _examine(tools, origin, target), named=lambda answer: [Path(answer["builtins"])])


def _toolchain(origin: str, target: str, tools: dict[str, str], examined: dict) -> Toolchain:
    return Toolchain(origin=origin, target=target, clang=tools["clang"], wasm_ld=tools["wasm-ld"], ar=tools["llvm-ar"],
                     ranlib=tools["llvm-ranlib"], nm=tools["llvm-nm"], builtins=examined["builtins"],
                     fingerprint=examined["fingerprint"])


def _from_prefix(prefix: Path, origin: str, target: str) -> Toolchain:
    """A directory with bin/clang, bin/wasm-ld, bin/llvm-ar, ... (wasi-sdk or an LLVM install)."""
    tools = {name: str(prefix / "bin" / name) for name in ("clang", "wasm-ld", "llvm-ar", "llvm-ranlib", "llvm-nm")}
    missing = [path for path in tools.values() if not os.access(path, os.X_OK)]
    if missing:
        raise ToolchainError(f"{origin}: incomplete toolchain, missing {', '.join(missing)}", hint=INSTALL_HINT)
    examined = _examined(tools, origin, target)
    if examined is None:
        problem, fix = _missing_builtins(tools["clang"], target)
        raise ToolchainError(f"{origin}: {problem}", hint=fix)
    return _toolchain(origin, target, tools, examined)


def _system_versions() -> list[int]:
    versions = set()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        try:
            names = os.listdir(directory or ".")
        except OSError:
            continue
        for name in names:
            match = re.fullmatch(r"clang-(\d+)", name)
            if match and MIN_LLVM <= int(match.group(1)) <= MAX_LLVM:
                versions.add(int(match.group(1)))
    return sorted(versions, reverse=True)


def _from_system(problems: list[str], target: str) -> Toolchain | None:
    for n in _system_versions():
        tools = {name: shutil.which(f"{name}-{n}") for name in ("clang", "wasm-ld", "llvm-ar", "llvm-ranlib", "llvm-nm")}
        missing = [name for name, path in tools.items() if path is None]
        examined = None if missing else _examined(tools, f"clang-{n}", target)
        if not missing and examined is None and any(_builtins_path(tools["clang"], other) for other in TARGETS):
            problems.append(f"clang-{n}: {_missing_builtins(tools['clang'], target)[0]}")
            continue
        # _examine answers None only without builtins; with tools missing, ask clang to say all at once
        if examined is None and tools["clang"] and (not missing or _builtins_path(tools["clang"], target) is None):
            missing.append("builtins")
        if missing:
            packages = sorted({DEBIAN_PACKAGES[name].format(n=n) for name in missing})
            problems.append(f"clang-{n} is there but not {', '.join(f'{m}-{n}' if m != 'builtins' else 'the wasm32 builtins' for m in missing)}"
                            f" (apt-get install {' '.join(packages)})")
            continue
        return _toolchain(f"system LLVM {n}", target, tools, examined)
    return None


def detect_toolchain(explicit: str | None = None, target: str = DEFAULT_TARGET) -> Toolchain:
    """The toolchain to build for `target` with: `explicit` (--toolchain), else as the module says."""
    chosen = explicit or os.environ.get("CWPKG_TOOLCHAIN")
    if chosen:
        source = "--toolchain" if explicit else "CWPKG_TOOLCHAIN"
        return _from_prefix(Path(chosen).expanduser(), f"{source}={chosen}", target)
    sdk = os.environ.get("WASI_SDK_PATH")
    if sdk:
        return _from_prefix(Path(sdk).expanduser(), f"WASI_SDK_PATH={sdk}", target)
    problems: list[str] = []
    found = _from_system(problems, target)
    if found is not None:
        return found
    detail = "; ".join(problems) if problems else f"no clang-N (N >= {MIN_LLVM}) on PATH"
    raise ToolchainError(
        f"no WebAssembly C toolchain found: --toolchain/CWPKG_TOOLCHAIN and WASI_SDK_PATH are not set, and {detail}",
        hint=INSTALL_HINT if target == DEFAULT_TARGET else
        f"Debian's libclang-rt-N-dev-wasm32 has builtins for {DEFAULT_TARGET} only: use --target {DEFAULT_TARGET}, "
        f"or unpack a wasi-sdk release that has {target}'s (see toolchains/wasi-sdk.yaml) and set WASI_SDK_PATH to it",
    )
