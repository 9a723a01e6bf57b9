"""Putting names in dependency order: each after what it depends on (recipes, locked packages)."""

from __future__ import annotations

from collections.abc import Callable, Iterable


class DependencyCycle(Exception):
    """`chain` depends on itself: its first name is its last."""

    def __init__(self, chain: list[str]) -> None:
        super().__init__(" -> ".join(chain))
        self.chain = chain


def dependency_order(names: Iterable[str], depends_on: Callable[[str], Iterable[str]]) -> list[str]:
    """`names` and everything they depend on, each after its dependencies, in the order first reached."""
    ordered: list[str] = []
    state: dict[str, str] = {}  # name -> "visiting" | "done"

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise DependencyCycle(chain[chain.index(name):] + [name])
        state[name] = "visiting"
        for dependency in depends_on(name):
            visit(dependency, chain + [name])
        state[name] = "done"
        ordered.append(name)

    for name in names:
        visit(name, [])
    return ordered
