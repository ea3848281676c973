"""Spatial filters of scene-search as polygons, and polygon intersection tests.

Tests are planar in lon/lat (good enough at scene scale) and real intersection tests, not
bounding-box tests, because M2M filters by the exact polygon: two polygons intersect when an
edge crosses or one contains a vertex of the other. Polygon holes are ignored (UNCERTAIN,
rare in AOIs).
"""

from __future__ import annotations

from collections.abc import Sequence

from .jsontypes import JSON, JsonValue

Point = tuple[float, float]
Ring = list[Point]


class SpatialFilterError(ValueError):
    """The spatialFilter object cannot be understood."""


def _point(obj: JsonValue) -> Point:
    # [lon, lat] arrays (official notebook) and {"longitude", "latitude"} objects (the
    # legacy form landsatxplore and usgsxplore send)
    if isinstance(obj, dict):
        return float(obj["longitude"]), float(obj["latitude"])
    return float(obj[0]), float(obj[1])


def _mbr(spec: JSON) -> list[Ring]:
    (x1, y1), (x2, y2) = _point(spec["lowerLeft"]), _point(spec["upperRight"])
    ylo, yhi = min(y1, y2), max(y1, y2)
    if x1 > x2:  # crosses the antimeridian
        return [_rect(x1, ylo, 180.0, yhi), _rect(-180.0, ylo, x2, yhi)]
    return [_rect(x1, ylo, x2, yhi)]


def _rect(x1: float, y1: float, x2: float, y2: float) -> Ring:
    return [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]


def _geojson(geom: JSON) -> list[Ring]:
    kind = str(geom.get("type", "")).lower()
    coords = geom.get("coordinates")
    if coords is None:
        raise SpatialFilterError("geoJson has no coordinates")
    if kind == "polygon":
        return [[_point(p) for p in coords[0]]]
    if kind == "multipolygon":
        return [[_point(p) for p in poly[0]] for poly in coords]
    if kind == "point":
        return [[_point(coords)]]
    if kind in ("linestring", "multipoint"):
        return [[_point(p) for p in coords]]
    raise SpatialFilterError(f"unsupported geoJson type {geom.get('type')!r}")


def parse_spatial(spec: JsonValue) -> list[Ring] | None:
    """Rings of a spatialFilter (``mbr`` or ``geojson``, any case), or None when absent."""
    if not spec:
        return None
    try:
        kind = str(spec.get("filterType", "")).lower()
        if kind == "mbr":
            return _mbr(spec)
        if kind == "geojson":
            return _geojson(spec.get("geoJson") or spec.get("geojson") or {})
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SpatialFilterError(f"invalid spatialFilter: {exc}") from exc
    raise SpatialFilterError(f"unknown spatialFilter filterType {spec.get('filterType')!r}")


def bbox(ring: Sequence[Point]) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat)."""
    xs = [p[0] for p in ring]
    ys = [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _inside(pt: Point, ring: Sequence[Point]) -> bool:
    x, y = pt
    inside = False
    n = len(ring)
    for i in range(n):
        (x1, y1), (x2, y2) = ring[i], ring[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _segments_meet(a: Point, b: Point, c: Point, d: Point) -> bool:
    d1, d2 = _cross(c, d, a), _cross(c, d, b)
    d3, d4 = _cross(a, b, c), _cross(a, b, d)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4):
        return True
    return any(
        _cross(p, q, r) == 0
        and min(p[0], q[0]) <= r[0] <= max(p[0], q[0])
        and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])
        for p, q, r in ((c, d, a), (c, d, b), (a, b, c), (a, b, d))
    )


def _edges(ring: Sequence[Point]) -> list[tuple[Point, Point]]:
    n = len(ring)
    return [(ring[i], ring[(i + 1) % n]) for i in range(n)] if n > 1 else []


def rings_intersect(a: Sequence[Point], b: Sequence[Point]) -> bool:
    """Whether two simple polygons (or a point/line given as a ring) share any point."""
    ax1, ay1, ax2, ay2 = bbox(a)
    bx1, by1, bx2, by2 = bbox(b)
    if ax1 > bx2 or bx1 > ax2 or ay1 > by2 or by1 > ay2:
        return False
    if any(_inside(p, b) for p in a) or any(_inside(p, a) for p in b):
        return True
    return any(_segments_meet(p, q, r, s) for p, q in _edges(a) for r, s in _edges(b))


def shifted(ring: Sequence[Point], dx: float) -> Ring:
    """``ring`` moved by ``dx`` degrees of longitude (antimeridian handling)."""
    return [(x + dx, y) for x, y in ring]


def footprint_hits(footprint: Sequence[Point], query: list[Ring]) -> bool:
    """Whether a scene footprint intersects any query ring, across the antimeridian too."""
    return any(
        rings_intersect(shifted(footprint, dx), ring)
        for ring in query
        for dx in (0.0, -360.0, 360.0)
    )
