"""`cwpkg.lock`: what a sysroot was built from and what each build produced, to rebuild it exactly.

For every package: recipe version, source and patch checksums, the build identity (the hash of all
build inputs, toolchain and dependencies included), the parts of it a person can read, and the
sha256 of the built package archive. `cwpkg install --locked` refuses a build whose inputs differ
and names the input; a build whose archive differs from the lock is not installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cwpkg.errors import RecipeError, UsageError
from cwpkg.fs import json_text, value_sha256, write_text_atomically
from cwpkg.names import NAME_RE, SHA256_RE

if TYPE_CHECKING:
    from cwpkg.builds import BuildInputs

LOCK_FORMAT = 1
ENTRY_KEYS = {"version", "sources", "patches", "settings", "toolchain", "depends", "identity", "archive_sha256"}
LOCK_NAME = "cwpkg.lock"  # beside the recipes, unless --lockfile or CWPKG_LOCK says otherwise


@dataclass(frozen=True)
class LockedPackage:
    name: str
    fields: dict[str, Any]

    @property
    def identity(self) -> str:
        return self.fields["identity"]

    @property
    def archive_sha256(self) -> str:
        return self.fields["archive_sha256"]


def lock_fields(version: str, inputs: BuildInputs, archive_sha256: str) -> dict[str, Any]:
    """One package's lock entry, from its build inputs."""
    return {
        "version": version,
        "sources": inputs.source_digests,
        "patches": dict(inputs.patches),
        "settings": value_sha256(inputs.settings),
        "toolchain": inputs.toolchain_identity,
        "depends": dict(inputs.depends),
        "identity": inputs.identity,
        "archive_sha256": archive_sha256,
    }


def write_lock(path: Path, packages: dict[str, dict[str, Any]]) -> None:
    document = {"cwpkg_lock": LOCK_FORMAT, "packages": dict(sorted(packages.items()))}
    write_text_atomically(path, json_text(document))


def read_lock(path: Path) -> dict[str, LockedPackage]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no lockfile here", hint="write one with `cwpkg lock --all`") from None
    except (OSError, ValueError) as error:
        raise RecipeError(f"{path}: not a cwpkg lockfile: {error}", hint="write it again with `cwpkg lock`") from None
    if not isinstance(document, dict) or type(document.get("cwpkg_lock")) is not int \
            or document["cwpkg_lock"] != LOCK_FORMAT \
            or not isinstance(document.get("packages"), dict):
        raise RecipeError(f"{path}: not a cwpkg lockfile of format {LOCK_FORMAT}",
                          hint="write it again with `cwpkg lock`")
    locked = {}
    for name, fields in document["packages"].items():
        if not isinstance(name, str) or not NAME_RE.fullmatch(name) or not _well_formed(fields):
            raise RecipeError(f"{path}: entry {name!r} is malformed (it needs exactly {', '.join(sorted(ENTRY_KEYS))}, "
                              "each of its type)", hint="write it again with `cwpkg lock`")
        locked[name] = LockedPackage(name, fields)
    return locked


def _well_formed(fields: object) -> bool:
    """An entry as lock_fields makes it: strings, checksums, and the names of patches and dependencies."""
    if not isinstance(fields, dict) or set(fields) != ENTRY_KEYS:
        return False

    def digests(value: object) -> bool:
        return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) and SHA256_RE.fullmatch(v)
                                               for k, v in value.items())

    return (isinstance(fields["version"], str) and isinstance(fields["sources"], list)
            and all(isinstance(item, str) and SHA256_RE.fullmatch(item) for item in fields["sources"])
            and digests(fields["patches"]) and digests(fields["depends"])
            and all(NAME_RE.fullmatch(name) for name in fields["depends"])
            and all(isinstance(fields[key], str) and SHA256_RE.fullmatch(fields[key])
                    for key in ("settings", "toolchain", "identity", "archive_sha256")))


def describe_difference(locked: LockedPackage, now: dict[str, Any]) -> str:
    """What changed between the lock's entry and the fields the current recipes give."""
    changes = []
    for key in ("version", "sources", "settings", "toolchain"):
        if locked.fields[key] != now[key]:
            changes.append(f"{key} {locked.fields[key]} -> {now[key]}")
    for patch in sorted(set(locked.fields["patches"]) | set(now["patches"])):
        before, after = locked.fields["patches"].get(patch), now["patches"].get(patch)
        if before != after:
            changes.append(f"patch {patch} " + ("added" if before is None else "removed" if after is None
                                                else f"sha256 {before[:12]} -> {after[:12]}"))
    for dependency in sorted(set(locked.fields["depends"]) | set(now["depends"])):
        if locked.fields["depends"].get(dependency) != now["depends"].get(dependency):
            changes.append(f"dependency {dependency} changed")
    return "; ".join(changes) or "build identity differs"
