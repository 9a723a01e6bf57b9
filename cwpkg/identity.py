"""A package's build identity: the hash of everything that decides its built files.

Recipe build settings and source checksums, each patch's checksum, the toolchain fingerprint, cwpkg's
own build logic version and the identities of the dependencies (so a change propagates to exactly
the packages that depend on what changed).
"""

from __future__ import annotations

from typing import Any

from cwpkg.digest import file_sha256, value_sha256
from cwpkg.recipe import Recipe
from cwpkg.recipebook import RecipeBook
from cwpkg.toolchain import Toolchain

# Bump when a change to cwpkg changes what a build produces (flags, layout, archive format).
BUILD_LOGIC_VERSION = 2


def identity_inputs(recipe: Recipe, book: RecipeBook, toolchain: Toolchain,
                    dependency_identities: dict[str, str]) -> dict[str, Any]:
    return {
        "recipe": recipe.build_inputs(),
        "patches": [{"path": patch, "sha256": file_sha256(book.patch_path(patch))} for patch in recipe.patches],
        "toolchain": {"identity": toolchain.identity, **toolchain.fingerprint},
        "build_logic": BUILD_LOGIC_VERSION,
        "depends": {name: dependency_identities[name] for name in sorted(recipe.depends)},
    }


def plan_identities(recipes: list[Recipe], book: RecipeBook, toolchain: Toolchain) -> dict[str, tuple[str, dict]]:
    """name -> (identity, inputs) for recipes given in dependency order."""
    result: dict[str, tuple[str, dict]] = {}
    for recipe in recipes:
        inputs = identity_inputs(recipe, book, toolchain, {name: result[name][0] for name in recipe.depends})
        result[recipe.name] = (value_sha256(inputs), inputs)
    return result
