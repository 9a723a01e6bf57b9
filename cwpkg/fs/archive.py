"""Deterministic package archives: same tree, same bytes.

Entries are sorted, owners are 0/0 without names, every mtime is SOURCE_DATE_EPOCH, permissions are
normalized to 0644/0755, and the gzip header carries neither a name nor a time.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path
from typing import BinaryIO

from cwpkg.fs.atomic import atomic_output
from cwpkg.fs.digest import file_sha256

SOURCE_DATE_EPOCH = 315532800  # 1980-01-01, the earliest time every archive format can store; builds get it too


def _entries(root: Path, empty_directories: bool = True) -> list[Path]:
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in subdirs + files:
            found.append(Path(directory, name))
    if not empty_directories:  # a directory is kept only for what is in it
        holders = {parent for path in found if not path.is_dir() or path.is_symlink() for parent in path.parents}
        found = [path for path in found if path in holders or not path.is_dir() or path.is_symlink()]
    return sorted(found, key=lambda path: path.relative_to(root).as_posix())


def write_archive(root: Path, destination: Path) -> str:
    """Packs the tree at `root` into `destination` (written atomically); returns its sha256."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(destination) as raw:
        _write_tar_gz(root, raw)
    return file_sha256(destination)


def archive_bytes(root: Path, top: str) -> bytes:
    """The tree at `root` as a deterministic tar.gz in memory, every entry under the directory `top`,
    as source tarballs are (for sources that are directories of the recipe checkout). Empty
    directories are left out: git keeps none, so two checkouts of one commit give the same bytes."""
    raw = io.BytesIO()
    _write_tar_gz(root, raw, f"{top}/", empty_directories=False)
    return raw.getvalue()


def _write_tar_gz(root: Path, raw: BinaryIO, prefix: str = "", empty_directories: bool = True) -> None:
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as compressed, \
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.inodes = _NoInodes()  # files that share an inode are stored twice, never as a hard link
        if prefix:
            top = tarfile.TarInfo(prefix.rstrip("/"))
            top.type, top.mode, top.mtime = tarfile.DIRTYPE, 0o755, SOURCE_DATE_EPOCH
            tar.addfile(top)
        for path in _entries(root, empty_directories):
            info = tar.gettarinfo(str(path), arcname=prefix + path.relative_to(root).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = SOURCE_DATE_EPOCH
            if info.isdir():
                info.mode = 0o755
            elif info.issym():
                info.mode = 0o777
            else:
                info.mode = 0o755 if info.mode & 0o111 else 0o644
            if info.isfile():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)


class _NoInodes(dict):
    """TarFile remembers each inode it stored to write the next name of it as a hard link; with
    nothing remembered, every name is stored as a file of its own."""

    def __setitem__(self, key, value) -> None:
        pass
