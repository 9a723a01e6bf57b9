"""What an unfinished `cwpkg spec --report` run has done so far, kept in the cache so that the same
command run again continues where it stopped (a run over Crystal's whole std spec takes hours).

The journal is named by everything the results depend on: the report's path, the source tree and its
spec files, the compiler and its patched standard library, how programs are built and cwpkg's own
code; any of them changed, the run starts over. A line per finished file, appended, with the state
of the sysroot's installed packages after it ran: a run installs the libraries its specs need as it
goes, so only the lines of the state the sysroot is in now are taken again. A torn last line (the run
was killed while writing it) is dropped, and its file runs again. The journal is removed once the
report is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cwpkg.crystal.spec import ExampleOutcome, SpecExample
from cwpkg.crystal.spec_table import SpecFileRun
from cwpkg.fs import file_sha256, value_sha256

JOURNAL_DIR = "spec-reports"


def tree_identity(root: Path) -> str:
    """The files under `root` (a tree of specs, cwpkg's own code), their paths and contents."""
    files = sorted(path for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    return value_sha256([(str(path.relative_to(root)), file_sha256(path)) for path in files])


class SpecJournal:
    """The finished files of one --report run, by spec file path."""

    def __init__(self, cache: Path, inputs: dict[str, Any]) -> None:
        self.path = cache / JOURNAL_DIR / f"{value_sha256(inputs)[:24]}.jsonl"

    def finished(self, files: Iterable[Path], installed: str) -> dict[Path, SpecFileRun]:
        """The runs recorded for `files` by an earlier, interrupted run of the same command, with the
        sysroot's packages as they are now (`installed`)."""
        wanted = set(files)
        runs: dict[Path, SpecFileRun] = {}
        if not self.path.is_file():
            return runs
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            run = _run_from_line(line, installed)
            if run is not None and run.path in wanted:
                runs[run.path] = run
        return runs

    def record(self, run: SpecFileRun, installed: str) -> None:
        """`run`, done with the sysroot's packages in the state `installed`."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"path": str(run.path), "failure": run.failure, "installed": installed,
                           "outcomes": [asdict(outcome) for outcome in run.outcomes]}, sort_keys=True)
        with open(self.path, "a", encoding="utf-8") as journal:
            journal.write(line + "\n")

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        try:
            self.path.parent.rmdir()
        except OSError:  # other runs' journals are there
            pass


def _run_from_line(line: str, installed: str) -> SpecFileRun | None:
    """A journal line's run, or None for a line that is not one (torn by a kill), or one done with
    other packages installed."""
    try:
        document = json.loads(line)
        if document["installed"] != installed:
            return None
        outcomes = tuple(ExampleOutcome(SpecExample(**outcome["example"]), outcome["status"], outcome["detail"])
                         for outcome in document["outcomes"])
        return SpecFileRun(Path(document["path"]), outcomes, document["failure"])
    except (ValueError, KeyError, TypeError):
        return None
