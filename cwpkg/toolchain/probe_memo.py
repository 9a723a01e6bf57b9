"""Remembers what slow probes of installed tools found, for as long as the tools' files stay the same.

`crystal env` and the C toolchain's version and builtins queries take tens of milliseconds each, on
every command, and their answers depend only on the executables. An answer is kept in the cache
under a key made of the identities of those files (resolved path, device, inode, size, mtime and
ctime, which no one can set back): upgrading, replacing or touching any of them makes a new key and
the probe runs again. Files an answer names (the compiler-rt library) are checked the same way on
every use. Failed probes are never remembered, and a memo that cannot be written is only a miss.

New answers are written by `keep_new_answers()`, which the command line calls when a command has
succeeded: a failed command leaves the cache as it found it, like every other part of cwpkg.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cwpkg.fs import json_text, value_sha256, write_text_atomically
from cwpkg.places import cache_dir

MEMO_DIR = "probes"
_new_answers: dict[Path, str] = {}  # memo file -> its text, until keep_new_answers()


def _identity(path: Path) -> list[Any] | None:
    try:
        real = path.resolve()
        status = real.stat()
    except OSError:
        return None
    return [str(real), status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns]


def remembered(kind: str, tools: Sequence[Path], probe: Callable[[], dict[str, Any] | None],
               named: Callable[[dict[str, Any]], list[Path]] = lambda answer: []) -> dict[str, Any] | None:
    """`probe()`'s answer for these `tools`, from the memo when their files (and the files the answer
    names) are unchanged since it was made; None answers are returned, not remembered."""
    identities = [_identity(tool) for tool in tools]
    if None in identities:
        return probe()
    memo = cache_dir() / MEMO_DIR / f"{kind}-{value_sha256(identities)[:24]}.json"
    try:
        kept = json.loads(memo.read_text(encoding="utf-8"))
        # A damaged or edited memo is a miss, never an answer: it must be whole, as it was written.
        if kept["answer_sha256"] == value_sha256(kept["answer"]) \
                and kept["named"] == [_identity(Path(path)) for path in named(kept["answer"])]:
            return kept["answer"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    answer = probe()
    if answer is not None:
        record = {"tools": identities, "answer": answer, "answer_sha256": value_sha256(answer),
                  "named": [_identity(path) for path in named(answer)]}
        _new_answers[memo] = json_text(record)
    return answer


def keep_new_answers() -> None:
    """Writes the answers probed since the last call into the cache."""
    for memo, text in _new_answers.items():
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomically(memo, text)
        except OSError:
            pass
    _new_answers.clear()

