"""URLs in messages, Retry-After and backoff: one copy for the API client and the engine.

Choices, made once here:

* :func:`strip_query` drops the query, the fragment *and the user info*: a signed download
  URL carries its signature in the query, and ``user:password@`` is a credential too.
* :func:`redact_url` hides what either earlier copy hid: every URL in a text loses its user
  info and its query (``?…``), a bare ``/path?query`` (how ``requests`` words a failed URL)
  loses its query, and a signature-like ``name=value`` anywhere else (``token=``,
  ``signature=``, ``requestSignature=``, ``apiKey=``) keeps its name and loses its value.
* :func:`parse_retry_after` accepts both forms of RFC 9110 §10.2.3: delta-seconds and an
  HTTP date (a date in the past means 0). Capping is the caller's job.
* :func:`backoff_delay` is bounded exponential backoff with full jitter (AWS Architecture
  Blog, "Exponential Backoff And Jitter"), optionally with a floor, and a server's
  Retry-After wins when given, up to its own cap.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

__all__ = ["backoff_delay", "one_line", "parse_retry_after", "redact_url", "strip_query"]

_MAX_DIGITS = 19  # 10**19 > 2**63: a longer Retry-After is garbage, not a delay
_URL = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^\s/?#@'\"<>]*@)?"
    r"(?P<rest>[^\s?#'\"<>]*)(?P<query>[?#][^\s'\"<>]*)?"
)
_BARE_QUERY = re.compile(r"(?<=[\w/.-])\?[^\s'\"<>)]+")  # "url: /path?token=..." (requests)
_SIGNATURE = re.compile(r"\b(requestSignature|signature|token|apiKey)=[^&\s]*", re.IGNORECASE)


def strip_query(url: str) -> str:
    """``url`` without its query string, fragment and user info (for journals and messages)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # a malformed port or bracket: cut by hand rather than fail a message
        return url.split("?", 1)[0].split("#", 1)[0]
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit((parts.scheme, netloc + port, parts.path, "", ""))


def redact_url(text: str, *, limit: int | None = None, keep_query: bool = False) -> str:
    """``text`` (a log line, an error, a body snippet) with URL secrets hidden.

    Args:
        text: any text.
        limit: when given, the result is also made one line and cut to ``limit`` characters
            (with ``…``), as a one-line error field needs.
        keep_query: keep query strings, with only the signature-like values masked: for a
            diagnostic report (``doctor --report``) whose reader needs the parameter names.
            User info is dropped either way.
    """
    if keep_query:
        text = _URL.sub(lambda m: m["scheme"] + m["rest"] + (m["query"] or ""), text)
    else:
        text = _URL.sub(lambda m: m["scheme"] + m["rest"] + ("?…" if m["query"] else ""), text)
        text = _BARE_QUERY.sub("?…", text)
    text = _SIGNATURE.sub(lambda m: f"{m.group(1)}=***", text)
    return text if limit is None else one_line(text, limit)


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (runs of whitespace become one space), cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)] + "…"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """The delay a Retry-After header value asks for, in seconds, or None if it is unusable.

    Both forms are accepted: delta-seconds and an HTTP date. A date in the past gives 0; a date
    without a zone is refused (RFC 9110 dates are GMT). Capping is the caller's job.
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
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff_delay(
    failures: int,
    *,
    base: float,
    cap: float,
    floor: float = 0.0,
    retry_after: float | None = None,
    retry_after_cap: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after the ``failures``-th consecutive failure (1-based).

    Full jitter: uniform between ``floor`` and ``max(floor, min(cap, base * 2**(failures-1)))``,
    which spreads the retries of parallel clients apart. A server's Retry-After wins when
    given, capped at ``retry_after_cap`` (``cap`` when None).
    """
    if retry_after is not None:
        limit = cap if retry_after_cap is None else retry_after_cap
        return max(0.0, min(retry_after, limit))
    exponent = min(max(failures - 1, 0), 62)
    ceiling = max(floor, min(cap, base * 2.0**exponent))
    return floor + (ceiling - floor) * rng()
