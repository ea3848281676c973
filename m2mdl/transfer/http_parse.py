"""Parsers for the HTTP headers the engine trusts (Content-Range, Content-Disposition).

Each parser is strict: a malformed Content-Range must never be "mostly" accepted, because a
wrong offset silently corrupts the file (docs/design.md §Transfer engine: resume protocol; accept
only a 206 whose Content-Range starts where we asked).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from .errors import HeaderError

_MAX_DIGITS = 19  # 10**19 > 2**63: no real file is larger; longer numbers are garbage
_NUM = rf"(\d{{1,{_MAX_DIGITS}}})"
_CONTENT_RANGE = re.compile(rf"bytes[ \t]+{_NUM}-{_NUM}/(?:{_NUM}|\*)", re.IGNORECASE | re.ASCII)
_UNSATISFIED = re.compile(rf"bytes[ \t]+\*/{_NUM}", re.IGNORECASE | re.ASCII)
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


def _show(header: str) -> str:
    """Quote a bad header value for an error message, shortened."""
    return repr(header[:80])
