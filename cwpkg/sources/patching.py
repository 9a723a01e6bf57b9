"""Applies unified diffs (`diff -u`, `git diff`) to a source tree, strictly.

A hunk applies only where its context and removed lines match exactly; it may have moved (offset),
but there is no fuzz, so a patch that no longer fits stops the build instead of changing the wrong
lines. Paths lose their first component (like `patch -p1`), must stay inside the tree, and are never
written through a symlink. Sections apply in order, each to what the sections before it left, so a
patch may change one file in several sections, as GNU patch allows. Git's extended headers are
honoured: new and deleted files with their modes, mode changes, renames, copies, and symlinks (whose
targets must stay inside the tree); binary patches are refused. Everything is computed first and
written only when every section applied, so a failing patch leaves the tree as it was.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cwpkg.errors import PatchError
from cwpkg.fs import resolve_inside

HUNK_RE = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@.*", re.S)
GIT_MODE_LINES = ("old mode ", "new mode ", "deleted file mode ", "new file mode ")
SYMLINK_MODE = "120000"
EXECUTABLE_MODE = "100755"


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
    old_mode: str | None = None  # from git's extended headers
    new_mode: str | None = None
    operation: str = "modify"  # or "rename", "copy"

    @property
    def target(self) -> str:
        path = self.new_path if self.new_path is not None else self.old_path
        assert path is not None
        return path


@dataclass
class _Entry:
    """A path's content as the patch sees it while applying: a file's lines, or a symlink's target."""

    kind: str  # "file" | "symlink" | "absent"
    lines: list[str] = field(default_factory=list)
    executable: bool = False


def split_lines(text: str) -> list[str]:
    """Lines with their ends, split at "\n" only: a CR stays part of its line (so CRLF files keep
    their line ends), and form feeds, which GNU sources hold, do not split anything."""
    return re.findall(r"[^\n]*\n|[^\n]+\Z", text)


def _header_path(line: str) -> str | None:
    path = line[4:].rstrip("\n").split("\t", 1)[0].strip()
    if path.startswith('"') and path.endswith('"'):
        path = path[1:-1]
    return None if path == "/dev/null" else path


def _git_paths(rest: str) -> tuple[str, str]:
    """The two paths of a `diff --git a/X b/Y` line."""
    if rest.startswith('"'):
        old, new = shlex.split(rest)[:2]
        return old, new
    words = rest.split(" ")
    for cut in range(1, len(words)):
        old, new = " ".join(words[:cut]), " ".join(words[cut:])
        if old[2:] == new[2:] or cut == len(words) - 1:
            return old, new
    raise ValueError(rest)


def parse_patch(text: str, patch_name: str) -> list[FilePatch]:
    lines = split_lines(text)
    files: list[FilePatch] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("diff --git "):
            index = _parse_git_header(lines, index, files, patch_name)
            continue
        if line.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            current = FilePatch(_header_path(line), _header_path(lines[index + 1]))
            files.append(current)
            index = _parse_hunks(lines, index + 2, current, patch_name)
            if not current.hunks:
                raise PatchError(f"{patch_name}: line {index}: {current.target} has a file header but no hunks "
                                 "(truncated patch?)")
            continue
        if line.startswith("Binary files "):
            raise PatchError(f"{patch_name}: line {index + 1}: {line.strip()}",
                             hint="cwpkg applies text patches only; ship the binary file another way")
        if line.startswith("@@"):
            raise PatchError(f"{patch_name}: line {index + 1}: hunk without a ---/+++ file header")
        index += 1
    if not files:
        raise PatchError(f"{patch_name}: no unified diff found in this file",
                         hint="create patches with `diff -u` or `git diff`")
    return files


def _parse_git_header(lines: list[str], index: int, files: list[FilePatch], patch_name: str) -> int:
    try:
        old, new = _git_paths(lines[index][len("diff --git "):].rstrip("\n"))
    except ValueError:
        raise PatchError(f"{patch_name}: line {index + 1}: cannot read the paths of {lines[index].strip()!r}") from None
    current = FilePatch(old, new)
    files.append(current)
    index += 1
    while index < len(lines) and not lines[index].startswith(("diff --git ", "--- ", "@@")):
        line = lines[index].rstrip("\n")
        if line.startswith(("GIT binary patch", "Binary files ")):
            raise PatchError(f"{patch_name}: line {index + 1}: binary patch for {current.target}",
                             hint="cwpkg applies text patches only; ship the binary file another way")
        if line.startswith("new file mode "):
            current.old_path, current.new_mode = None, line.split()[-1]
        elif line.startswith("deleted file mode "):
            current.new_path, current.old_mode = None, line.split()[-1]
        elif line.startswith(("old mode ", "new mode ")):
            setattr(current, "old_mode" if line.startswith("old") else "new_mode", line.split()[-1])
        elif line.startswith(("rename from ", "copy from ")):
            current.operation = line.split(" ", 1)[0]
            current.old_path = "a/" + line.split(" ", 2)[2]
        elif line.startswith(("rename to ", "copy to ")):
            current.new_path = "b/" + line.split(" ", 2)[2]
        elif line.startswith("index ") and len(line.split()) == 3:
            current.old_mode = current.new_mode = line.split()[2]
        elif not line.startswith(("index ", "similarity index ", "dissimilarity index ")):
            break
        index += 1
    if index < len(lines) and lines[index].startswith("--- ") and index + 1 < len(lines) \
            and lines[index + 1].startswith("+++ "):
        index = _parse_hunks(lines, index + 2, current, patch_name)
    return index


def _parse_hunks(lines: list[str], index: int, current: FilePatch, patch_name: str) -> int:
    while index < len(lines) and lines[index].startswith("@@"):
        index = _parse_hunk(lines, index, current, patch_name)
    return index


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


def _find(lines: list[str], wanted: list[str], expected: int) -> int | None:
    """The position nearest to `expected` where `wanted` matches exactly."""
    expected = min(max(expected, 0), len(lines))  # a header may claim any line number
    if not wanted:
        return expected
    last_start = len(lines) - len(wanted)
    for distance in range(0, max(expected, last_start - expected) + 1):
        for start in (expected - distance, expected + distance):
            if 0 <= start <= last_start and lines[start:start + len(wanted)] == wanted:
                return start
    return None


class _PatchedTree:
    """The tree as the sections applied so far leave it, in memory; written at the end."""

    def __init__(self, root: Path, patch_name: str) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.patch_name = patch_name
        self.entries: dict[str, _Entry] = {}  # changed paths, in the order first changed

    def relative(self, raw: str) -> str:
        parts = PurePosixPath(raw).parts
        if PurePosixPath(raw).is_absolute() or ".." in parts:
            raise PatchError(f"{self.patch_name}: refusing to touch {raw!r}, which is outside the source tree")
        if len(parts) < 2:
            raise PatchError(f"{self.patch_name}: path {raw!r} has no leading directory to strip "
                             "(expected a/..., b/...)")
        relative = str(PurePosixPath(*parts[1:]))
        path = self.root / relative
        if os.path.commonpath([self.real_root, os.path.realpath(path)]) != self.real_root:
            raise PatchError(f"{self.patch_name}: refusing to touch {relative!r}, which leads outside the source tree")
        for depth in range(1, len(parts) - 1):
            parent = "/".join(parts[1:depth + 1])
            kind = self.entry(parent).kind
            if kind == "symlink":
                raise PatchError(f"{self.patch_name}: refusing to write {relative!r} through the symlink {parent!r}")
            if kind == "file":
                raise PatchError(f"{self.patch_name}: cannot create {relative!r}: {parent!r} is a file")
        return relative

    def entry(self, relative: str) -> _Entry:
        if relative in self.entries:
            return self.entries[relative]
        path = self.root / relative
        if path.is_symlink():
            return _Entry("symlink", [os.readlink(path)])
        if path.is_file():
            lines = split_lines(path.read_bytes().decode("utf-8", errors="surrogateescape"))
            return _Entry("file", lines, bool(path.stat().st_mode & 0o111))
        return _Entry("absent")

    def link_at(self, parts: tuple[str, ...]) -> str | None:
        found = self.entry("/".join(parts))
        return "".join(found.lines) if found.kind == "symlink" else None

    def apply(self, file_patch: FilePatch) -> None:
        name = self.patch_name
        destination = self.relative(file_patch.target)
        source = self.relative(file_patch.old_path) if file_patch.old_path is not None else None
        current = self.entry(source) if source is not None else _Entry("absent")
        if file_patch.old_path is None:
            if self.entry(destination).kind != "absent":
                raise PatchError(f"{name}: creates {destination}, which already exists")
        elif current.kind == "absent":
            raise PatchError(f"{name}: {source} does not exist in the source tree")
        symlink = SYMLINK_MODE in (file_patch.old_mode, file_patch.new_mode)
        if current.kind == "symlink" and not symlink:
            raise PatchError(f"{name}: {source} is a symlink, and the patch changes it as a file",
                             hint="make the patch with git, which records symlinks as such")
        lines = list(current.lines)
        offset = 0
        for hunk in file_patch.hunks:
            expected = max(hunk.old_start - 1, 0) + offset
            start = _find(lines, hunk.old, expected)
            if start is None:
                first = hunk.old[0].rstrip("\n") if hunk.old else ""
                raise PatchError(
                    f"{name}: hunk #{hunk.number} of {source or destination} does not apply "
                    f"(expected at line {hunk.old_start}, starting {first!r})",
                    hint="refresh the patch against this source version",
                )
            lines[start:start + len(hunk.old)] = hunk.new
            offset = start - (hunk.old_start - 1) + len(hunk.new) - len(hunk.old)
        if file_patch.operation == "rename" and source is not None:
            self.entries[source] = _Entry("absent")
        if file_patch.new_path is None:
            if lines:
                raise PatchError(f"{name}: deletes {source}, but the file has more content than the patch removes")
            self.entries[destination] = _Entry("absent")
            return
        if symlink and file_patch.new_mode in (SYMLINK_MODE, None):
            target = "".join(lines)
            parts = tuple(destination.split("/")[:-1])
            if "\n" in target or not target or resolve_inside(parts, target, self.link_at) is None:
                raise PatchError(f"{name}: refusing symlink {destination} -> {target!r}, which leads outside the "
                                 "source tree")
            self.entries[destination] = _Entry("symlink", [target])
            return
        executable = current.executable if file_patch.new_mode is None else file_patch.new_mode == EXECUTABLE_MODE
        self.entries[destination] = _Entry("file", lines, executable)

    def write(self) -> list[Path]:
        """Each changed file is written beside itself and renamed into place: a hard link to it
        elsewhere in the tree keeps the old content, as with GNU patch."""
        for relative, entry in self.entries.items():
            path = self.root / relative
            if entry.kind == "absent":
                if path.is_symlink() or path.exists():
                    path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.cwpkg-patch")
            temporary.unlink(missing_ok=True)
            if entry.kind == "symlink":
                os.symlink(entry.lines[0], temporary)
            else:
                mode = path.stat().st_mode & 0o7777 if path.is_file() and not path.is_symlink() else 0o644
                temporary.write_bytes("".join(entry.lines).encode("utf-8", errors="surrogateescape"))
                os.chmod(temporary, (mode | 0o111) if entry.executable else (mode & ~0o111))
            os.replace(temporary, path)
        return [self.root / relative for relative in self.entries]


def apply_patch(root: Path, patch_file: Path, display_name: str | None = None) -> list[Path]:
    """Applies one patch file to the tree at `root`; returns the paths it changed."""
    name = display_name or str(patch_file)
    try:
        text = patch_file.read_bytes().decode("utf-8", errors="surrogateescape")
    except OSError as error:
        raise PatchError(f"{name}: cannot read: {error}") from None
    tree = _PatchedTree(root, name)
    for file_patch in parse_patch(text, name):
        tree.apply(file_patch)
    return tree.write()
