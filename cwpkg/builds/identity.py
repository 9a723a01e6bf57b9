"""A package's build identity: the hash of everything that decides its built files.

Recipe build settings and source checksums, each patch's checksum, the toolchain fingerprint, cwpkg's
own build logic version and the identities of the dependencies (so a change propagates to exactly
the packages that depend on what changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cwpkg.fs import file_sha256, value_sha256
from cwpkg.recipes import Recipe, RecipeBook
from cwpkg.toolchain import Toolchain

# Bump when a change to cwpkg changes what a build produces (flags, layout, archive format).
BUILD_LOGIC_VERSION = 2


@dataclass(frozen=True)
class BuildInputs:
    """What one package's build depends on; its identity is the hash of `as_json()`."""

    recipe: dict[str, Any]  # Recipe.build_inputs(): sources, build settings
    patches: dict[str, str]  # patch path -> sha256, in the recipe's order
    toolchain: dict[str, str]  # the toolchain's identity and fingerprint
    depends: dict[str, str]  # dependency name -> its identity
    build_logic: int = BUILD_LOGIC_VERSION

    def as_json(self) -> dict[str, Any]:
        """The one serialized form; changing it changes every identity (and invalidates every lock)."""
        return {
            "recipe": self.recipe,
            "patches": [{"path": path, "sha256": sha256} for path, sha256 in self.patches.items()],
            "toolchain": self.toolchain,
            "build_logic": self.build_logic,
            "depends": self.depends,
        }

    @property
    def identity(self) -> str:
        return value_sha256(self.as_json())

    @property
    def settings(self) -> dict[str, Any]:
        """The recipe's settings together with the build logic version: what a lock records as `settings`."""
        return {"recipe": self.recipe, "build_logic": self.build_logic}

    @property
    def source_digests(self) -> list[str]:
        return self.recipe["sources"]

    @property
    def toolchain_identity(self) -> str:
        return self.toolchain["identity"]


def plan_build_inputs(recipes: list[Recipe], book: RecipeBook, toolchain: Toolchain) -> dict[str, BuildInputs]:
    """name -> build inputs, for recipes given in dependency order."""
    result: dict[str, BuildInputs] = {}
    for recipe in recipes:
        result[recipe.name] = BuildInputs(
            recipe=recipe.build_inputs(),
            patches={patch: file_sha256(book.patch_path(patch)) for patch in recipe.patches},
            toolchain={"identity": toolchain.identity, **toolchain.fingerprint},
            depends={name: result[name].identity for name in sorted(recipe.depends)},
        )
    return result
