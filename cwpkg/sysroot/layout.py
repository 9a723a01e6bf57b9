"""Where things are in a sysroot: wasi-sdk's layout for installed files, cwpkg's own state beside them.

Installed files: include/, lib/TARGET/ (libraries and crt files; TARGET is the sysroot's target,
wasm32-wasi or wasm32-wasip1), lib/pkgconfig/ (relocatable .pc files, whose libdir is lib/TARGET),
share/. A sysroot holds one target's libraries. cwpkg's state lives in `.cwpkg/`: `target` (the target
its packages were built for), `installed/NAME.json` (manifests),
`archives/NAME.tar.gz` (the archive each installed package came from), `builds/` (what the build
engine last built), `tx/` (open transactions), `downloads/` (archives arriving from a binary cache),
`env/` (what `cwpkg env` writes for plain tools), `trees/` (where the build trees that `install
--keep-build-trees` kept are, for `cwpkg test`), `lock`. A package tree (a build's staging
directory, an archive) has the same layout as the sysroot it is installed into.
"""

from __future__ import annotations

from pathlib import Path

from cwpkg.toolchain import DEFAULT_TARGET, TARGETS, library_dir

STATE_DIR = ".cwpkg"  # cwpkg's own state in a sysroot; no package may own anything below it
INCLUDE_DIR = "include"
PKG_CONFIG_DIR = "lib/pkgconfig"
MANIFESTS_DIR = f"{STATE_DIR}/installed"
TARGET_RECORD = f"{STATE_DIR}/target"


def recorded_target(root: Path) -> str | None:
    """The target `root`'s packages were built for: its record, else (a sysroot made before targets
    were recorded) the one target whose library directory it has; None for a new or empty one."""
    try:
        recorded = (root / TARGET_RECORD).read_text(encoding="utf-8").strip()
    except OSError:
        recorded = ""
    if recorded in TARGETS:
        return recorded
    present = [target for target in TARGETS if (root / library_dir(target)).is_dir()]
    return present[0] if len(present) == 1 else None


class SysrootLayout:
    """The paths of one sysroot; `Sysroot` adds what is installed there and how it changes."""

    def __init__(self, root: Path, target: str = DEFAULT_TARGET) -> None:
        self.root = root
        self.target = target
        self.target_record = root / TARGET_RECORD
        self.include_dir = root / INCLUDE_DIR
        self.lib_dir = root / library_dir(target)
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
