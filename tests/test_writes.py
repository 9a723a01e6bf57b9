"""Files cwpkg writes are whole or absent: interrupted writes leave nothing, planted files and
symlinks beside the target are never written through, and concurrent writers both succeed."""

from __future__ import annotations

import os
import tarfile
import threading

import pytest

from cwpkg.fs.archive import write_archive
from cwpkg.fs.atomic import write_text_atomically


def test_an_interrupted_archive_leaves_neither_a_temporary_nor_a_partial_file(tmp_path, monkeypatch):
    """What Ctrl-C during `cwpkg bundle` does: the bundle is not there, and no FILE.tmp either."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for index in range(5):
        (tree / f"f{index}").write_text("x\n")
    real, calls = tarfile.TarFile.addfile, []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "addfile", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_archive(tree, tmp_path / "out" / "bundle.tar.gz")
    assert os.listdir(tmp_path / "out") == []


def test_a_symlink_planted_at_the_old_temporary_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    (tmp_path / "bundle.tar.gz.tmp").symlink_to(victim)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a").write_text("a\n")
    write_archive(tree, tmp_path / "bundle.tar.gz")
    assert victim.read_text() == "keep\n" and not (tmp_path / "bundle.tar.gz").is_symlink()


def test_concurrent_writers_of_one_file_both_succeed(tmp_path):
    target, errors = tmp_path / "cwpkg.lock", []

    def write(text: str) -> None:
        try:
            for _ in range(50):
                write_text_atomically(target, text)
        except OSError as error:
            errors.append(error)

    writers = [threading.Thread(target=write, args=(f"{name}\n" * 1000,)) for name in ("one", "two")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert not errors and target.read_text() in ("one\n" * 1000, "two\n" * 1000)
    assert os.listdir(tmp_path) == ["cwpkg.lock"]
