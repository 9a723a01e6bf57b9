"""Strict reading of YAML documents (recipes, toolchain recipes): typed fields, no unknown keys.

Every error names the file, the key and what is wrong.
"""

from __future__ import annotations

import re
import string
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from cwpkg.errors import RecipeError


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader (libyaml's when PyYAML has it: several times faster) that refuses a key given
    twice in one mapping, where YAML itself would silently keep the last one."""

    def construct_mapping(self, node, deep=False):
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key must be a plain value, not {type(key).__name__}", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path) -> Any:
    """The YAML document in `path`; unreadable files and bad YAML are RecipeErrors naming the place."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise RecipeError(f"{path}: invalid YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError(f"{path}: cannot read: {error}") from None


class FieldReader:
    """Walks one recipe's YAML mapping, checking types and rejecting unknown keys."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> RecipeError:
        return RecipeError(f"{self.path}: key '{key}': {problem}")

    def mapping(self, value: Any, key: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        for name in value:
            if name not in allowed:
                raise self.fail(
                    f"{key}.{name}" if key else str(name),
                    f"unknown key (allowed here: {', '.join(sorted(allowed))})",
                )
        for name in sorted(required):
            if name not in value:
                raise self.fail(f"{key}.{name}" if key else name, "missing (required)")
        return value

    def text(self, value: Any, key: str, pattern: re.Pattern[str] | None = None) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # YAML reads 1.10 as 1.1 and 0123 as 123: a number is never silently made text again.
            raise self.fail(key, f"expected a string, got the number {value!r}; quote it: '...'")
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {type(value).__name__}")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(key, f"{value!r} does not match {pattern.pattern}")
        return value

    def strings(self, value: Any, key: str, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {type(value).__name__}")
        return tuple(self.text(item, f"{key}[{index}]", pattern) for index, item in enumerate(value))

    def relative_path(self, value: Any, key: str) -> str:
        text = self.text(value, key)
        path = PurePosixPath(text)
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise self.fail(key, f"{text!r} must be a relative path without '..'")
        return text

    def placeholders(self, value: str, key: str, allowed: frozenset[str]) -> str:
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
        except ValueError as error:
            raise self.fail(key, f"bad placeholder syntax in {value!r}: {error} (write {{{{ for a literal brace)") from None
        for field in fields:
            if field not in allowed:
                raise self.fail(key, f"unknown placeholder {{{field}}} (known: {', '.join(sorted(allowed))})")
        return value
