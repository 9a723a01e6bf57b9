"""The Debian archive's base address, read at run time from apt's own configuration.

No archive host is written anywhere in cwpkg: CWPKG_DEBIAN_MIRROR (one or more base URLs separated by
spaces or commas) wins; otherwise the URIs of apt's `deb`/`deb-src` entries are used, in both the
one-line `sources.list` format and the deb822 `.sources` format.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

APT_ETC = Path("/etc/apt")


def archive_bases(apt_etc: Path = APT_ETC) -> list[str]:
    """Base URLs of the Debian archive, most specific configuration first, without duplicates."""
    configured = os.environ.get("CWPKG_DEBIAN_MIRROR", "").strip()
    if configured:
        return _unique(base.rstrip("/") for base in re.split(r"[\s,]+", configured) if base)
    bases: list[str] = []
    list_files = [apt_etc / "sources.list", *sorted((apt_etc / "sources.list.d").glob("*.list"))]
    for path in list_files:
        bases.extend(_one_line_bases(_read(path)))
    for path in sorted((apt_etc / "sources.list.d").glob("*.sources")):
        bases.extend(_deb822_bases(_read(path)))
    return _unique(bases)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _is_archive(uri: str, suites: list[str]) -> bool:
    """Keeps main archives (their pool/ holds the orig tarballs), not security or third-party repos."""
    if not uri.startswith(("http://", "https://", "file:/")):
        return False
    return any(suite and "/" not in suite and not suite.endswith("-security") for suite in suites)


def _one_line_bases(text: str) -> list[str]:
    bases = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        line = re.sub(r"\[[^\]]*\]", " ", line)  # [arch=amd64 signed-by=...]
        fields = line.split()
        if len(fields) >= 3 and fields[0] in ("deb", "deb-src") and _is_archive(fields[1], [fields[2]]):
            bases.append(fields[1].rstrip("/"))
    return bases


def _deb822_bases(text: str) -> list[str]:
    bases = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        current = None
        for line in stanza.splitlines():
            if line.startswith("#"):
                continue
            if line[:1].isspace() and current:
                fields[current] += " " + line.strip()
                continue
            key, separator, value = line.partition(":")
            if separator:
                current = key.strip().lower()
                fields[current] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if not set(fields.get("types", "").split()) & {"deb", "deb-src"}:
            continue
        suites = fields.get("suites", "").split()
        for uri in fields.get("uris", "").split():
            if _is_archive(uri, suites):
                bases.append(uri.rstrip("/"))
    return bases


def _unique(items) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)
