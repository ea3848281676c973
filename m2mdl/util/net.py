"""URLs in messages, Retry-After and backoff: one copy for the API client and the engine.

Choices, made once here:

* :func:`strip_query` drops the query, the fragment *and the user info*: a signed download
  URL carries its signature in the query, and ``user:password@`` is a credential too. It
  also masks a contact token in the path (below).
* :func:`redact_url` hides every secret a URL can carry, wherever a URL sits in a text (an
  error from ``requests``, a log line, a recorded body): every URL loses its user info and
  its query (``?…``), a bare ``/path?query`` (how ``requests`` words a failed URL) loses its
  query, and a signature-like ``name=value`` anywhere else (``token=``, ``signature=``,
  ``requestSignature=``, ``apiKey=``) keeps its name and loses its value.
* Both mask a contact token in a path as ``***``: DDS URLs carry base64 JSON holding the
  user's ``contactId`` in the path, not the query (``https://dds.cr.usgs.gov/download/<b64>``
  and ``…/download-staging/<b64>``, docs/design.md "download URLs"), so cutting the query
  is not enough. A token is a run of path text after a ``/`` that decodes (base64 or
  URL-safe base64, percent-encoded or not) to a JSON object with a ``contactId`` key, or to
  any JSON object right after ``/download/`` or ``/download-staging/``. The mask is the
  same for every token, so it reveals nothing, not even which of two URLs is which; no
  caller compares stripped URLs (the manifest and the transfer journal keep them only for
  people to read).
* :func:`parse_retry_after` accepts both forms of RFC 9110 §10.2.3: delta-seconds and an
  HTTP date (a date in the past means 0). Capping is the caller's job.
* :func:`backoff_delay` is bounded exponential backoff with full jitter (AWS Architecture
  Blog, "Exponential Backoff And Jitter"), optionally with a floor, and a server's
  Retry-After wins when given, up to its own cap.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit, urlunsplit

from .jsontypes import JsonObject

__all__ = [
    "PATH_MASK",
    "backoff_delay",
    "contact_tokens",
    "decode_b64_json",
    "one_line",
    "parse_retry_after",
    "redact_url",
    "signature_values",
    "strip_query",
]

#: What a contact token in a URL path becomes.
PATH_MASK = "***"

_MAX_DIGITS = 19  # 10**19 > 2**63: a longer Retry-After is garbage, not a delay
_URL = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^\s/?#@'\"<>]*@)?"
    r"(?P<rest>[^\s?#'\"<>]*)(?P<query>[?#][^\s'\"<>]*)?"
)
_BARE_QUERY = re.compile(r"(?<=[\w/.-])\?[^\s'\"<>)]+")  # "url: /path?token=..." (requests)
_SIGNATURE = re.compile(
    r"\b(?P<name>requestSignature|signature|token|apiKey)=(?P<value>[^&\s]*)", re.IGNORECASE
)
#: A run of path text that may hold a base64 token (``/`` included: standard base64 has it).
_PATH_RUN = re.compile(r"(?<=/)[A-Za-z0-9+/_%=-]{16,}")
_B64_TEXT = re.compile(r"^[A-Za-z0-9+/_-]{16,}={0,2}$")
_DDS_PREFIXES = ("download/", "download-staging/")
# Bounds that keep scanning a long text linear: a token is short JSON (an id, a contact id,
# a signature), and standard base64 puts a "/" in about one character in 64.
_MAX_TOKEN_SEGMENTS = 8
_MAX_TOKEN_CHARS = 4096
#: Where a signature value in quoted text ends (``"…?requestSignature=S", …`` in JSON).
_QUOTED_END = re.compile(r"[\"'<>]")


def strip_query(url: str) -> str:
    """``url`` without its query string, fragment and user info (for journals and messages)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # a malformed port or bracket: cut by hand rather than fail a message
        return _mask_tokens(url.split("?", 1)[0].split("#", 1)[0])
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit((parts.scheme, netloc + port, _mask_tokens(parts.path), "", ""))


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
    text = _SIGNATURE.sub(lambda m: f"{m['name']}=***", text)
    text = _mask_tokens(text)
    return text if limit is None else one_line(text, limit)


def signature_values(text: str, name: str = "requestSignature") -> list[str]:
    """The values of every ``name=value`` parameter :func:`redact_url` masks, for ``name``.

    Compared case-insensitively, like the masking. A value ends where the URL holding it
    ends in quoted text (a quote or an angle bracket), and leading quotes are not part of it.
    """
    found = []
    for match in _SIGNATURE.finditer(text):
        if match["name"].lower() == name.lower():
            value = _QUOTED_END.split(match["value"].lstrip("\"'"), 1)[0]
            if value:
                found.append(value)
    return found


def decode_b64_json(text: str) -> JsonObject | None:
    """The JSON object behind a base64 text (a signature or a DDS token), or None.

    Standard and URL-safe base64 both count, padded or not; ``text`` is decoded as given
    (percent-decode it first where it comes from a URL).
    """
    if not _B64_TEXT.match(text):
        return None
    padded = (text + "=" * (-len(text) % 4)).encode()
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            value = json.loads(decode(padded))
        except (ValueError, binascii.Error):
            continue
        return value if isinstance(value, dict) else None
    return None


def contact_tokens(text: str) -> list[tuple[str, JsonObject]]:
    """Every contact token in a URL path in ``text``: (the token as written, its JSON).

    See the module docstring for what counts as a token. A token may span a few path
    segments (standard base64 has ``/``); at each place the longest one that decodes wins.
    """
    found: list[tuple[str, JsonObject]] = []
    for run in _PATH_RUN.finditer(text):
        segments = run.group().split("/")
        first = 0
        while first < len(segments):
            after_dds = first > 0 and f"{segments[first - 1]}/" in _DDS_PREFIXES
            for last in range(min(len(segments), first + _MAX_TOKEN_SEGMENTS), first, -1):
                candidate = "/".join(segments[first:last])
                decoded = _token(candidate, after_dds=after_dds)
                if decoded is not None:
                    found.append((candidate, decoded))
                    first = last
                    break
            else:
                first += 1
    return found


def _token(candidate: str, *, after_dds: bool) -> JsonObject | None:
    """The JSON of ``candidate`` when it is a contact token (module docstring), else None."""
    # "{" is 0x7B, so the base64 of a JSON object as serializers write it starts with "e":
    # a cheap test that spares decoding nearly every other path segment.
    if not candidate.startswith("e") or not 16 <= len(candidate) <= _MAX_TOKEN_CHARS:
        return None
    decoded = decode_b64_json(unquote(candidate))
    if decoded is None or not (after_dds or "contactId" in decoded):
        return None
    return decoded


def _mask_tokens(text: str) -> str:
    """``text`` with every contact token in a URL path replaced by :data:`PATH_MASK`."""
    for token, _decoded in contact_tokens(text):
        text = text.replace(token, PATH_MASK)
    return text


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
