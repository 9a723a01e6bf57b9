"""Paths inside a tree: which relative paths are acceptable, and where a symlink really leads.

Archives, bundles, manifests and patches all name files by relative paths that must stay inside
their tree. A lexical check of each symlink alone is not enough: a link may point through another
link (`up -> ..`, then `escape -> up/..`), so targets are resolved the way the kernel would, following
every link that the tree holds or will hold, and refused when they leave it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

# How many links one resolution may follow (Linux's own limit), so that loops end.
MAX_LINK_HOPS = 40

# What the tree holds at a relative path (as a tuple of parts): a symlink's target, or None for a
# directory, a file or nothing (which then resolve lexically).
LinkLookup = Callable[[tuple[str, ...]], "str | None"]


def is_clean_relative(path: object) -> bool:
    """A non-empty relative POSIX path in normal form: no '', '.', '..' parts, no backslash or NUL."""
    if not isinstance(path, str) or not path or "\0" in path or "\\" in path or path.startswith("/"):
        return False
    try:
        path.encode("utf-8")  # a name that is not UTF-8 (held as surrogates) cannot be recorded in JSON
    except UnicodeEncodeError:
        return False
    parts = path.split("/")
    return all(part not in ("", ".", "..") for part in parts)


def resolve_inside(start: tuple[str, ...], target: str, link_at: LinkLookup) -> tuple[str, ...] | None:
    """Where `target`, followed from the directory `start`, leads: its parts relative to the tree's
    root, every symlink on the way followed. None when it leaves the tree, is absolute, or loops."""
    if target.startswith("/"):
        return None
    resolved = list(start)
    pending = [part for part in target.split("/")]
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        link = link_at((*resolved, part))
        if link is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > MAX_LINK_HOPS or link.startswith("/"):
            return None
        pending = link.split("/") + pending  # relative to the link's own directory: `resolved`
    return tuple(resolved)


def parts_of(path: str | PurePosixPath) -> tuple[str, ...]:
    return tuple(part for part in str(path).split("/") if part not in ("", "."))
