"""Numeric settings from the environment (CWPKG_TIMEOUT and the like), checked where they are read."""

from __future__ import annotations

import math
import os

from cwpkg.errors import UsageError


def environment_number(name: str, default: int | float, kind: type[int] | type[float], meaning: str,
                       minimum: int | float = 0) -> int | float:
    """`name`'s value as `kind`, or `default` when unset or empty; a clear UsageError otherwise.

    `meaning` completes "must be ..." in the message, e.g. "a number of seconds, e.g. 30".
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        raise UsageError(f"{name}={raw!r} is not valid: it must be {meaning}"
                         + (f", at least {minimum}" if minimum else ""),
                         hint=f"set {name} to such a value, or unset it for the default ({default})")
    return value
