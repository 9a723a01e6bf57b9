"""The sysroot: installed files, one manifest per package, and transactional changes.

Layout (wasi-sdk-like): include/, lib/wasm32-wasi/, lib/pkgconfig/, share/; cwpkg's own state lives in
`.cwpkg/`: `installed/NAME.json` (manifests), `archives/NAME.tar.gz` (built packages), `tx/` (open
transactions), `lock`.

Installing or removing a package is a transaction with a journal. Old files are first moved into the
transaction's backup, new files moved into place, and the manifest written last: that write is the
commit. Whoever takes the lock next (`recover`) rolls an unfinished transaction back, or finishes one
whose manifest was already written, so an interrupted run leaves exactly the old or the new state.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cwpkg.atomic import write_text_atomically
from cwpkg.digest import file_sha256
from cwpkg.errors import SysrootError
from cwpkg.unpack import unpack

STATE_DIR = ".cwpkg"


def _write_json_atomically(path: Path, value: Any) -> None:
    write_text_atomically(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


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


class Sysroot:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / STATE_DIR
        self.manifests = self.state / "installed"
        self.archives = self.state / "archives"
        self.transactions = self.state / "tx"

    # -- queries ---------------------------------------------------------------------------------

    def manifest_path(self, name: str) -> Path:
        return self.manifests / f"{name}.json"

    def archive_path(self, name: str) -> Path:
        return self.archives / f"{name}.tar.gz"

    def manifest(self, name: str) -> dict[str, Any] | None:
        path = self.manifest_path(name)
        return _read_json(path) if path.is_file() else None

    def installed(self) -> dict[str, dict[str, Any]]:
        if not self.manifests.is_dir():
            return {}
        return {path.stem: _read_json(path) for path in sorted(self.manifests.glob("*.json"))}

    def owners(self) -> dict[str, str]:
        """Installed relative path -> owning package."""
        return {relative: name for name, manifest in self.installed().items() for relative in manifest["files"]}

    # -- locking ---------------------------------------------------------------------------------

    @contextmanager
    def locked(self, say=lambda message: print(message, file=sys.stderr), shared: bool = False) -> Iterator[None]:
        """Serializes cwpkg runs that change this sysroot; recovers unfinished transactions first.

        A `shared` lock is for runs that only read it (linking, upstream suites): they run side by
        side, and only wait for a run that changes it. A transaction left open by an interrupted run
        needs the exclusive lock to be recovered, so a reader that finds one recovers it first.
        """
        if shared and not self._has_open_transactions():
            with self._flock(fcntl.LOCK_SH, say):
                if not self._has_open_transactions():
                    yield
                    return
        with self._flock(fcntl.LOCK_EX, say):
            self.recover()
            yield

    def _has_open_transactions(self) -> bool:
        return self.transactions.is_dir() and any(self.transactions.iterdir())

    @contextmanager
    def _flock(self, mode: int, say) -> Iterator[None]:
        try:
            self.state.mkdir(parents=True, exist_ok=True)
            handle = open(self.state / "lock", "a+")
        except OSError as error:
            raise SysrootError(f"{self.root}: cannot use this sysroot: {error.strerror}",
                               hint="choose a writable directory with --sysroot") from None
        with handle:
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                say(f"waiting for another cwpkg run on {self.root} to finish")
                fcntl.flock(handle, mode)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- transactions ----------------------------------------------------------------------------

    def install(self, name: str, archive: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        """Replaces package `name` by the contents of `archive`; `manifest` is completed and recorded."""
        tx = self._open_transaction(name)
        old = self.manifest(name)
        try:
            unpack(archive, tx / "new", strip_top=False)
            new_files = tree_files(tx / "new")
            self._check_conflicts(name, new_files, old)
        except BaseException:
            self._finish(tx, None)  # nothing in the sysroot moved yet
            raise
        manifest = {**manifest, "name": name, "files": new_files}
        self._commit(name, tx, old, manifest)
        return manifest

    def uninstall(self, name: str) -> None:
        old = self.manifest(name)
        if old is None:
            raise SysrootError(f"{name} is not installed in {self.root}")
        tx = self._open_transaction(name)
        (tx / "new").mkdir()
        self._commit(name, tx, old, None)

    def _open_transaction(self, name: str) -> Path:
        tx = self.transactions / name
        if tx.exists():
            shutil.rmtree(tx)
        tx.mkdir(parents=True)
        return tx

    def _check_conflicts(self, name: str, new_files: dict[str, str], old: dict[str, Any] | None) -> None:
        owners = self.owners()
        real_root = os.path.realpath(self.root)
        for relative in new_files:
            destination = self.root / relative
            if os.path.commonpath([real_root, os.path.realpath(destination.parent)]) != real_root:
                raise SysrootError(f"{self.root}: {relative} would be written outside the sysroot through a symlink")
            owner = owners.get(relative)
            if owner is not None and owner != name:
                raise SysrootError(f"{name} and {owner} both install {relative}",
                                   hint=f"uninstall {owner} first, or fix one of the recipes")
            if owner is None and (destination.exists() or destination.is_symlink()):
                kind = "directory" if destination.is_dir() and not destination.is_symlink() else "file"
                raise SysrootError(f"{name} would overwrite {destination}, a {kind} no package owns",
                                   hint="move it out of the sysroot, then run the command again")

    def _commit(self, name: str, tx: Path, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        new_files = sorted(new["files"]) if new else []
        _write_json_atomically(tx / "journal.json", {"package": name, "old": old, "new": new})
        backup = tx / "backup"
        for relative in (old or {}).get("files", {}):
            current = self.root / relative
            if current.exists() or current.is_symlink():
                (backup / relative).parent.mkdir(parents=True, exist_ok=True)
                os.replace(current, backup / relative)
        for relative in new_files:
            destination = self.root / relative
            _make_directories(destination.parent)
            os.replace(tx / "new" / relative, destination)
        self.manifests.mkdir(parents=True, exist_ok=True)
        if new is None:
            self.manifest_path(name).unlink()
        else:
            _write_json_atomically(self.manifest_path(name), new)
        self._finish(tx, old)

    def _finish(self, tx: Path, old: dict[str, Any] | None) -> None:
        shutil.rmtree(tx)
        self._prune_empty_parents((old or {}).get("files", {}))
        if self.transactions.is_dir() and not any(self.transactions.iterdir()):
            self.transactions.rmdir()

    def recover(self) -> list[str]:
        """Rolls back unfinished transactions and finishes committed ones; returns what it did."""
        done = []
        for stale in self.manifests.glob("*.tmp") if self.manifests.is_dir() else []:
            stale.unlink()  # a manifest write that never reached its rename
        if not self.transactions.is_dir():
            return done
        for tx in sorted(self.transactions.iterdir()):
            journal_path = tx / "journal.json"
            if not journal_path.is_file():
                shutil.rmtree(tx)  # interrupted before anything in the sysroot moved
                continue
            journal = _read_json(journal_path)
            name, old, new = journal["package"], journal["old"], journal["new"]
            current = self.manifest(name)
            if current == new:
                self._finish(tx, old)
                done.append(f"finished the interrupted change of {name}")
                continue
            old_files = (old or {}).get("files", {})
            for relative in (new or {}).get("files", {}):
                if relative not in old_files:
                    path = self.root / relative
                    if path.exists() or path.is_symlink():
                        path.unlink()
            for relative in old_files:
                saved = tx / "backup" / relative
                if saved.exists() or saved.is_symlink():
                    _make_directories((self.root / relative).parent)
                    os.replace(saved, self.root / relative)
            self._prune_empty_parents((new or {}).get("files", {}))
            shutil.rmtree(tx)
            done.append(f"rolled back the interrupted change of {name}")
        if self.transactions.is_dir() and not any(self.transactions.iterdir()):
            self.transactions.rmdir()
        return done

    def _prune_empty_parents(self, relatives) -> None:
        for relative in relatives:
            parent = (self.root / relative).parent
            while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
