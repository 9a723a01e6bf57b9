"""Recipes: reading and validating recipes/NAME.yaml (and their suite: sections), the recipe book.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "RecipeBook": "book",
    "FieldReader": "fields",
    "load_yaml": "fields",
    "Recipe": "recipe",
    "Source": "recipe",
    "Suite": "suite_section",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
