"""All recipes of a checkout, looked up by name and put in dependency order."""

from __future__ import annotations

from pathlib import Path

from cwpkg.dependencies import DependencyCycle, dependency_order
from cwpkg.errors import RecipeError, UsageError
from cwpkg.recipes.recipe import Recipe, load_recipe


class RecipeBook:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.recipes_dir = root / "recipes"
        self.patches_dir = root / "patches"
        self._recipes: dict[str, Recipe] = {}
        for path in sorted(self.recipes_dir.glob("*.yaml")):
            recipe = load_recipe(path)
            self._recipes[recipe.name] = recipe
        for recipe in self._recipes.values():
            for key, names in (("depends", recipe.depends), ("companions", recipe.companions)):
                for dependency in names:
                    if dependency not in self._recipes:
                        raise RecipeError(
                            f"{recipe.path}: key '{key}': no recipe named {dependency!r}",
                            hint=f"add recipes/{dependency}.yaml or remove it from {key}",
                        )
            for patch in recipe.patches:
                patch_path = self.patch_path(patch)
                if not patch_path.is_file():
                    raise RecipeError(f"{recipe.path}: key 'patches': {patch_path} does not exist")
            if recipe.test is not None and not self.test_program_path(recipe).is_file():
                raise RecipeError(f"{recipe.path}: key 'test.program': {self.test_program_path(recipe)} does not exist")

    def names(self) -> list[str]:
        return sorted(self._recipes)

    def get(self, name: str) -> Recipe:
        try:
            return self._recipes[name]
        except KeyError:
            raise UsageError(
                f"unknown package {name!r}", hint=f"known packages: {', '.join(self.names()) or '(none)'}"
            ) from None

    def patch_path(self, patch: str) -> Path:
        """A recipe's patch file; recipe validation already refused absolute paths and '..'."""
        return self.patches_dir / patch

    def test_program_path(self, recipe: Recipe) -> Path:
        assert recipe.test is not None
        return self.recipes_dir / recipe.test.program

    def with_dependencies(self, names: list[str]) -> list[Recipe]:
        """The named recipes, their companions and everything they depend on, each after its dependencies."""
        wanted = list(dict.fromkeys(names))
        for name in wanted:  # grows while it is walked: companions of companions, and their dependencies'
            for other in (*self.get(name).depends, *self.get(name).companions):
                if other not in wanted:
                    wanted.append(other)
        try:
            ordered = dependency_order(wanted, lambda name: self.get(name).depends)
        except DependencyCycle as cycle:
            raise RecipeError(f"{self._recipes[cycle.chain[0]].path}: key 'depends': dependency cycle {cycle}",
                              hint="remove one of these dependencies") from None
        return [self.get(name) for name in ordered]
