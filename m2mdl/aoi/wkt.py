"""WKT input: :func:`aoi_from_wkt` and its small tokenizer and parser."""

from __future__ import annotations

import re
from typing import Any

from m2mdl.errors import AoiError

from .base import _NOT_AN_AREA, _Labeled, _not_an_area, _short
from .model import Aoi
from .validate import _finish, _parse_polygon

_WKT_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
        | (?P<word>[A-Za-z]+)
        | (?P<punct>[(),])
        | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_WKT_NOT_AREA = {name.upper(): name for name in _NOT_AN_AREA}  # "LINESTRING" -> "LineString"

# A WKT token: ("num", 1.5), ("word", "POLYGON") or ("punct", "(").
_Token = tuple[str, Any]


def aoi_from_wkt(text: str) -> Aoi:
    """Parse a WKT (or EWKT with SRID=4326) POLYGON or MULTIPOLYGON, holes allowed.

    Case-insensitive and tolerant of whitespace; Z, M and ZM coordinates are accepted and the
    extra values dropped; open rings are closed.

    Raises:
        AoiError: the text is not such WKT, or the shape is not a valid area.
    """
    body = text.strip()
    offset = len(text) - len(text.lstrip())  # where body starts in text, for messages
    srid = re.match(r"SRID\s*=\s*(\d+)\s*;", body, re.IGNORECASE)
    if srid:
        if srid.group(1) != "4326":
            raise AoiError(f"WKT SRID={srid.group(1)} is not WGS84 lon/lat (SRID=4326)")
        body = body[srid.end() :]
        offset += srid.end()
    tokens = _wkt_tokens(body, offset)
    kind, dims, pos = _wkt_header(tokens, text)
    nested, pos = _wkt_list(tokens, pos, 1)
    if pos != len(tokens):
        raise AoiError(f"WKT has {tokens[pos][1]!r} after the end of the {kind}")
    raw_polygons = [nested] if kind == "POLYGON" else nested
    labeled: list[_Labeled] = []
    for number, raw in enumerate(raw_polygons, 1):
        rings = _wkt_rings(raw, number, dims)
        labeled.append(("", number, _parse_polygon(rings, number)))
    return _finish(labeled, "wkt")


def _wkt_tokens(body: str, offset: int) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(body):
        match = _WKT_TOKEN.match(body, pos)
        if match is None:  # only trailing whitespace is left
            break
        kind = match.lastgroup or "bad"
        if kind == "bad":
            where = offset + match.start(kind) + 1  # 1-based, in the text as given
            raise AoiError(f"WKT has an unexpected {match.group(kind)!r} at character {where}")
        value: Any = float(match.group(kind)) if kind == "num" else match.group(kind)
        tokens.append((kind, value))
        pos = match.end()
    return tokens


def _wkt_header(tokens: list[_Token], text: str) -> tuple[str, int, int]:
    """Return (geometry type, numbers per position, index of the opening parenthesis)."""
    if not tokens or tokens[0][0] != "word":
        raise AoiError(f"WKT must start with POLYGON or MULTIPOLYGON: {_short(text[:60])}")
    kind = str(tokens[0][1]).upper()
    pos, dims = 1, 2
    if pos < len(tokens) and str(tokens[pos][1]).upper() in ("Z", "M", "ZM"):
        dims += len(tokens[pos][1])
        pos += 1
    if kind in _WKT_NOT_AREA:
        noun = _WKT_NOT_AREA[kind]
        raise _not_an_area(noun)
    if kind not in ("POLYGON", "MULTIPOLYGON"):
        raise AoiError(f"unsupported WKT type {kind!r}; expected POLYGON or MULTIPOLYGON")
    if pos < len(tokens) and str(tokens[pos][1]).upper() == "EMPTY":
        raise AoiError(f"WKT {kind} EMPTY has no area")
    if pos >= len(tokens) or tokens[pos][1] != "(":
        found = repr(tokens[pos][1]) if pos < len(tokens) else "the end"
        raise AoiError(f"WKT {kind} needs '(' but has {found}")
    return kind, dims, pos


def _wkt_list(tokens: list[_Token], pos: int, depth: int) -> tuple[list[object], int]:
    """Parse '(' item, item ... ')' from tokens[pos]; items are lists or number tuples."""
    if depth > 3:
        raise AoiError("WKT nests parentheses deeper than a MULTIPOLYGON can")
    items: list[object] = []
    item: object
    pos += 1
    while True:
        if pos < len(tokens) and tokens[pos][1] == "(":
            item, pos = _wkt_list(tokens, pos, depth + 1)
        else:
            start = pos
            while pos < len(tokens) and tokens[pos][0] == "num":
                pos += 1
            if pos == start:
                found = repr(tokens[pos][1]) if pos < len(tokens) else "the end"
                raise AoiError(f"WKT has {found} where a number or '(' was expected")
            item = tuple(value for _, value in tokens[start:pos])
        items.append(item)
        if pos < len(tokens) and tokens[pos][1] == ",":
            pos += 1
        elif pos < len(tokens) and tokens[pos][1] == ")":
            return items, pos + 1
        else:
            found = repr(tokens[pos][1]) if pos < len(tokens) else "the end"
            raise AoiError(f"WKT has {found} where ',' or ')' was expected")


def _wkt_rings(raw: object, number: int, dims: int) -> list[list[list[float]]]:
    """Turn one parsed WKT polygon into closed GeoJSON-style rings."""
    if not isinstance(raw, list):
        raise AoiError(f"WKT polygon {number} is not a list of rings: {_short(raw)}")
    rings: list[list[list[float]]] = []
    for r, raw_ring in enumerate(raw, 1):
        where = f"ring {r} of polygon {number}"
        if not isinstance(raw_ring, list) or not all(isinstance(p, tuple) for p in raw_ring):
            raise AoiError(f"WKT {where} is not a list of positions: {_short(raw_ring)}")
        for k, p in enumerate(raw_ring, 1):
            if len(p) != dims:
                raise AoiError(
                    f"WKT position {k} of {where} has {len(p)} numbers {_short(p)}, not {dims}"
                )
        ring = [[p[0], p[1]] for p in raw_ring]
        rings.append(ring if ring[0] == ring[-1] else [*ring, ring[0]])
    return rings
