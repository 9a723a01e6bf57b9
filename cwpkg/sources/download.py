"""Streaming HTTP downloads that retry with backoff, continue after a broken transfer, and end in time.

Whatever one location does (refuses, redirects to another scheme or in a loop, sends a broken
encoding, stalls, or trickles a byte at a time), the result is a DownloadFailed with a short reason,
so that the caller tries the next location. Each read waits at most CWPKG_TIMEOUT seconds, a whole
download, retries included, at most CWPKG_DOWNLOAD_DEADLINE seconds, and no file grows beyond
CWPKG_MAX_DOWNLOAD bytes. Credentials in URLs
(`https://user:secret@host/...`) never appear in a message.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from cwpkg.names import is_http_url
from cwpkg.settings import environment_number

if TYPE_CHECKING:
    import requests

CHUNK = 1 << 16
DEFAULT_SIZE_LIMIT = 1 << 30  # no source or package archive comes near 1 GiB; an endless body ends here
MAX_REDIRECTS = 10
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s'\"]+@")


def redact(text: str) -> str:
    """`text` with the user and password of every URL in it replaced by '***'."""
    return _CREDENTIALS.sub("***@", text)


class DownloadFailed(Exception):
    """One location could not deliver the file; the caller tries the next one. `status` is the
    HTTP status that ended it, if one did."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Downloader:
    """Fetches URLs (http, https, file) and local paths into a partial file.

    Transient failures (connection errors, timeouts, 5xx, bodies shorter than announced) are retried
    with exponential backoff; each retry asks for the missing bytes only (HTTP Range) and starts over
    when the server does not honour the range. 4xx answers, redirects to other schemes or in loops
    and broken encodings are final for that location. The body is stored as sent: cwpkg asks for no
    content encoding, and a server that applies one anyway sends other bytes than the file's, which
    the checksum then refuses.
    """

    def __init__(self, *, quiet: bool = False, attempts: int | None = None, timeout: float | None = None,
                 backoff: float | None = None, deadline: float | None = None) -> None:
        self.quiet = quiet or not sys.stderr.isatty()
        self.attempts = attempts or int(environment_number("CWPKG_RETRIES", 4, int, "a whole number of attempts",
                                                           minimum=1))
        self.timeout = timeout or environment_number("CWPKG_TIMEOUT", 30.0, float, "a number of seconds",
                                                     minimum=0.001)
        self.backoff = backoff if backoff is not None else environment_number("CWPKG_BACKOFF", 1.0, float,
                                                                              "a number of seconds")
        self.deadline = deadline or environment_number("CWPKG_DOWNLOAD_DEADLINE", 1800.0, float,
                                                       "a number of seconds", minimum=0.001)
        self.size_limit = int(environment_number("CWPKG_MAX_DOWNLOAD", DEFAULT_SIZE_LIMIT, int, "a number of bytes",
                                                 minimum=1))
        self._session: requests.Session | None = None

    @property
    def session(self) -> requests.Session:
        """Made on the first download: importing requests costs tens of milliseconds that most commands,
        which download nothing, should not pay."""
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.max_redirects = MAX_REDIRECTS
            self._session.headers["User-Agent"] = "cwpkg (+https://github.com/cwpkg/cwpkg)"
        return self._session

    def fetch(self, location: str, partial: Path, label: str, headers: dict[str, str] | None = None) -> None:
        """Downloads `location` into `partial`, appending to what an earlier broken transfer left there.
        `headers` go with the requests to that location (and never across a redirect to another host)."""
        try:
            parsed = urlparse(location)
        except ValueError:
            raise DownloadFailed("not a valid URL") from None
        if parsed.scheme.lower() in ("http", "https"):
            if not is_http_url(location):
                raise DownloadFailed("not a valid URL")
            self._fetch_http(location, partial, label, headers or {})
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
        try:
            shutil.copyfile(path, partial)
        except OSError as error:
            raise DownloadFailed(f"cannot read it: {error.strerror}") from None

    def _fetch_http(self, url: str, partial: Path, label: str, extra_headers: dict[str, str]) -> None:
        import requests
        import urllib3

        ends = time.monotonic() + self.deadline
        last_problem = "no attempt made"
        for attempt in range(self.attempts):
            if attempt:
                pause = self.backoff * 2 ** (attempt - 1)
                if time.monotonic() + pause >= ends:
                    break
                time.sleep(pause)
            try:
                if self._attempt(url, partial, label, ends, extra_headers):
                    return
                last_problem = "transfer ended before the announced size"
            except _Permanent as problem:
                raise DownloadFailed(redact(str(problem)), problem.status) from None
            except (requests.ConnectionError, requests.Timeout) as error:
                last_problem, transient = _describe(error)
                if not transient:  # no server there: the next location is the better bet
                    raise DownloadFailed(last_problem) from None
            except urllib3.exceptions.ReadTimeoutError:  # the body is read from urllib3 directly
                last_problem = "timed out"
            except (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.HTTPError):
                last_problem = "connection broken during the transfer"
            except (requests.RequestException, ValueError) as error:  # redirect loops or schemes, bad URLs
                raise DownloadFailed(redact(_request_problem(error))) from None
            except _Transient as problem:
                last_problem = str(problem)
            if time.monotonic() >= ends:
                raise DownloadFailed(f"{last_problem}; gave up after the download deadline of {self.deadline:g} s "
                                     "(CWPKG_DOWNLOAD_DEADLINE)")
        raise DownloadFailed(f"{last_problem} (after {self.attempts} attempts)")

    def _attempt(self, url: str, partial: Path, label: str, ends: float, extra_headers: dict[str, str]) -> bool:
        """One request; True when the whole body arrived."""
        from tqdm import tqdm

        have = partial.stat().st_size if partial.exists() else 0
        headers = {**extra_headers, "Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})}
        with self.session.get(url, headers=headers, stream=True, timeout=self.timeout) as response:
            if response.status_code == 416 and have:
                partial.unlink()  # what we have is not a prefix of this file; start over
                raise _Transient("server refused to continue the partial download")
            if 400 <= response.status_code < 500:
                raise _Permanent(f"HTTP {response.status_code} {response.reason}", response.status_code)
            if response.status_code >= 500:
                raise _Transient(f"HTTP {response.status_code} {response.reason}")
            if response.status_code != 200 and response.status_code != 206:
                raise _Permanent(f"unexpected HTTP {response.status_code} {response.reason}", response.status_code)
            # Keep what arrived before a broken connection; the size check below finds the gap.
            response.raw.enforce_content_length = False
            mode = "ab"
            if response.status_code != 206:
                have, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else None
            if total is not None and total > self.size_limit:
                raise _Permanent(f"announces {total} bytes, more than CWPKG_MAX_DOWNLOAD ({self.size_limit})")
            received = have
            with open(partial, mode) as out, tqdm(
                total=total, initial=have, unit="B", unit_scale=True, desc=label, disable=self.quiet, leave=False
            ) as bar:
                # read1 returns what has arrived, so a server that trickles bytes meets the deadline.
                while chunk := response.raw.read1(CHUNK, decode_content=False):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() >= ends:
                        raise _Transient(f"still sending after {self.deadline:g} s ({received} bytes so far)")
                    if received > self.size_limit:
                        raise _Permanent(f"sent more than CWPKG_MAX_DOWNLOAD ({self.size_limit} bytes)")
            return total is None or received >= total


class _Permanent(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _Transient(Exception):
    pass


def _request_problem(error: Exception) -> str:
    """A short reason for a request that cannot succeed at this location."""
    import requests

    if isinstance(error, requests.TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects"
    if isinstance(error, requests.exceptions.InvalidSchema):
        return "redirected to a URL that is not http(s)"
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return "the server sent a broken content encoding"
    return f"{type(error).__name__}: {str(error)[:200]}"


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
