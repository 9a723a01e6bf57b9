"""Finds the installed Crystal compiler: its path, version and standard library."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cwpkg.errors import ToolchainError
from cwpkg.toolchain import find_executable, remembered, run_tool

INSTALL_HINT = ("on Debian/Ubuntu: apt-get install crystal; elsewhere install Crystal from crystal-lang.org, "
                "or point CWPKG_CRYSTAL at a crystal executable")


# A file in every patched copy of the standard library that cwpkg makes (see crystal/compat.py): a
# CRYSTAL_PATH exported by `cwpkg env` names such a copy, which is never the compiler's own stdlib.
COMPAT_MARKER = ".cwpkg-compat-stdlib"


@dataclass(frozen=True)
class CrystalCompiler:
    executable: str
    version: str
    search_path: tuple[str, ...]  # CRYSTAL_PATH as the user's environment gives it, else the compiler's own
    stdlib: Path  # the compiler's own standard library (the entry of its default CRYSTAL_PATH with prelude.cr)

    def search_path_with(self, stdlib: Path) -> str:
        """CRYSTAL_PATH with the standard library (or a patched copy of it) replaced by `stdlib`."""
        return os.pathsep.join(str(stdlib) if Path(entry) == self.stdlib or Path(entry, COMPAT_MARKER).is_file()
                               else entry for entry in self.search_path)


def _ask_crystal(executable: str) -> dict[str, str]:
    """The compiler's version and its own CRYSTAL_PATH (what it uses when the environment sets none)."""
    without_path = {name: value for name, value in os.environ.items() if name != "CRYSTAL_PATH"}
    result = run_tool([executable, "env", "CRYSTAL_VERSION", "CRYSTAL_PATH"], INSTALL_HINT, env=without_path)
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) != 2:
        raise ToolchainError(f"`{executable} env CRYSTAL_VERSION CRYSTAL_PATH` failed: "
                             f"{(result.stderr or result.stdout).strip()}", hint=INSTALL_HINT)
    return {"version": lines[0], "path": lines[1]}


def find_crystal() -> CrystalCompiler:
    """CWPKG_CRYSTAL, else `crystal` on PATH.

    The standard library is looked up without the environment's CRYSTAL_PATH, which may name a patched
    copy (after `eval "$(cwpkg env --shell)"`) or a user's extra directories.
    """
    executable = find_executable("CWPKG_CRYSTAL", "crystal", "Crystal compiler not found", INSTALL_HINT)
    found = remembered("crystal", [Path(executable)], lambda: _ask_crystal(executable))
    version, default_path = found["version"], found["path"]
    own_path = [entry for entry in default_path.split(os.pathsep) if entry]
    stdlib = next((Path(entry) for entry in own_path if Path(entry, "prelude.cr").is_file()), None)
    if stdlib is None:
        raise ToolchainError(f"{executable} {version}: no standard library (prelude.cr) on its CRYSTAL_PATH "
                             f"{default_path}", hint="reinstall crystal")
    search_path = os.environ.get("CRYSTAL_PATH", default_path).split(os.pathsep)
    return CrystalCompiler(executable, version, tuple(entry for entry in search_path if entry), stdlib)
