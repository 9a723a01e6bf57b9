"""Writing a file so that readers see the old content or the new, never a part."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

TEMPORARY_SUFFIX = ".tmp"  # what an interrupted write leaves behind: `NAME.<random>.tmp` beside NAME


def write_text_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Also on failure (a full disk), nothing but the old file is left behind. Each writer has its
    own temporary file, so two processes writing the same file at once both end in a whole file."""
    descriptor, temporary = tempfile.mkstemp(prefix=f"{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def json_text(value: Any) -> str:
    """cwpkg's one JSON form: indented, keys sorted, a final newline (stable for diffs and digests)."""
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def write_json_atomically(path: Path, value: Any) -> None:
    write_text_atomically(path, json_text(value))
