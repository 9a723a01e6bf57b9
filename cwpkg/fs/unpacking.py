"""Safe extraction of source and package archives (tar.gz, tar.bz2, tar.xz, tar, zip).

Every member is checked before anything is written: no absolute paths, no '..', no links that
resolve outside the destination (following the archive's other links, as the kernel would), no
device files or FIFOs, no duplicate entries, and a bound on the total size. Package archives and
bundles, which cwpkg itself writes without hard links, may not hold any. Extraction happens in a fresh directory next to the destination, which is renamed into
place only when everything succeeded; a refused archive leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cwpkg.errors import UnsafeArchiveError
from cwpkg.fs.tree_paths import parts_of, resolve_inside
from cwpkg.settings import environment_number

DEFAULT_SIZE_LIMIT = 4 << 30
# Each entry costs a file system at least an inode and a block: entries count toward the size limit
# with this overhead, and no archive may hold more than MAX_ENTRIES (GCC's source tree has ~120,000).
ENTRY_OVERHEAD = 512
MAX_ENTRIES = 500_000


@dataclass
class Member:
    name: str  # normalized relative POSIX path (top directory already stripped if asked)
    kind: str  # "file" | "dir" | "symlink" | "hardlink"
    size: int
    mode: int
    target: str = ""  # for links
    source: object = None  # the tarfile.TarInfo or zipfile.ZipInfo
    mtime: float = 0.0  # kept: autotools trees rely on configure being newer than configure.ac


def unpack(archive: Path, destination: Path, *, strip_top: bool, size_limit: int | None = None,
           allow_hardlinks: bool = True) -> None:
    """Extracts `archive` into `destination`, which must not exist yet."""
    limit = size_limit if size_limit is not None else environment_number(
        "CWPKG_MAX_UNPACK", DEFAULT_SIZE_LIMIT, int, "a number of bytes, e.g. 8589934592")
    staging = destination.with_name(destination.name + ".unpacking")
    if staging.exists():
        shutil.rmtree(staging)
    try:
        if zipfile.is_zipfile(archive):
            _unpack_zip(archive, staging, strip_top, limit)
        else:
            _unpack_tar(archive, staging, strip_top, limit, allow_hardlinks)
        os.replace(staging, destination)
    except UnsafeArchiveError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise UnsafeArchiveError(f"{archive}: corrupt or truncated archive ({_reason(error)})",
                                 hint="delete the file and fetch it again") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200]


def _normalize(archive: Path, raw_name: str) -> PurePosixPath:
    name = raw_name.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{archive}: refusing absolute path {raw_name!r}")
    parts = [part for part in path.parts if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"{archive}: refusing path with '..': {raw_name!r}")
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _strip(archive: Path, members: list[Member], strip_top: bool) -> list[Member]:
    """Drops the single top directory that source tarballs have (e.g. gc-8.2.2/)."""
    members = [m for m in members if m.name != "."]
    if not strip_top:
        return members
    tops = {PurePosixPath(m.name).parts[0] for m in members}
    if len(tops) != 1:
        return members
    top = tops.pop()
    if any(m.name == top and m.kind != "dir" for m in members):
        return members
    stripped = []
    for member in members:
        parts = PurePosixPath(member.name).parts[1:]
        if not parts:
            continue
        member.name = str(PurePosixPath(*parts))
        if member.kind == "hardlink":
            target_parts = PurePosixPath(member.target).parts
            if target_parts[:1] == (top,):
                member.target = str(PurePosixPath(*target_parts[1:]))
        stripped.append(member)
    return stripped


def _count(archive: Path, members: list[Member]) -> None:
    if len(members) >= MAX_ENTRIES:
        raise UnsafeArchiveError(f"{archive}: holds more than {MAX_ENTRIES} entries")


def _check(archive: Path, members: list[Member], limit: int) -> None:
    seen: set[str] = set()
    total = 0
    kinds = {m.name: m.kind for m in members}
    link_targets = {parts_of(m.name): m.target for m in members if m.kind == "symlink"}
    for member in members:
        if member.name in seen and member.kind != "dir":
            raise UnsafeArchiveError(f"{archive}: duplicate entry {member.name!r}")
        seen.add(member.name)
        total += member.size + ENTRY_OVERHEAD
        if total > limit:
            raise UnsafeArchiveError(
                f"{archive}: unpacks to more than {limit} bytes (entry {member.name!r} claims {member.size})",
                hint="raise CWPKG_MAX_UNPACK if this archive is really that large",
            )
        if member.kind == "symlink":
            resolved = resolve_inside(parts_of(PurePosixPath(member.name).parent), member.target, link_targets.get)
            if resolved is None:
                raise UnsafeArchiveError(
                    f"{archive}: refusing symlink {member.name!r} -> {member.target!r} pointing outside the archive"
                )
        if member.kind == "hardlink":
            raw = PurePosixPath(member.target)
            if raw.is_absolute() or ".." in raw.parts:
                raise UnsafeArchiveError(
                    f"{archive}: refusing hard link {member.name!r} -> {member.target!r} pointing outside the archive"
                )
            target = _normalize(archive, member.target)
            if kinds.get(str(target)) != "file":
                raise UnsafeArchiveError(
                    f"{archive}: refusing hard link {member.name!r} -> {member.target!r} to something not in the archive"
                )
            member.target = str(target)
    # A path below a symlink would be written through the link.
    links = {m.name for m in members if m.kind == "symlink"}
    for member in members:
        for parent in PurePosixPath(member.name).parents:
            if str(parent) in links:
                raise UnsafeArchiveError(f"{archive}: refusing entry {member.name!r} below symlink {str(parent)!r}")


def _file_mode(mode: int) -> int:
    return 0o755 if mode & 0o111 else 0o644


def _unpack_tar(archive: Path, staging: Path, strip_top: bool, limit: int, allow_hardlinks: bool) -> None:
    with tarfile.open(archive, "r:*") as tar:
        members = []
        for info in tar:
            _count(archive, members)
            name = str(_normalize(archive, info.name))
            if info.isfile():
                members.append(Member(name, "file", info.size, info.mode, source=info, mtime=info.mtime))
            elif info.isdir():
                members.append(Member(name, "dir", 0, info.mode, source=info))
            elif info.issym():
                members.append(Member(name, "symlink", 0, info.mode, target=info.linkname, source=info))
            elif info.islnk():
                if not allow_hardlinks:
                    raise UnsafeArchiveError(f"{archive}: refusing hard link {info.name!r} -> {info.linkname!r}: "
                                             "cwpkg's archives never hold hard links")
                members.append(Member(name, "hardlink", 0, info.mode, target=info.linkname, source=info))
            elif info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE):
                continue
            else:
                kind = {tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device",
                        tarfile.FIFOTYPE: "FIFO"}.get(info.type, f"entry of type {info.type!r}")
                raise UnsafeArchiveError(f"{archive}: refusing {kind} {info.name!r}")
        members = _strip(archive, members, strip_top)
        _check(archive, members, limit)
        _write_members(archive, staging, members, lambda member: tar.extractfile(member.source))


def _copy_bounded(source, out, size: int) -> int:
    copied = 0
    while copied < size:
        block = source.read(min(1 << 20, size - copied))
        if not block:
            break
        out.write(block)
        copied += len(block)
    return copied


def _unpack_zip(archive: Path, staging: Path, strip_top: bool, limit: int) -> None:
    with zipfile.ZipFile(archive) as bundle:
        members = []
        for info in bundle.infolist():
            _count(archive, members)
            name = str(_normalize(archive, info.filename))
            unix_mode = info.external_attr >> 16
            if info.is_dir():
                members.append(Member(name, "dir", 0, 0o755, source=info))
            elif stat.S_ISLNK(unix_mode):
                target = bundle.read(info).decode("utf-8", "replace")
                members.append(Member(name, "symlink", 0, 0o777, target=target, source=info))
            elif stat.S_IFMT(unix_mode) not in (0, stat.S_IFREG):  # 0: no type recorded, a plain file
                raise UnsafeArchiveError(f"{archive}: refusing special file {info.filename!r}")
            else:
                mtime = time.mktime(info.date_time + (0, 0, -1))
                members.append(Member(name, "file", info.file_size, unix_mode or 0o644, source=info, mtime=mtime))
        members = _strip(archive, members, strip_top)
        _check(archive, members, limit)
        _write_members(archive, staging, members, lambda member: bundle.open(member.source))


def _write_members(archive: Path, staging: Path, members: list[Member], open_file) -> None:
    """Writes checked members; `open_file(member)` gives a file's content stream."""
    staging.mkdir(parents=True)
    for member in members:
        path = staging / member.name
        if member.kind == "dir":
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if member.kind == "file":
            with open_file(member) as source, open(path, "wb") as out:
                copied = _copy_bounded(source, out, member.size + 1)
            if copied != member.size:
                raise UnsafeArchiveError(f"{archive}: entry {member.name!r} does not match its declared size")
            os.chmod(path, _file_mode(member.mode))
            os.utime(path, (member.mtime, member.mtime))
        elif member.kind == "symlink":
            os.symlink(member.target, path)
        else:
            os.link(staging / member.target, path)
    _fix_directory_modes(staging)


def _fix_directory_modes(root: Path) -> None:
    for directory, _, _ in os.walk(root):
        os.chmod(directory, 0o755)
