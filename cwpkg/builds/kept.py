"""Build trees that `cwpkg install --keep-build-trees` keeps, for `cwpkg test` to run a suite in.

An upstream suite runs in the package's build tree. Without a kept tree `cwpkg test` builds the
package again; an install that keeps its trees saves that second build. A tree stays where it was
built (its makefiles and CMake cache record that place), in the cache's `tmp/`, and the sysroot
records it in `.cwpkg/trees/NAME.json` with the identity of that build and the sysroot it was built
against. `cwpkg test` takes a tree only for the identity installed in the same sysroot, and once:
the suite changes the tree (test programs are replaced by scripts), so it is not used twice. A
later build of the package drops the tree an earlier one kept.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cwpkg.fs import write_json_atomically
from cwpkg.places import cache_dir, remove_empty_directories
from cwpkg.sysroot import Sysroot


def _record_path(sysroot: Sysroot, name: str) -> Path:
    return sysroot.state / "trees" / f"{name}.json"


def _ours(path: Path, name: str) -> bool:
    """A tree that a build of `name` made in this cache's tmp/: the only kind ever removed or used
    (a record naming anything else is ignored)."""
    scratch = cache_dir() / "tmp"
    return path.parent == scratch and path.name.startswith(f"build-{name}-") and path.is_dir() \
        and not path.is_symlink()


def remove_tree(path: Path) -> None:
    """Removes a kept tree (once a suite ran in it), and the cache's tmp/ if that is left empty."""
    shutil.rmtree(path, ignore_errors=True)
    remove_empty_directories(path.parent, path.parent)


def _claim(sysroot: Sysroot, name: str) -> dict | None:
    """Reads and removes `name`'s record; None when there is none (or another run took it first)."""
    record = _record_path(sysroot, name)
    try:
        text = record.read_text(encoding="utf-8")
        record.unlink()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    remove_empty_directories(record.parent, record.parent)
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) and all(isinstance(value.get(key), str)
                                                    for key in ("identity", "path", "sysroot")) else None


def discard_tree(sysroot: Sysroot, name: str) -> None:
    """Drops the tree kept for `name`, if any: a new build makes it stale."""
    value = _claim(sysroot, name)
    if value is not None and _ours(Path(value["path"]), name):
        remove_tree(Path(value["path"]))


def keep_tree(sysroot: Sysroot, name: str, identity: str, tree: Path) -> None:
    """Records `tree`, where the build of `name` with `identity` ran, dropping an older kept one."""
    discard_tree(sysroot, name)
    record = _record_path(sysroot, name)
    record.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(record,
                          {"identity": identity, "path": str(tree), "sysroot": str(sysroot.root)})


def take_tree(sysroot: Sysroot, name: str, identity: str) -> Path | None:
    """The tree kept from the build of `name` with `identity` against this sysroot, now the caller's
    (to remove when done); None if there is none. A kept tree of another build is removed."""
    value = _claim(sysroot, name)
    if value is None:
        return None
    tree = Path(value["path"])
    if not _ours(tree, name):
        return None
    if value["identity"] != identity or value["sysroot"] != str(sysroot.root):
        remove_tree(tree)
        return None
    return tree
