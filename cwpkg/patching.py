"""Applies unified diffs (`diff -u`, `git diff`) to a source tree, strictly.

A hunk applies only where its context and removed lines match exactly; it may have moved (offset),
but there is no fuzz, so a patch that no longer fits stops the build instead of changing the wrong
lines. Paths lose their first component (like `patch -p1`), must stay inside the tree and may not
go through symlinks out of it. All files of a patch are computed first and written only when every
hunk applied, so a failing patch leaves the tree as it was.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cwpkg.errors import PatchError

HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class Hunk:
    number: int
    old_start: int
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)


@dataclass
class FilePatch:
    old_path: str | None  # None for a created file
    new_path: str | None  # None for a deleted file
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def target(self) -> str:
        path = self.new_path if self.new_path is not None else self.old_path
        assert path is not None
        return path


def _header_path(line: str) -> str | None:
    path = line[4:].rstrip("\n").split("\t", 1)[0].strip()
    if path.startswith('"') and path.endswith('"'):
        path = path[1:-1]
    return None if path == "/dev/null" else path


def parse_patch(text: str, patch_name: str) -> list[FilePatch]:
    lines = text.splitlines(keepends=True)
    files: list[FilePatch] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            current = FilePatch(_header_path(line), _header_path(lines[index + 1]))
            files.append(current)
            index += 2
            while index < len(lines) and lines[index].startswith("@@"):
                index = _parse_hunk(lines, index, current, patch_name)
            continue
        if line.startswith("@@"):
            raise PatchError(f"{patch_name}: line {index + 1}: hunk without a ---/+++ file header")
        index += 1
    if not files:
        raise PatchError(f"{patch_name}: no unified diff found in this file",
                         hint="create patches with `diff -u` or `git diff`")
    return files


def _parse_hunk(lines: list[str], index: int, current: FilePatch, patch_name: str) -> int:
    match = HUNK_RE.match(lines[index])
    if not match:
        raise PatchError(f"{patch_name}: line {index + 1}: malformed hunk header {lines[index].strip()!r}")
    old_count = int(match.group(2)) if match.group(2) is not None else 1
    new_count = int(match.group(4)) if match.group(4) is not None else 1
    hunk = Hunk(number=len(current.hunks) + 1, old_start=int(match.group(1)))
    index += 1
    last: list[list[str]] = []
    while index < len(lines) and (len(hunk.old) < old_count or len(hunk.new) < new_count
                                  or lines[index].startswith("\\")):
        line = lines[index]
        marker, body = line[:1], line[1:]
        if marker == "\\":  # "\ No newline at end of file" applies to the line before
            for side in last:
                side[-1] = side[-1].rstrip("\n")
        elif marker == " " or line in ("\n", "\r\n"):
            body = body if marker == " " else line
            hunk.old.append(body)
            hunk.new.append(body)
            last = [hunk.old, hunk.new]
        elif marker == "-":
            hunk.old.append(body)
            last = [hunk.old]
        elif marker == "+":
            hunk.new.append(body)
            last = [hunk.new]
        else:
            break
        index += 1
    if len(hunk.old) != old_count or len(hunk.new) != new_count:
        raise PatchError(f"{patch_name}: hunk #{hunk.number} for {current.target}: its lines do not match "
                         f"the counts in its header (truncated patch?)")
    current.hunks.append(hunk)
    return index


def _tree_path(root: Path, raw: str, patch_name: str) -> tuple[str, Path]:
    parts = PurePosixPath(raw).parts
    if PurePosixPath(raw).is_absolute() or ".." in parts:
        raise PatchError(f"{patch_name}: refusing to touch {raw!r}, which is outside the source tree")
    if len(parts) < 2:
        raise PatchError(f"{patch_name}: path {raw!r} has no leading directory to strip (expected a/..., b/...)")
    relative = str(PurePosixPath(*parts[1:]))
    path = root / relative
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
        raise PatchError(f"{patch_name}: refusing to touch {relative!r}, which leads outside the source tree")
    return relative, path


def _find(lines: list[str], wanted: list[str], expected: int) -> int | None:
    """The position nearest to `expected` where `wanted` matches exactly."""
    if not wanted:
        return min(max(expected, 0), len(lines))
    last_start = len(lines) - len(wanted)
    for distance in range(0, max(expected, last_start - expected) + 1):
        for start in (expected - distance, expected + distance):
            if 0 <= start <= last_start and lines[start:start + len(wanted)] == wanted:
                return start
    return None


def _apply_file(root: Path, file_patch: FilePatch, patch_name: str) -> tuple[Path, list[str] | None]:
    relative, path = _tree_path(root, file_patch.target, patch_name)
    if file_patch.old_path is None:
        if path.exists():
            raise PatchError(f"{patch_name}: creates {relative}, which already exists")
        lines: list[str] = []
    else:
        if not path.is_file():
            raise PatchError(f"{patch_name}: {relative} does not exist in the source tree")
        lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines(keepends=True)
    offset = 0
    for hunk in file_patch.hunks:
        expected = max(hunk.old_start - 1, 0) + offset
        start = _find(lines, hunk.old, expected)
        if start is None:
            first = hunk.old[0].rstrip("\n") if hunk.old else ""
            raise PatchError(
                f"{patch_name}: hunk #{hunk.number} of {relative} does not apply "
                f"(expected at line {hunk.old_start}, starting {first!r})",
                hint="refresh the patch against this source version",
            )
        lines[start:start + len(hunk.old)] = hunk.new
        offset = start - (hunk.old_start - 1) + len(hunk.new) - len(hunk.old)
    if file_patch.new_path is None:
        if lines:
            raise PatchError(f"{patch_name}: deletes {relative}, but the file has more content than the patch removes")
        return path, None
    return path, lines


def apply_patch(root: Path, patch_file: Path, display_name: str | None = None) -> list[Path]:
    """Applies one patch file to the tree at `root`; returns the files it changed."""
    name = display_name or str(patch_file)
    try:
        text = patch_file.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as error:
        raise PatchError(f"{name}: cannot read: {error}") from None
    results = [_apply_file(root, file_patch, name) for file_patch in parse_patch(text, name)]
    for path, lines in results:
        if lines is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode if path.exists() else None
        path.write_text("".join(lines), encoding="utf-8", errors="surrogateescape")
        if mode is not None:
            os.chmod(path, mode)
    return [path for path, _ in results]
