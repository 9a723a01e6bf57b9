"""An installed package's manifest (`.cwpkg/installed/NAME.json`): what it is and which files it owns.

One reader and one writer. The reader checks every field's type and every file path (relative,
normal form, outside cwpkg's own `.cwpkg/`): a manifest comes from the sysroot, but also from a bundle
someone handed over, and its paths decide what cwpkg moves and deletes.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cwpkg.errors import IntegrityError
from cwpkg.fs import is_clean_relative, write_json_atomically
from cwpkg.names import SHA256_RE
from cwpkg.sysroot.layout import STATE_DIR

DIGEST = re.compile(r"[0-9a-f]{64}|-> .+", re.S)  # a file's sha256, or '-> target' for a symlink


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    files: dict[str, str] = field(default_factory=dict)  # relative path -> entry digest (sysroot.entry_digest)
    identity: str = ""  # the build identity (identity.py)
    archive_sha256: str = ""  # of the package archive the files came from
    depends: list[str] = field(default_factory=list)
    summary: str = ""
    license: str = ""
    homepage: str = ""
    sources: list[dict[str, str]] = field(default_factory=list)  # {"sha256", "location"}
    patches: list[dict[str, str]] = field(default_factory=list)  # {"path", "sha256"}
    toolchain: dict[str, str] = field(default_factory=dict)  # origin and fingerprint

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def is_package_path(path: object) -> bool:
    """A path a package may own: relative, in normal form, and not in cwpkg's state directory."""
    return is_clean_relative(path) and str(path).split("/", 1)[0] != STATE_DIR


def _is_str_dict(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def manifest_problem(document: object, name: str) -> str | None:
    """What is wrong with a manifest's JSON document for package `name`, or None."""
    if not isinstance(document, dict):
        return "not a JSON object"
    expected = {item for item in Manifest.__dataclass_fields__}
    if set(document) != expected:
        missing, extra = sorted(expected - set(document)), sorted(set(document) - expected)
        return "; ".join(filter(None, [missing and f"missing {', '.join(missing)}",
                                       extra and f"unknown {', '.join(extra)}"]))
    if document["name"] != name:
        return f"names package {document['name']!r}"
    for key in ("version", "identity", "archive_sha256", "summary", "license", "homepage"):
        if not isinstance(document[key], str):
            return f"{key} is not a string"
    for key in ("identity", "archive_sha256"):
        if document[key] and not SHA256_RE.fullmatch(document[key]):
            return f"{key} is not a sha256"
    if not _is_str_dict(document["files"]):
        return "files is not an object of strings"
    for path, digest in document["files"].items():
        if not is_package_path(path):
            return f"file path {path!r} is not a relative path inside the sysroot"
        if not DIGEST.fullmatch(digest):
            return f"file {path!r} has no sha256"
    if not isinstance(document["depends"], list) or not all(isinstance(d, str) for d in document["depends"]):
        return "depends is not a list of names"
    for key in ("sources", "patches"):
        if not isinstance(document[key], list) or not all(_is_str_dict(item) for item in document[key]):
            return f"{key} is not a list of objects"
    if not _is_str_dict(document["toolchain"]):
        return "toolchain is not an object of strings"
    return None


def manifest_from_json(document: object, name: str, where: str) -> Manifest:
    """The manifest in `document`; IntegrityError naming `where` if it is malformed."""
    problem = manifest_problem(document, name)
    if problem is not None:
        raise IntegrityError(f"{where}: malformed manifest of {name}: {problem}",
                             hint="it was not written by cwpkg; restore it, or remove the package's files and "
                                  "this manifest by hand, then install the package again")
    assert isinstance(document, dict)
    return Manifest(**document)


def read_manifest(path: Path, name: str) -> Manifest:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise IntegrityError(f"{path}: unreadable manifest of {name}: {error}",
                             hint="restore it, or remove the package's files and this manifest by hand, then "
                                  "install the package again") from None
    return manifest_from_json(document, name, str(path))


def write_manifest(path: Path, manifest: Manifest) -> None:
    write_json_atomically(path, manifest.to_json())
