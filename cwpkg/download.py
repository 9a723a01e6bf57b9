"""Streaming HTTP downloads that retry with backoff and continue after a broken transfer."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    import requests

CHUNK = 1 << 16


class DownloadFailed(Exception):
    """One location could not deliver the file; the caller tries the next one."""


class Downloader:
    """Fetches URLs (http, https, file) and local paths into a partial file.

    Transient failures (connection errors, timeouts, 5xx, bodies shorter than announced) are retried
    with exponential backoff; each retry asks for the missing bytes only (HTTP Range) and starts over
    when the server does not honour the range. 4xx answers are final for that location.
    """

    def __init__(self, *, quiet: bool = False, attempts: int | None = None, timeout: float | None = None,
                 backoff: float | None = None) -> None:
        self.quiet = quiet or not sys.stderr.isatty()
        self.attempts = attempts or int(os.environ.get("CWPKG_RETRIES", "4"))
        self.timeout = timeout or float(os.environ.get("CWPKG_TIMEOUT", "30"))
        self.backoff = backoff if backoff is not None else float(os.environ.get("CWPKG_BACKOFF", "1"))
        self._session: requests.Session | None = None

    @property
    def session(self) -> requests.Session:
        """Made on the first download: importing requests costs tens of milliseconds that most commands,
        which download nothing, should not pay."""
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.headers["User-Agent"] = "cwpkg (+https://github.com/cwpkg/cwpkg)"
        return self._session

    def fetch(self, location: str, partial: Path, label: str) -> None:
        """Downloads `location` into `partial`, appending to what an earlier broken transfer left there."""
        parsed = urlparse(location)
        if parsed.scheme in ("http", "https"):
            self._fetch_http(location, partial, label)
        elif parsed.scheme == "file":
            self._copy_local(Path(unquote(parsed.path)), partial)
        elif parsed.scheme == "":
            self._copy_local(Path(location), partial)
        else:
            raise DownloadFailed(f"unsupported URL scheme {parsed.scheme!r}")

    @staticmethod
    def _copy_local(path: Path, partial: Path) -> None:
        if not path.is_file():
            raise DownloadFailed("no such file")
        shutil.copyfile(path, partial)

    def _fetch_http(self, url: str, partial: Path, label: str) -> None:
        import requests

        last_problem = "no attempt made"
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                if self._attempt(url, partial, label):
                    return
                last_problem = "transfer ended before the announced size"
            except _Permanent as problem:
                raise DownloadFailed(str(problem)) from None
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                last_problem, transient = _describe(error)
                if not transient:  # no server there: the next location is the better bet
                    raise DownloadFailed(last_problem) from None
            except _Transient as problem:
                last_problem = str(problem)
        raise DownloadFailed(f"{last_problem} (after {self.attempts} attempts)")

    def _attempt(self, url: str, partial: Path, label: str) -> bool:
        """One request; True when the whole body arrived."""
        from tqdm import tqdm

        have = partial.stat().st_size if partial.exists() else 0
        headers = {"Range": f"bytes={have}-", "Accept-Encoding": "identity"} if have else {"Accept-Encoding": "identity"}
        with self.session.get(url, headers=headers, stream=True, timeout=self.timeout) as response:
            if response.status_code == 416 and have:
                partial.unlink()  # what we have is not a prefix of this file; start over
                raise _Transient("server refused to continue the partial download")
            if 400 <= response.status_code < 500:
                raise _Permanent(f"HTTP {response.status_code} {response.reason}")
            if response.status_code >= 500:
                raise _Transient(f"HTTP {response.status_code} {response.reason}")
            # Keep what arrived before a broken connection; the size check below finds the gap.
            response.raw.enforce_content_length = False
            mode = "ab"
            if response.status_code != 206:
                have, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else None
            received = have
            with open(partial, mode) as out, tqdm(
                total=total, initial=have, unit="B", unit_scale=True, desc=label, disable=self.quiet, leave=False
            ) as bar:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            return total is None or received >= total


class _Permanent(Exception):
    pass


class _Transient(Exception):
    pass


def _describe(error: Exception) -> tuple[str, bool]:
    """A short reason, and whether trying the same location again may help."""
    import requests

    if isinstance(error, requests.Timeout):
        return "timed out", True
    text = str(error)
    for marker in ("Name or service not known", "Temporary failure in name resolution", "No address associated",
                   "Connection refused", "Network is unreachable"):
        if marker in text:
            return marker.lower(), False
    for marker in ("Connection reset", "IncompleteRead", "Connection aborted", "Connection broken"):
        if marker in text:
            return marker.lower(), True
    return f"connection failed ({type(error).__name__})", True
