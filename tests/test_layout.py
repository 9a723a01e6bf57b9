"""The package layout: every import points down the pipeline, never back up or sideways, and no cycles."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from helpers import REPO

PACKAGE = REPO / "cwpkg"

# Lower rank first. A module may import modules of its own package and of packages of a lower rank;
# packages of the same rank are independent of each other. Top-level modules are the base (rank 0).
RANKS: dict[str, int] = {
    "fs": 1,
    "recipes": 2,
    "sources": 3,
    "wasm": 4,
    "toolchain": 5,
    "sysroot": 6,
    "builds": 7, "crystal": 7,
    "repro": 8, "link": 8, "bindings": 8,
    "testing": 9,  # recipes' test programs and suites are linked as programs are
    "cli": 10,
}


def _package_of(module: str) -> str:
    """'cwpkg.builds.engine' -> 'builds'; a top-level module ('cwpkg.errors') is the base, ''."""
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in RANKS else ""


def _module_name(path: Path) -> str:
    relative = path.relative_to(REPO).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _front_door(package: str) -> dict[str, str]:
    """What a stage package's __init__ offers: name -> module (its OFFERS)."""
    tree = ast.parse((PACKAGE / package / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "OFFERS" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def _imports(path: Path) -> set[str]:
    """The cwpkg modules that a file imports: `from cwpkg.x import y` counts y when it is a module,
    and a name from a package's front door counts the module the front door takes it from."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "cwpkg":
            parts = node.module.split(".")
            offers = _front_door(parts[1]) if len(parts) == 2 and parts[1] in RANKS else {}
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (REPO / Path(*candidate.split("."))).with_suffix(".py").exists() or \
                    (REPO / Path(*candidate.split("."))).is_dir()
                if is_module:
                    found.add(candidate)
                elif alias.name in offers:
                    found.add(f"{node.module}.{offers[alias.name]}")
                else:
                    found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "cwpkg"}
    return found


def _graph() -> dict[str, set[str]]:
    return {_module_name(path): _imports(path) for path in PACKAGE.rglob("*.py")}


def test_every_package_has_a_rank():
    packages = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    assert packages == set(RANKS)


def test_front_doors_offer_what_their_modules_define():
    for package in RANKS:
        for name, module in _front_door(package).items():
            assert hasattr(importlib.import_module(f"cwpkg.{package}.{module}"), name), f"cwpkg.{package}: {name}"


def test_imports_point_down_the_pipeline():
    wrong = []
    for module, imported in _graph().items():
        if module in ("cwpkg.__main__",):
            continue
        here = _package_of(module)
        for target in imported:
            there = _package_of(target)
            if there == here or target == "cwpkg":
                continue
            if RANKS.get(there, 0) >= RANKS.get(here, 0):
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]) if target in path else target)
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
