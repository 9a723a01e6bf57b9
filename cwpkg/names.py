"""The shapes of names, digests and URLs that recipes, locks, manifests and caches share.

Names and versions become file names (`NAME.json`, `NAME-VERSION/`, `build-NAME-xxxx/`), so they are
bounded well below the 255 bytes a file name may have.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

NAME_RE = re.compile(r"[a-z0-9][a-z0-9+._-]{0,63}")
VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.~_-]{0,127}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")


def is_http_url(text: str) -> bool:
    """An http(s) URL with a host and no whitespace: something a request can be made to."""
    if any(character.isspace() for character in text):
        return False
    try:
        parsed = urlparse(text)
        parsed.port  # raises ValueError for a port out of range
    except ValueError:
        return False
    return parsed.scheme.lower() in ("http", "https") and bool(parsed.hostname)
