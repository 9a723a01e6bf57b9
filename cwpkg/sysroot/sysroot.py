"""The sysroot: installed files, one manifest per package, and transactional changes.

Where everything is: layout.py.

Installing or removing a package is a transaction with a journal. The new files and archive are
prepared inside the transaction's directory; then the journal is written, old files are moved into
the transaction's backup, new files moved into place, the manifest written, and finally a `committed`
marker is created: that is the commit. Whoever takes the lock next (`recover`) rolls back a
transaction without the marker (old files, manifest and archive back in place) and finishes one with
it, so an interrupted run leaves exactly the old or the new state, also when both are the same.

No file is ever moved through a symlink: every parent of a package's path must be a real directory
inside the sysroot, and a package's symlinks must resolve inside it (through links already there).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from cwpkg.errors import IntegrityError, SysrootError
from cwpkg.faults import checkpoint
from cwpkg.fs import (
    TEMPORARY_SUFFIX,
    file_sha256,
    resolve_inside,
    unpack,
    write_json_atomically,
    write_text_atomically,
)
from cwpkg.names import NAME_RE
from cwpkg.places import remove_empty_directories
from cwpkg.sysroot.layout import STATE_DIR, SysrootLayout
from cwpkg.sysroot.manifest import (
    Manifest,
    is_package_path,
    manifest_from_json,
    read_manifest,
    write_manifest,
)
from cwpkg.toolchain import TARGETS, library_dir

COMMITTED = "committed"


def _make_directories(directory: Path) -> None:
    """Creates `directory` and its missing parents with mode 755 whatever the umask, so that an
    installed tree has the same files and modes for everyone."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        created.mkdir(exist_ok=True)
        created.chmod(0o755)


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def move_entry(source: Path, destination: Path) -> None:
    """Moves a file or symlink, replacing `destination`. Across filesystems (a directory of the
    sysroot may be a mount point) it copies beside the destination first, so the destination is
    always whole, and removes the source only then."""
    try:
        os.replace(source, destination)
        return
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
    temporary = destination.with_name(destination.name + ".moving" + TEMPORARY_SUFFIX)
    try:
        if source.is_symlink():
            temporary.unlink(missing_ok=True)
            os.symlink(os.readlink(source), temporary)
        else:
            shutil.copy2(source, temporary)
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    source.unlink()


def entry_digest(path: Path) -> str:
    """What a manifest records of one entry: '-> target' for a symlink, else the file's sha256."""
    return f"-> {os.readlink(path)}" if path.is_symlink() else file_sha256(path)


def tree_files(root: Path) -> dict[str, str]:
    """Relative path -> entry_digest, for everything below `root`."""
    found: dict[str, str] = {}
    for directory, subdirs, files in os.walk(root):
        for name in files + [d for d in subdirs if os.path.islink(os.path.join(directory, d))]:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            found[relative] = entry_digest(path)
    return dict(sorted(found.items()))


class Sysroot(SysrootLayout):
    # -- queries ---------------------------------------------------------------------------------

    def manifest(self, name: str) -> Manifest | None:
        path = self.manifest_path(name)
        return read_manifest(path, name) if path.is_file() else None

    def installed(self) -> dict[str, Manifest]:
        if not self.manifests.is_dir():
            return {}
        return {path.stem: read_manifest(path, path.stem) for path in sorted(self.manifests.glob("*.json"))}

    def owners(self) -> dict[str, str]:
        """Installed relative path -> owning package."""
        return {relative: name for name, manifest in self.installed().items() for relative in manifest.files}

    # -- locking ---------------------------------------------------------------------------------

    @contextmanager
    def locked(self, say=lambda message: print(message, file=sys.stderr), shared: bool = False) -> Iterator[None]:
        """Serializes cwpkg runs that change this sysroot; recovers unfinished transactions first.

        A `shared` lock is for runs that only read it (linking, upstream suites): they run side by
        side, and only wait for a run that changes it. A transaction left open by an interrupted run
        needs the exclusive lock to be recovered, so a reader that finds one recovers it first.
        """
        if shared and not self._needs_recovery():
            with self._flock(fcntl.LOCK_SH, say):
                if not self._needs_recovery():
                    yield
                    return
        with self._flock(fcntl.LOCK_EX, say):
            self.recover()
            yield

    def _needs_recovery(self) -> bool:
        """What only an interrupted run leaves: an open transaction, or a binary cache download."""
        return (self.transactions.is_dir() and any(self.transactions.iterdir())) or self.downloads.exists()

    @contextmanager
    def _flock(self, mode: int, say) -> Iterator[None]:
        lock_path = self.state / "lock"
        waited = False
        while True:
            try:
                _make_directories(self.state)
                handle = open(lock_path, "a+")
            except OSError as error:
                raise SysrootError(f"{self.root}: cannot use this sysroot: {error.strerror}",
                                   hint="choose a writable directory with --sysroot") from None
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    handle.close()
                    raise
                if not waited:
                    say(f"waiting for another cwpkg run on {self.root} to finish")
                    waited = True
                fcntl.flock(handle, mode)
            # A run that failed to create this sysroot removes it again, lock file and all: a lock
            # taken on a removed file protects nothing, so take the current one.
            try:
                current = os.stat(lock_path).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(handle.fileno()).st_ino:
                break
            handle.close()
        with handle:
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def remove_if_unused(self, created: Path) -> None:
        """Removes this sysroot, and the parents up to `created` that its creation made, if no package
        is installed in it: for a run that created it and then failed. Under the exclusive lock, so
        a run that installed something meanwhile keeps it."""
        if not self.root.is_dir():
            return
        with self._flock(fcntl.LOCK_EX, lambda message: None):
            self.recover()
            if self.installed() or any(entry.name != STATE_DIR for entry in self.root.iterdir()):
                return
            shutil.rmtree(self.root)
        if created != self.root:
            remove_empty_directories(self.root.parent, created)

    # -- transactions ----------------------------------------------------------------------------

    def install(self, name: str, archive: Path, manifest: Manifest) -> Manifest:
        """Replaces package `name` by the contents of `archive`; `manifest` is completed and recorded."""
        old = self.manifest(name)
        self._record_target()
        tx = self._open_transaction(name)
        try:
            unpack(archive, tx / "new", strip_top=False, allow_hardlinks=False)
            shutil.copyfile(archive, tx / "archive.tar.gz")
            new_files = tree_files(tx / "new")
            self._check_paths(name, new_files, old)
        except BaseException:
            self._discard(tx)  # nothing in the sysroot moved yet
            raise
        checkpoint(f"{name}: prepared")
        new = replace(manifest, name=name, files=new_files)
        self._commit(name, tx, old, new)
        return new

    def uninstall(self, name: str) -> None:
        old = self.manifest(name)
        if old is None:
            raise SysrootError(f"{name} is not installed in {self.root}")
        tx = self._open_transaction(name)
        try:
            self._check_paths(name, {}, old)
            (tx / "new").mkdir()
        except BaseException:
            self._discard(tx)
            raise
        self._commit(name, tx, old, None)

    def _record_target(self) -> None:
        """Records the target of the packages being installed, which a sysroot with none keeps from now on."""
        if self.installed() and self.target_record.is_file():
            return
        _make_directories(self.state)
        write_text_atomically(self.target_record, f"{self.target}\n")

    def _open_transaction(self, name: str) -> Path:
        tx = self.transactions / name
        if tx.exists():
            shutil.rmtree(tx)
        tx.mkdir(parents=True)
        return tx

    def _discard(self, tx: Path) -> None:
        shutil.rmtree(tx, ignore_errors=True)
        if self.transactions.is_dir() and not any(self.transactions.iterdir()):
            self.transactions.rmdir()

    def _through_link(self, relative: str) -> Path | None:
        """The first parent of `relative` in the sysroot that is a symlink or not a directory."""
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            parent = self.root.joinpath(*parts[:depth])
            if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
                return parent
        return None

    def _check_paths(self, name: str, new_files: dict[str, str], old: Manifest | None) -> None:
        """Refuses, before anything moves, every path that is not plainly inside the sysroot, every
        symlink that resolves out of it (following the links already there), and every conflict."""
        foreign = {library_dir(target) + "/": target for target in TARGETS if target != self.target}
        for relative in [*(old.files if old else {}), *new_files]:
            if not is_package_path(relative):
                raise SysrootError(f"{name}: refusing path {relative!r}, which is not inside the sysroot")
            other = next((target for prefix, target in foreign.items() if relative.startswith(prefix)), None)
            if other is not None and relative in new_files:
                raise SysrootError(f"{name}: was built for {other} ({relative}), and {self.root} holds "
                                   f"{self.target} libraries",
                                   hint=f"install it into a sysroot of its own: --target {other} --sysroot DIR")
            parent = self._through_link(relative)
            if parent is not None:
                raise SysrootError(f"{name}: refusing {relative}: {parent} is a symlink or not a directory, "
                                   "and cwpkg never writes through one",
                                   hint=f"replace {parent} by a real directory, or remove it")

        def link_at(parts: tuple[str, ...]) -> str | None:
            relative = "/".join(parts)
            if relative in new_files:
                digest = new_files[relative]
                return digest[3:] if digest.startswith("-> ") else None
            path = self.root.joinpath(*parts)
            return os.readlink(path) if path.is_symlink() else None

        owners = self.owners()
        for relative, digest in new_files.items():
            if digest.startswith("-> "):
                resolved = resolve_inside(tuple(relative.split("/")[:-1]), digest[3:], link_at)
                if resolved is None or resolved[:1] == (STATE_DIR,):
                    raise SysrootError(f"{name}: refusing symlink {relative} -> {digest[3:]}, which leads outside "
                                       f"the sysroot {self.root}")
            owner = owners.get(relative)
            if owner is not None and owner != name:
                raise SysrootError(f"{name} and {owner} both install {relative}",
                                   hint=f"uninstall {owner} first, or fix one of the recipes")
            destination = self.root / relative
            if owner is None and _exists(destination):
                kind = "directory" if destination.is_dir() and not destination.is_symlink() else "file"
                raise SysrootError(f"{name} would overwrite {destination}, a {kind} no package owns",
                                   hint="move it out of the sysroot, then run the command again")

    def _commit(self, name: str, tx: Path, old: Manifest | None, new: Manifest | None) -> None:
        write_json_atomically(tx / "journal.json", {"package": name, "old": old and old.to_json(),
                                                    "new": new and new.to_json(),
                                                    "old_archive": self.archive_path(name).is_file()})
        checkpoint(f"{name}: journal written")
        backup = tx / "backup"
        for relative in old.files if old else {}:
            current = self.root / relative
            if _exists(current):
                _make_directories((backup / relative).parent)
                move_entry(current, backup / relative)
                checkpoint(f"{name}: moved aside {relative}")
        if self.archive_path(name).is_file():
            move_entry(self.archive_path(name), tx / "old-archive.tar.gz")
            checkpoint(f"{name}: moved aside its archive")
        for relative in sorted(new.files) if new else []:
            destination = self.root / relative
            _make_directories(destination.parent)
            move_entry(tx / "new" / relative, destination)
            checkpoint(f"{name}: placed {relative}")
        if new is not None:
            _make_directories(self.archives)
            move_entry(tx / "archive.tar.gz", self.archive_path(name))
            checkpoint(f"{name}: placed its archive")
        self._set_manifest(name, new)
        checkpoint(f"{name}: manifest written")
        (tx / COMMITTED).touch()
        checkpoint(f"{name}: committed")
        self._finish(tx, old)
        checkpoint(f"{name}: finished")

    def _set_manifest(self, name: str, manifest: Manifest | None) -> None:
        if manifest is None:
            self.manifest_path(name).unlink(missing_ok=True)
        else:
            _make_directories(self.manifests)
            write_manifest(self.manifest_path(name), manifest)

    def _finish(self, tx: Path, old: Manifest | None) -> None:
        shutil.rmtree(tx)
        self._prune_empty_parents(old.files if old else {})
        if self.transactions.is_dir() and not any(self.transactions.iterdir()):
            self.transactions.rmdir()

    def recover(self) -> list[str]:
        """Rolls back unfinished transactions and finishes committed ones; returns what it did.

        Idempotent: a recovery interrupted in turn is completed by the next one.
        """
        done = []
        for directory in (self.manifests, self.archives):
            for stale in directory.glob(f"*{TEMPORARY_SUFFIX}") if directory.is_dir() else []:
                stale.unlink()  # a write that never reached its rename
        if self.downloads.is_dir():
            shutil.rmtree(self.downloads)  # binary cache downloads of an interrupted run
        if not self.transactions.is_dir():
            return done
        for tx in sorted(self.transactions.iterdir()):
            journal_path = tx / "journal.json"
            if not journal_path.is_file():
                shutil.rmtree(tx)  # interrupted before anything in the sysroot moved
                continue
            name, old, new, old_archive = self._read_journal(tx)
            if (tx / COMMITTED).exists():
                self._finish(tx, old)
                done.append(f"finished the interrupted change of {name}")
                continue
            self._roll_back(name, tx, old, new, old_archive)
            shutil.rmtree(tx)
            done.append(f"rolled back the interrupted change of {name}")
        if self.transactions.is_dir() and not any(self.transactions.iterdir()):
            self.transactions.rmdir()
        return done

    def _read_journal(self, tx: Path) -> tuple[str, Manifest | None, Manifest | None, bool]:
        """The package, old and new manifests of a transaction, checked as strictly as installed
        manifests are: a journal decides what recovery moves and deletes."""
        path = tx / "journal.json"
        problem = None
        try:
            journal = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(journal, dict) or set(journal) != {"package", "old", "new", "old_archive"} \
                    or not isinstance(journal["package"], str) or not NAME_RE.fullmatch(journal["package"]) \
                    or journal["package"] != tx.name or not isinstance(journal["old_archive"], bool):
                problem = "not a journal cwpkg writes"
        except (OSError, ValueError) as error:
            problem = str(error)
        if problem is None:
            name, where = journal["package"], f"{path} (transaction journal)"
            try:
                old = None if journal["old"] is None else manifest_from_json(journal["old"], name, where)
                new = None if journal["new"] is None else manifest_from_json(journal["new"], name, where)
                return name, old, new, journal["old_archive"]
            except IntegrityError as error:
                problem = error.message
        raise IntegrityError(f"{path}: cannot recover this interrupted change: {problem}",
                             hint=f"move {tx} out of the sysroot, put back by hand what it holds, then run "
                                  "`cwpkg verify`")

    def _roll_back(self, name: str, tx: Path, old: Manifest | None, new: Manifest | None, old_archive: bool) -> None:
        old_files = old.files if old else {}
        for relative in new.files if new else {}:
            placed = not _exists(tx / "new" / relative)
            path = self.root / relative
            if placed and relative not in old_files and _exists(path):
                path.unlink()
        for relative in old_files:
            saved = tx / "backup" / relative
            if _exists(saved):
                _make_directories((self.root / relative).parent)
                move_entry(saved, self.root / relative)
        if _exists(tx / "old-archive.tar.gz"):
            move_entry(tx / "old-archive.tar.gz", self.archive_path(name))
        elif not old_archive and new is not None and not _exists(tx / "archive.tar.gz"):
            self.archive_path(name).unlink(missing_ok=True)  # the new archive was placed; there was no old one
        self._set_manifest(name, old)
        self._prune_empty_parents(new.files if new else {})

    def _prune_empty_parents(self, relatives: Iterable[str]) -> None:
        for relative in relatives:
            parent = (self.root / relative).parent
            while parent != self.root and parent.is_dir() and not parent.is_symlink() and not any(parent.iterdir()):
                try:
                    parent.rmdir()
                except OSError:  # a mount point, say: it stays, empty
                    break
                parent = parent.parent
