"""Finds the installed Crystal compiler: its path, version and standard library."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cwpkg.errors import ToolchainError
from cwpkg.tools import find_executable, run_tool

INSTALL_HINT = ("on Debian/Ubuntu: apt-get install crystal; elsewhere install Crystal from crystal-lang.org, "
                "or point CWPKG_CRYSTAL at a crystal executable")


@dataclass(frozen=True)
class CrystalCompiler:
    executable: str
    version: str
    search_path: tuple[str, ...]  # the compiler's own CRYSTAL_PATH
    stdlib: Path  # the CRYSTAL_PATH entry holding prelude.cr

    def search_path_with(self, stdlib: Path) -> str:
        """CRYSTAL_PATH with the standard library replaced by `stdlib` (an overlay of it)."""
        return os.pathsep.join(str(stdlib) if Path(entry) == self.stdlib else entry for entry in self.search_path)


def _crystal_env(executable: str, name: str) -> str:
    result = run_tool([executable, "env", name], INSTALL_HINT)
    if result.returncode != 0:
        raise ToolchainError(f"`{executable} env {name}` failed: {result.stderr.strip()}", hint=INSTALL_HINT)
    return result.stdout.strip()


def find_crystal() -> CrystalCompiler:
    """CWPKG_CRYSTAL, else `crystal` on PATH."""
    executable = find_executable("CWPKG_CRYSTAL", "crystal", "Crystal compiler not found", INSTALL_HINT)
    version = _crystal_env(executable, "CRYSTAL_VERSION")
    search_path = tuple(entry for entry in _crystal_env(executable, "CRYSTAL_PATH").split(os.pathsep) if entry)
    stdlib = next((Path(entry) for entry in search_path if Path(entry, "prelude.cr").is_file()), None)
    if stdlib is None:
        raise ToolchainError(f"{executable} {version}: no standard library (prelude.cr) on its CRYSTAL_PATH "
                             f"{os.pathsep.join(search_path)}", hint="reinstall crystal")
    return CrystalCompiler(executable, version, search_path, stdlib)
