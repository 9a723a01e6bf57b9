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

# libyaml's parser when PyYAML was built with it: the same documents, several times faster to load.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> Any:
    """The YAML document in `path`; unreadable files and bad YAML are RecipeErrors naming the place."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
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
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(key, f"expected a string, got {type(value).__name__}")
        value = str(value)
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
