"""Where things are in a sysroot: wasi-sdk's layout for installed files, cwpkg's own state beside them.

Installed files: include/, lib/wasm32-wasi/ (libraries and crt files), lib/pkgconfig/ (relocatable
.pc files), share/. cwpkg's state lives in `.cwpkg/`: `installed/NAME.json` (manifests),
`archives/NAME.tar.gz` (the archive each installed package came from), `builds/` (what the build
engine last built), `tx/` (open transactions), `downloads/` (archives arriving from a binary cache),
`env/` (what `cwpkg env` writes for plain tools), `trees/` (where the build trees that `install
--keep-build-trees` kept are, for `cwpkg test`), `lock`. A package tree (a build's staging
directory, an archive) has the same layout as the sysroot it is installed into.
"""

from __future__ import annotations

from pathlib import Path

from cwpkg.toolchain import TARGET

STATE_DIR = ".cwpkg"  # cwpkg's own state in a sysroot; no package may own anything below it
INCLUDE_DIR = "include"
LIB_DIR = f"lib/{TARGET}"
PKG_CONFIG_DIR = "lib/pkgconfig"
MANIFESTS_DIR = f"{STATE_DIR}/installed"


class SysrootLayout:
    """The paths of one sysroot; `Sysroot` adds what is installed there and how it changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.include_dir = root / INCLUDE_DIR
        self.lib_dir = root / LIB_DIR
        self.pkg_config_dir = root / PKG_CONFIG_DIR
        self.state = root / STATE_DIR
        self.manifests = root / MANIFESTS_DIR
        self.archives = self.state / "archives"
        self.builds = self.state / "builds"
        self.downloads = self.state / "downloads"
        self.transactions = self.state / "tx"
        self.env_dir = self.state / "env"

    def manifest_path(self, name: str) -> Path:
        return self.manifests / f"{name}.json"

    def archive_path(self, name: str) -> Path:
        return self.archives / f"{name}.tar.gz"

    def build_path(self, name: str) -> Path:
        """Where the build engine writes `name`'s archive; installing copies it into the transaction."""
        return self.builds / f"{name}.tar.gz"

    def pkg_config_environment(self) -> dict[str, str]:
        """pkg-config sees only the sysroot's .pc files (relocatable: their prefix is ${pcfiledir}/../..)."""
        return {"PKG_CONFIG_LIBDIR": str(self.pkg_config_dir), "PKG_CONFIG_PATH": ""}
