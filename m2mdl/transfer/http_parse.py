"""Parsers for the HTTP headers the engine trusts, plus redaction of URLs for messages.

Each parser is strict: a malformed Content-Range must never be "mostly" accepted, because a
wrong offset silently corrupts the file (downloader.md §5.2: accept only a 206 whose
Content-Range starts where we asked).
"""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit, urlunsplit

from .errors import HeaderError

_MAX_DIGITS = 19  # 10**19 > 2**63: no real file is larger; longer numbers are garbage
_NUM = rf"(\d{{1,{_MAX_DIGITS}}})"
_CONTENT_RANGE = re.compile(rf"bytes[ \t]+{_NUM}-{_NUM}/(?:{_NUM}|\*)", re.IGNORECASE | re.ASCII)
_UNSATISFIED = re.compile(rf"bytes[ \t]+\*/{_NUM}", re.IGNORECASE | re.ASCII)
_URL = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^\s/?#@'\"<>]*@)?"
    r"(?P<rest>[^\s?#'\"<>]*)(?P<query>[?#][^\s'\"<>]*)?"
)
_BARE_QUERY = re.compile(r"(?<=[\w/.-])\?[^\s'\"<>)]+")  # "url: /path?token=..." (requests)
_PARAM = re.compile(
    r""";\s*(?P<name>[!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*"""
    r"""(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^;\s]*))""",
    re.DOTALL,
)
_EXT_VALUE = re.compile(r"(?P<charset>[A-Za-z0-9!#$%&+^_`{}~-]*)'[A-Za-z0-9-]*'(?P<value>.*)")


def parse_content_range(header: str) -> tuple[int, int, int | None]:
    """Parse ``Content-Range: bytes START-END/TOTAL`` (RFC 9110 §14.4).

    Args:
        header: the header value.

    Returns:
        (start, end, total): ``end`` is inclusive; ``total`` is None for ``/*``.

    Raises:
        HeaderError: anything else, including ``end < start``, ``end >= total`` and the
            ``bytes */TOTAL`` form (see ``parse_unsatisfied_range``).
    """
    match = _CONTENT_RANGE.fullmatch(header.strip(" \t"))
    if match is None:
        raise HeaderError(f"malformed Content-Range {_show(header)}")
    start, end = int(match[1]), int(match[2])
    total = int(match[3]) if match[3] is not None else None
    if end < start or (total is not None and end >= total):
        raise HeaderError(f"impossible Content-Range {_show(header)}")
    return start, end, total


def parse_unsatisfied_range(header: str) -> int:
    """Parse the ``bytes */TOTAL`` Content-Range of a 416 answer and return TOTAL.

    Raises:
        HeaderError: when the header has another form.
    """
    match = _UNSATISFIED.fullmatch(header.strip(" \t"))
    if match is None:
        raise HeaderError(f"malformed 416 Content-Range {_show(header)}")
    return int(match[1])


def parse_content_disposition(header: str) -> str | None:
    """Return the file name from a Content-Disposition header, or None.

    ``filename*`` (RFC 6266/8187, percent-encoded with a charset) wins over ``filename``.
    The name is returned as sent; pass it through ``safe_join`` before using it.
    Never raises: a header we cannot read gives None.
    """
    plain: str | None = None
    extended: str | None = None
    _disposition, sep, params = header.partition(";")
    for match in _PARAM.finditer(sep + params):
        name = match["name"].lower()
        quoted = match["quoted"]
        value = re.sub(r"\\(.)", r"\1", quoted, flags=re.DOTALL) if quoted is not None else None
        value = value if value is not None else match["token"]
        if name == "filename*":
            extended = _decode_ext_value(value) or extended
        elif name == "filename" and value:
            plain = value
    return extended or plain or None


def _decode_ext_value(value: str) -> str | None:
    """Decode an RFC 8187 ext-value (``UTF-8''name%20x.tar``), or None when malformed."""
    match = _EXT_VALUE.fullmatch(value)
    if match is None:
        return None
    charset = match["charset"].lower() or "utf-8"
    if charset not in ("utf-8", "iso-8859-1", "us-ascii"):
        return None
    try:
        return unquote(match["value"], encoding=charset, errors="strict") or None
    except (UnicodeDecodeError, LookupError):
        return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return the delay a Retry-After header asks for, in seconds, or None.

    Both forms are accepted: delta-seconds and an HTTP date. A date in the past gives 0.
    Capping is the caller's job.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value[:_MAX_DIGITS]))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; be lenient about a missing zone
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def strip_query(url: str) -> str:
    """Return ``url`` without its query string, fragment and user info (for journals, logs)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0]
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit((parts.scheme, netloc + port, parts.path, "", ""))


def redact(text: str, limit: int = 300) -> str:
    """Make ``text`` fit for a ``FileResult.error``: one line, no URL query or user info."""
    text = _BARE_QUERY.sub("?…", _URL.sub(_redact_url, text))
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _redact_url(match: re.Match[str]) -> str:
    return match["scheme"] + match["rest"] + ("?…" if match["query"] else "")


def _show(header: str) -> str:
    """Quote a bad header value for an error message, shortened."""
    return repr(header[:80])
