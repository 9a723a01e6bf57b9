"""Crystal compatibility patches: a patched copy of the compiler's standard library, per compiler version.

`patches/crystal/<version>/*.patch` fix what a given Crystal release gets wrong on wasm32-wasi. They are
applied (in name order, strictly, as recipes' patches are) to a copy of the installed standard library
in the cache, and the link driver puts that copy in CRYSTAL_PATH in place of the original. The
installed compiler is never touched, and relative `require`s inside the standard library see the
patched files too, which a prelude added in front could not achieve.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cwpkg.crystal.compiler import COMPAT_MARKER, CrystalCompiler
from cwpkg.errors import PatchError
from cwpkg.fs import file_sha256, value_sha256
from cwpkg.sources import apply_patch

PATCH_DIR = Path("patches") / "crystal"


@dataclass(frozen=True)
class CompatStdlib:
    path: Path  # the standard library to compile against
    patches: tuple[Path, ...]  # what was applied to it (empty: the installed one, unchanged)


def compat_patches(recipe_root: Path, version: str) -> tuple[Path, ...]:
    return tuple(sorted((recipe_root / PATCH_DIR / version).glob("*.patch")))


def compat_stdlib(compiler: CrystalCompiler, recipe_root: Path, cache: Path) -> CompatStdlib:
    """The patched standard library for `compiler`, made once and reused from the cache."""
    patches = compat_patches(recipe_root, compiler.version)
    if not patches:
        return CompatStdlib(compiler.stdlib, ())
    key = value_sha256({"version": compiler.version, "stdlib": str(compiler.stdlib), "marker": COMPAT_MARKER,
                        "patches": [(patch.name, file_sha256(patch)) for patch in patches]})[:16]
    overlay = cache / "crystal-stdlib" / f"{compiler.version}-{key}"
    if not overlay.is_dir():
        overlay.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".making-", dir=overlay.parent))
        try:
            shutil.copytree(compiler.stdlib, scratch / "src", symlinks=True)
            for patch in patches:
                try:
                    apply_patch(scratch / "src", patch, f"{PATCH_DIR}/{compiler.version}/{patch.name}")
                except PatchError as error:
                    raise PatchError(f"{error.message} (against {compiler.stdlib} of Crystal {compiler.version})",
                                     hint="fix or remove the patch; the installed standard library differs "
                                          "from the one it was written for") from None
            (scratch / "src" / COMPAT_MARKER).write_text(
                f"cwpkg: Crystal {compiler.version}'s standard library ({compiler.stdlib}) with compat patches\n")
            try:
                os.rename(scratch / "src", overlay)
            except OSError:
                if not overlay.is_dir():  # another run made it at the same moment: use theirs
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if not any(overlay.parent.iterdir()):  # a failed first attempt leaves the cache as it was
                overlay.parent.rmdir()
    return CompatStdlib(overlay, patches)
