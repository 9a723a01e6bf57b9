"""Transactional installs: an install interrupted at any file move recovers to the old or the new state."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import snapshot

from cwpkg.errors import IntegrityError, SysrootError
from cwpkg.fs.archive import write_archive
from cwpkg.sysroot.manifest import Manifest
from cwpkg.sysroot.sysroot import Sysroot


def package(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    tree = tmp_path / f"tree-{name}"
    for relative, content in files.items():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_text(content)
    archive = tmp_path / f"{name}.tar.gz"
    write_archive(tree, archive)
    return archive


OLD = {"include/p.h": "old header\n", "lib/wasm32-wasi/libp.a": "old lib\n", "share/p/only-old.txt": "gone later\n"}
NEW = {"include/p.h": "new header\n", "lib/wasm32-wasi/libp.a": "new lib\n", "lib/pkgconfig/p.pc": "new pc\n"}


class Crash(Exception):
    pass


def visible(root: Path) -> dict:
    """The sysroot as users see it: installed files and manifests, not transaction scratch space."""
    return {key: value for key, value in snapshot(root).items() if not key.startswith((".cwpkg/tx", ".cwpkg/lock"))}


def test_install_then_upgrade_then_uninstall(tmp_path):
    sysroot = Sysroot(tmp_path / "sysroot")
    sysroot.install("p", package(tmp_path, "old", OLD), Manifest("p", "1"))
    assert (sysroot.root / "share/p/only-old.txt").read_text() == "gone later\n"
    sysroot.install("p", package(tmp_path, "new", NEW), Manifest("p", "2"))
    assert not (sysroot.root / "share").exists()
    assert (sysroot.root / "include/p.h").read_text() == "new header\n"
    assert sorted(sysroot.manifest("p").files) == sorted(NEW)
    sysroot.uninstall("p")
    assert sorted(os.listdir(sysroot.root)) == [".cwpkg"]


def count_moves(tmp_path: Path, old_archive: Path, new_archive: Path) -> int:
    sysroot = Sysroot(tmp_path / "count")
    sysroot.install("p", old_archive, Manifest("p", "1"))
    calls = 0
    real = os.replace

    def counting(*args):
        nonlocal calls
        calls += 1
        return real(*args)

    os.replace = counting
    try:
        sysroot.install("p", new_archive, Manifest("p", "2"))
    finally:
        os.replace = real
    return calls


def test_interrupted_upgrade_recovers_to_exactly_old_or_new_state(tmp_path, monkeypatch):
    old_archive, new_archive = package(tmp_path, "old", OLD), package(tmp_path, "new", NEW)
    reference = Sysroot(tmp_path / "reference")
    reference.install("p", old_archive, Manifest("p", "1"))
    old_state = visible(reference.root)
    reference.install("p", new_archive, Manifest("p", "2"))
    new_state = visible(reference.root)

    moves = count_moves(tmp_path, old_archive, new_archive)
    assert moves > 5
    outcomes = set()
    for crash_at in range(moves):
        root = tmp_path / f"crash-{crash_at}"
        Sysroot(root).install("p", old_archive, Manifest("p", "1"))
        real, calls = os.replace, 0

        def crashing(*args, crash_at=crash_at, real=real):
            nonlocal calls
            if calls == crash_at:
                raise Crash(f"killed at move {crash_at}")
            calls += 1
            return real(*args)

        monkeypatch.setattr(os, "replace", crashing)
        with pytest.raises(Crash):
            Sysroot(root).install("p", new_archive, Manifest("p", "2"))
        monkeypatch.setattr(os, "replace", real)
        Sysroot(root).recover()
        state = visible(root)
        assert state in (old_state, new_state), f"crash at move {crash_at} left a mixed sysroot"
        outcomes.add("new" if state == new_state else "old")
        assert not (root / ".cwpkg/tx").exists()
    assert outcomes == {"old"}  # every move happens before the `committed` marker, the commit point

    # After the commit, an interruption during clean-up is finished forward to the new state.
    root = tmp_path / "crash-after-commit"
    Sysroot(root).install("p", old_archive, Manifest("p", "1"))

    def crash_in_cleanup(self, tx, old):
        raise Crash("killed during clean-up")

    monkeypatch.setattr(Sysroot, "_finish", crash_in_cleanup)
    with pytest.raises(Crash):
        Sysroot(root).install("p", new_archive, Manifest("p", "2"))
    monkeypatch.undo()
    assert (root / ".cwpkg/tx/p/journal.json").exists()
    assert Sysroot(root).recover() == ["finished the interrupted change of p"]
    assert visible(root) == new_state


def test_two_packages_may_not_install_the_same_file(tmp_path):
    sysroot = Sysroot(tmp_path / "sysroot")
    sysroot.install("p", package(tmp_path, "p", {"include/shared.h": "p\n"}), Manifest("p", "1"))
    before = snapshot(sysroot.root)
    with pytest.raises(SysrootError, match="q and p both install include/shared.h"):
        sysroot.install("q", package(tmp_path, "q", {"include/shared.h": "q\n"}), Manifest("q", "1"))
    assert snapshot(sysroot.root) == before


def test_install_does_not_write_through_a_symlink_out_of_the_sysroot(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    sysroot = Sysroot(tmp_path / "sysroot")
    sysroot.root.mkdir()
    (sysroot.root / "include").symlink_to(outside)
    with pytest.raises(SysrootError, match="is a symlink or not a directory, and cwpkg never writes through one"):
        sysroot.install("p", package(tmp_path, "p", {"include/p.h": "p\n"}), Manifest("p", "1"))
    assert list(outside.iterdir()) == []


def package_with_links(tmp_path: Path, name: str, files: dict[str, str], links: dict[str, str]) -> Path:
    tree = tmp_path / f"tree-{name}"
    for relative, content in files.items():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_text(content)
    for relative, target in links.items():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).symlink_to(target)
    archive = tmp_path / f"{name}.tar.gz"
    write_archive(tree, archive)
    return archive


def test_a_symlink_that_leads_out_through_another_packages_link_is_refused(tmp_path):
    """Each package's links are inside on their own; q's only leads out through p's, already there."""
    sysroot = Sysroot(tmp_path / "sysroot")
    sysroot.install("p", package_with_links(tmp_path, "p", {"include/p.h": "p\n"}, {"include/up": ".."}),
                    Manifest("p", "1"))
    before = snapshot(sysroot.root)
    with pytest.raises(SysrootError, match="refusing symlink include/escape -> up/.., which leads outside"):
        sysroot.install("q", package_with_links(tmp_path, "q", {"include/q.h": "q\n"}, {"include/escape": "up/.."}),
                        Manifest("q", "1"))
    assert snapshot(sysroot.root) == before


def test_a_symlink_into_cwpkgs_own_state_is_refused(tmp_path):
    sysroot = Sysroot(tmp_path / "sysroot")
    with pytest.raises(SysrootError, match="refusing symlink lib/state -> ../.cwpkg"):
        sysroot.install("p", package_with_links(tmp_path, "p", {"lib/p.a": "p\n"}, {"lib/state": "../.cwpkg"}),
                        Manifest("p", "1"))
    assert not (sysroot.root / "lib").exists()


def test_moves_across_file_systems_copy_then_remove(tmp_path):
    """A sysroot whose include/ is another file system (a tmpfs here, when this machine may mount one):
    install and uninstall move files across it and end exactly as on one file system."""
    import subprocess

    sysroot = Sysroot(tmp_path / "sysroot")
    sysroot.install("p", package(tmp_path, "old", OLD), Manifest("p", "1"))
    mount = sysroot.root / "include"
    shutil.move(str(mount), str(tmp_path / "include-saved"))
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        shutil.copy2(tmp_path / "include-saved" / "p.h", mount / "p.h")
        sysroot.install("p", package(tmp_path, "new", NEW), Manifest("p", "2"))
        assert (mount / "p.h").read_text() == "new header\n"
        sysroot.uninstall("p")
        assert list(mount.iterdir()) == [] and not (sysroot.root / ".cwpkg" / "tx").exists()
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_an_installed_manifest_naming_a_path_outside_is_refused_before_anything_moves(tmp_path):
    sysroot = Sysroot(tmp_path / "sysroot")
    sysroot.install("p", package(tmp_path, "p", {"include/p.h": "p\n"}), Manifest("p", "1"))
    (tmp_path / "victim.txt").write_text("keep\n")
    path = sysroot.manifest_path("p")
    document = json.loads(path.read_text())
    document["files"]["../victim.txt"] = "0" * 64
    path.write_text(json.dumps(document))
    with pytest.raises(IntegrityError, match="file path '../victim.txt' is not a relative path inside"):
        sysroot.uninstall("p")
    assert (tmp_path / "victim.txt").read_text() == "keep\n" and (sysroot.root / "include/p.h").exists()


def test_a_sysroot_refuses_a_package_built_for_another_target(tmp_path):
    """Whatever an archive, a bundle or a binary cache holds, a sysroot's libraries stay one target's."""
    sysroot = Sysroot(tmp_path / "sysroot", "wasm32-wasi")
    sysroot.install("p", package(tmp_path, "p", {"lib/wasm32-wasi/libp.a": "p\n"}), Manifest("p", "1"))
    before = snapshot(sysroot.root)
    with pytest.raises(SysrootError, match="q: was built for wasm32-wasip1 .*holds wasm32-wasi libraries"):
        sysroot.install("q", package(tmp_path, "q", {"lib/wasm32-wasip1/libq.a": "q\n"}), Manifest("q", "1"))
    assert snapshot(sysroot.root) == before
    assert (sysroot.root / ".cwpkg/target").read_text() == "wasm32-wasi\n"
