"""Turns what `make install` left in the staging directory into a clean, relocatable package tree."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from cwpkg.builds.environment import PREFIX
from cwpkg.errors import BuildError
from cwpkg.fs import is_clean_relative
from cwpkg.recipes import Recipe
from cwpkg.sysroot import INCLUDE_DIR, PKG_CONFIG_DIR


def normalize_stage(recipe: Recipe, stage: Path, build_paths: list[tuple[Path, str]]) -> None:
    """`build_paths`: this build's real directories (source tree, work directory, sysroot) and the
    logical path each stands for in an installed package, most specific first."""
    if not stage.is_dir() or not any(stage.iterdir()):
        raise BuildError(f"{recipe.name}: the build installed nothing", hint=f"check build.install_target in {recipe.path}")
    # libtool archives record build paths and are useless for static WebAssembly linking.
    for path in stage.rglob("*.la"):
        path.unlink()
    for pattern in recipe.build.remove:
        for path in sorted(stage.glob(pattern), reverse=True):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    _gather_pkgconfig(stage)
    _remove_empty_dirs(stage)
    for path in stage.rglob("*"):
        if not is_clean_relative(path.relative_to(stage).as_posix()):
            raise BuildError(f"{recipe.name}: the build installed {path.relative_to(stage)!r}, a name that is not "
                             "UTF-8 text", hint=f"drop it with build.remove in {recipe.path.name}")
    _rewrite_build_paths(recipe, stage, build_paths)


def _gather_pkgconfig(stage: Path) -> None:
    """Moves .pc files to lib/pkgconfig/ and makes them relocatable with ${pcfiledir}."""
    target_dir = stage / PKG_CONFIG_DIR
    for pc in sorted(stage.rglob("*.pc")):
        if pc.parent.name != "pkgconfig":
            continue
        text = pc.read_text(encoding="utf-8")
        text = re.sub(rf"^prefix={re.escape(PREFIX)}/?$", "prefix=${pcfiledir}/../..", text, flags=re.M)
        text = re.sub(rf"(?<![\w/]){re.escape(PREFIX)}(?=/|$|\s)", "${prefix}", text, flags=re.M)
        target_dir.mkdir(parents=True, exist_ok=True)
        destination = target_dir / pc.name
        pc.unlink()
        destination.write_text(text, encoding="utf-8")


def _rewrite_build_paths(recipe: Recipe, stage: Path, build_paths: list[tuple[Path, str]]) -> None:
    """A package must not record where it was built: that breaks relocation and bit-identical rebuilds.

    Text files get the logical paths instead (gmp.h records its compiler command; a dependency's
    flags that configure found through pkg-config name the real sysroot); in pkg-config files the
    sysroot becomes ${prefix}. A binary file that records a build path fails the build.
    """
    leaks = []
    for path in sorted(p for p in stage.rglob("*") if p.is_file() and not p.is_symlink()):
        content = path.read_bytes()
        if not any(str(real).encode() in content for real, _ in build_paths):
            continue
        if b"\0" in content:
            leaks.append(str(path.relative_to(stage)))
            continue
        text = content.decode("utf-8", "surrogateescape")
        for real, logical in build_paths:
            if path.suffix == ".pc" and logical == PREFIX:
                text = text.replace(f"{real}/lib/pkgconfig/../..", "${prefix}").replace(str(real), "${prefix}")
            text = text.replace(str(real), logical)
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
    if leaks:
        raise BuildError(
            f"{recipe.name}: these files record the build's directories: {', '.join(leaks)}",
            hint=f"drop them with build.remove in {recipe.path.name}, or fix the flags that embed the paths",
        )


def _remove_empty_dirs(root: Path) -> None:
    for directory in sorted((p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def check_provides(recipe: Recipe, stage: Path, lib_dir: str) -> None:
    """Everything the recipe says it provides must be in the package; `lib_dir`: the target's library directory."""
    missing = []
    for lib in recipe.provides.libs:
        if not (stage / lib_dir / f"lib{lib}.a").is_file():
            missing.append(f"{lib_dir}/lib{lib}.a")
    for header in recipe.provides.headers:
        if not (stage / INCLUDE_DIR / header).exists():
            missing.append(f"include/{header}")
    for name in recipe.provides.pkgconfig:
        if not (stage / PKG_CONFIG_DIR / f"{name}.pc").is_file():
            missing.append(f"{PKG_CONFIG_DIR}/{name}.pc")
    if missing:
        raise BuildError(
            f"{recipe.name}: the build did not install what {recipe.path.name} provides: {', '.join(missing)}",
            hint="fix the build flags or the recipe's provides list",
        )

