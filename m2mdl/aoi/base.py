"""What every module of :mod:`m2mdl.aoi` shares: coordinate types and the wording of errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from m2mdl.errors import AoiError, NotAnArea, ParameterError

Position = tuple[float, float]  # (lon, lat) in degrees
Ring = tuple[Position, ...]  # closed: first == last
Polygon = tuple[Ring, ...]  # outer ring first, then holes
Bounds = tuple[float, float, float, float]  # west, south, east, north


_SWAP_HINT = "looks like [lat, lon]; GeoJSON order is [lon, lat] (WKT: LON LAT)"
_BBOX_SWAP_HINT = "looks like lat/lon order; a bbox is WEST SOUTH EAST NORTH"
_SIMPLIFY_HINT = (
    "simplify it first, e.g. `mapshaper in.geojson -simplify 10% -o out.geojson`"
    " or `ogr2ogr -simplify 0.001 out.geojson in.geojson`"
)
# NotAnArea templates: the CLI spells ${aoi_from_point} as the command that makes an area
_POINT_ADVICE = "use ${aoi_from_point}"
_LINE_ADVICE = "buffer the line into a Polygon first (e.g. QGIS Buffer or ogr2ogr -sql ST_Buffer)"
_NOT_AN_AREA = {
    "Point": _POINT_ADVICE,
    "MultiPoint": _POINT_ADVICE,
    "LineString": _LINE_ADVICE,
    "MultiLineString": _LINE_ADVICE,
}


# (prefix naming the feature/geometry, polygon number within it, polygon), kept from parsing
# to validation so topology errors can still say which feature they come from.
_Labeled = tuple[str, int, Polygon]


@contextmanager
def _context(prefix: str) -> Iterator[None]:
    """Prefix the message of any AoiError raised inside with where it happened."""
    try:
        yield
    except AoiError as exc:
        if isinstance(exc, ParameterError):
            raise exc.prefixed(prefix) from None
        raise AoiError(f"{prefix}{exc.message}", hint=exc.hint) from None


def _not_an_area(kind: str) -> NotAnArea:
    """The error for a GeoJSON type that has no area (a key of ``_NOT_AN_AREA``), with advice."""
    return NotAnArea(f"a {kind} is not an area; {_NOT_AN_AREA[kind]}")


def _short(value: object, limit: int = 80) -> str:
    """Render a value for a message: JSON-like, cut to ``limit`` characters."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        try:
            text = repr(value)
        except (ValueError, RecursionError):  # e.g. an int beyond Python's digit limit
            text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"
