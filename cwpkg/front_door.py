"""A stage package's front door: its __init__ names what it offers, each imported when first asked for.

Importing a package must not import all of its modules: `cwpkg link` would pay for the build engine,
`cwpkg recipes` for the toolchain. So a package lists what other stages use (name -> module) and
imports each name from its module on first access (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def front_door(package: str, offers: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of `package`, whose `offers` map each name to its module."""

    def __getattr__(name: str) -> Any:
        module = offers.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted(offers)

    return __getattr__, __dir__
