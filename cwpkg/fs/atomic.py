"""Writing a file so that readers see the old content or the new, never a part."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

TEMPORARY_SUFFIX = ".tmp"  # what an interrupted write leaves behind: `NAME.<random>.tmp` beside NAME


@contextmanager
def atomic_output(destination: Path, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A file to write that replaces `destination` when the block ends without error; on any error
    or interruption (a full disk, Ctrl-C) only the old file is left. The file is new and of a random
    name (O_EXCL), so two writers at once both end in a whole file, and a file or symlink planted
    beside the destination is never written through."""
    descriptor, temporary = tempfile.mkstemp(prefix=f"{destination.name}.", suffix=TEMPORARY_SUFFIX,
                                             dir=destination.parent)
    try:
        with os.fdopen(descriptor, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    with atomic_output(path, mode) as out:
        out.write(text.encode("utf-8"))


def copy_atomically(source: Path, destination: Path) -> None:
    with atomic_output(destination) as out, open(source, "rb") as data:
        shutil.copyfileobj(data, out, 1 << 20)


def json_text(value: Any) -> str:
    """cwpkg's one JSON form: indented, keys sorted, a final newline (stable for diffs and digests)."""
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def write_json_atomically(path: Path, value: Any) -> None:
    write_text_atomically(path, json_text(value))
