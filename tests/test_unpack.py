"""Safe extraction: hostile archives are refused with a clear message and leave nothing behind."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from helpers import make_tarball

from cwpkg.errors import UnsafeArchiveError
from cwpkg.fs.unpacking import unpack


def tar_with(entries: list[tarfile.TarInfo], contents: dict[str, bytes] | None = None, mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for info in entries:
            data = (contents or {}).get(info.name)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def entry(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname, info.mode = kind, size, link, 0o644
    return info


def write(tmp_path: Path, data: bytes, name: str = "archive.tar.gz") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_good_archive_is_unpacked_with_its_top_directory_stripped_and_times_kept(tmp_path):
    archive = write(tmp_path, make_tarball({"configure": b"#!/bin/sh\n", "src/a.c": b"int a;\n"}, top="pkg-1.0"))
    unpack(archive, tmp_path / "out", strip_top=True)
    assert (tmp_path / "out/src/a.c").read_bytes() == b"int a;\n"
    assert (tmp_path / "out/configure").stat().st_mtime == 1_600_000_000
    assert not (tmp_path / "out.unpacking").exists()


HOSTILE = {
    "parent path": ([entry("pkg/../../evil", size=4)], {"pkg/../../evil": b"evil"}, "refusing path with '..'"),
    "absolute path": ([entry("/tmp/evil", size=4)], {"/tmp/evil": b"evil"}, "refusing absolute path"),
    "escaping symlink": ([entry("pkg/link", tarfile.SYMTYPE, link="../../../etc")], None, "pointing outside"),
    "absolute symlink": ([entry("pkg/link", tarfile.SYMTYPE, link="/etc/passwd")], None, "pointing outside"),
    "write through symlink": ([entry("pkg/dir", tarfile.SYMTYPE, link="."), entry("pkg/dir/x", size=1)],
                              {"pkg/dir/x": b"x"}, "below symlink"),
    "escaping hard link": ([entry("pkg/hard", tarfile.LNKTYPE, link="/etc/passwd")], None, "hard link"),
    "character device": ([entry("pkg/tty", tarfile.CHRTYPE)], None, "refusing character device"),
    "FIFO": ([entry("pkg/pipe", tarfile.FIFOTYPE)], None, "refusing FIFO"),
    "duplicate entry": ([entry("pkg/a", size=1), entry("pkg/a", size=1)], {"pkg/a": b"a"}, "duplicate entry"),
    "symlink chain out": ([entry("pkg/sub/up", tarfile.SYMTYPE, link=".."),
                           entry("pkg/sub/out", tarfile.SYMTYPE, link="up/..")], None,
                          "refusing symlink 'sub/out' -> 'up/..' pointing outside"),
    "symlink chain through a later link": ([entry("pkg/sub/out", tarfile.SYMTYPE, link="up/.."),
                                            entry("pkg/sub/up", tarfile.SYMTYPE, link="..")], None,
                                           "refusing symlink 'sub/out' -> 'up/..' pointing outside"),
    "symlink loop": ([entry("pkg/a", tarfile.SYMTYPE, link="b"), entry("pkg/b", tarfile.SYMTYPE, link="a")], None,
                     "refusing symlink"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_tar_is_refused_and_leaves_nothing(tmp_path, case):
    entries, contents, message = HOSTILE[case]
    archive = write(tmp_path, tar_with(entries, contents))
    with pytest.raises(UnsafeArchiveError, match=message) as caught:
        unpack(archive, tmp_path / "out", strip_top=True)
    assert str(archive) in str(caught.value)
    assert sorted(os.listdir(tmp_path)) == ["archive.tar.gz"]


def test_links_that_stay_inside_through_other_links_are_kept(tmp_path):
    archive = write(tmp_path, tar_with([entry("pkg/lib/real.h", size=1), entry("pkg/include", tarfile.SYMTYPE, link="lib"),
                                        entry("pkg/alias.h", tarfile.SYMTYPE, link="include/real.h")],
                                       {"pkg/lib/real.h": b"r"}))
    unpack(archive, tmp_path / "out", strip_top=True)
    assert (tmp_path / "out/alias.h").read_bytes() == b"r"


def test_hard_links_are_refused_where_cwpkg_wrote_the_archive_itself(tmp_path):
    archive = write(tmp_path, tar_with([entry("pkg/a", size=1), entry("pkg/b", tarfile.LNKTYPE, link="pkg/a")],
                                       {"pkg/a": b"a"}))
    unpack(archive, tmp_path / "source", strip_top=True)  # source tarballs may have them
    assert (tmp_path / "source/b").read_bytes() == b"a"
    with pytest.raises(UnsafeArchiveError, match="cwpkg's archives never hold hard links"):
        unpack(archive, tmp_path / "package", strip_top=False, allow_hardlinks=False)
    assert not (tmp_path / "package").exists()


def test_entries_count_toward_the_size_limit(tmp_path):
    """200 empty files are not free: each costs the file system an inode and a block."""
    archive = write(tmp_path, tar_with([entry(f"pkg/empty-{n}") for n in range(200)]))
    with pytest.raises(UnsafeArchiveError, match="unpacks to more than 50000 bytes"):
        unpack(archive, tmp_path / "out", strip_top=True, size_limit=50_000)


def test_huge_claimed_size_is_refused_before_writing(tmp_path):
    archive = write(tmp_path, make_tarball({"big": b"x" * 4096}))
    with pytest.raises(UnsafeArchiveError, match="unpacks to more than 1000 bytes"):
        unpack(archive, tmp_path / "out", strip_top=True, size_limit=1000)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_compressed_archive_is_reported_as_corrupt(tmp_path, cut):
    data = make_tarball({f"file{i}": os.urandom(2000) for i in range(5)})
    archive = write(tmp_path, data[: int(len(data) * cut)])
    with pytest.raises(UnsafeArchiveError, match="corrupt or truncated archive"):
        unpack(archive, tmp_path / "out", strip_top=True)
    assert sorted(os.listdir(tmp_path)) == ["archive.tar.gz"]


@pytest.mark.parametrize("mode", ["w:bz2", "w:xz"])
def test_bzip2_and_xz_tarballs(tmp_path, mode):
    archive = write(tmp_path, make_tarball({"a.txt": b"hello\n"}, mode=mode), "archive.tar")
    unpack(archive, tmp_path / "out", strip_top=True)
    assert (tmp_path / "out/a.txt").read_text() == "hello\n"


def test_zip_is_unpacked_and_zip_slip_refused(tmp_path):
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w") as bundle:
        bundle.writestr("pkg-1/readme.txt", "hi\n")
    unpack(write(tmp_path, good.getvalue(), "good.zip"), tmp_path / "good", strip_top=True)
    assert (tmp_path / "good/readme.txt").read_text() == "hi\n"

    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as bundle:
        bundle.writestr("../evil.txt", "evil\n")
    with pytest.raises(UnsafeArchiveError, match="'..'"):
        unpack(write(tmp_path, evil.getvalue(), "evil.zip"), tmp_path / "evil", strip_top=True)
    # Unpacked into tmp_path/evil, the entry would have landed beside it, in tmp_path itself.
    assert sorted(os.listdir(tmp_path)) == ["evil.zip", "good", "good.zip"]
