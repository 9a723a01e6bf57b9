"""The shapes of names and digests that recipes, locks, manifests and caches share (use fullmatch).

Names and versions become file names (`NAME.json`, `NAME-VERSION/`, `build-NAME-xxxx/`), so they are
bounded well below the 255 bytes a file name may have.
"""

from __future__ import annotations

import re

NAME_RE = re.compile(r"[a-z0-9][a-z0-9+._-]{0,63}")
VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.~_-]{0,127}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
