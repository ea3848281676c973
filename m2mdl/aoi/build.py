"""AOIs built from numbers: a bounding box, a circle around a point, or a list of points."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from m2mdl.errors import AoiError

from . import limits
from .antimeridian import _split_at_antimeridian
from .base import _BBOX_SWAP_HINT, Position, Ring, _Labeled
from .geometry import _A, _E2, _closed
from .model import Aoi
from .validate import _check_lon_lat, _finish, _labeled_pieces, _number, _parse_position

# Smaller boxes are rounding noise (and would look collinear to _COLLINEAR_TOLERANCE).
_MIN_BOX_DEGREES = 1e-7


def aoi_from_bbox(west: float, south: float, east: float, north: float) -> Aoi:
    """Build an AOI from a bounding box in degrees.

    A box with west > east crosses the antimeridian and becomes two polygons, [west, 180] and
    [-180, east]; :meth:`Aoi.bounds` gives back the input. Boxes wider than 180 degrees get a
    vertex in the middle of each long edge so no edge spans more than 180 degrees.

    Raises:
        AoiError: a value is not a finite number or out of range, south >= north, west == east,
            or a side (or one side of the antimeridian) is under ``_MIN_BOX_DEGREES``.
    """
    w, s = _number(west, "west"), _number(south, "south")
    e, n = _number(east, "east"), _number(north, "north")
    for name, value in (("south", s), ("north", n)):
        if not -90.0 <= value <= 90.0:
            swapped = abs(w) <= 90 and abs(e) <= 90
            raise AoiError(
                f"bbox {name} {value!r} is outside [-90, 90]",
                hint=_BBOX_SWAP_HINT if swapped else None,
            )
    for name, value in (("west", w), ("east", e)):
        if not -180.0 <= value <= 180.0:
            raise AoiError(f"bbox {name} {value!r} is outside [-180, 180]")
    if s >= n:
        raise AoiError(f"bbox south {s!r} is not less than north {n!r}")
    if w == e:
        raise AoiError(f"bbox west {w!r} equals east {e!r}: the box has no width")
    spans = [(w, e)] if w < e else [(w, 180.0), (-180.0, e)]
    for lo, hi in [*spans, (s, n)]:
        if hi - lo < _MIN_BOX_DEGREES:
            crossing = " (west > east: the box crosses the antimeridian)" if w > e else ""
            raise AoiError(
                f"bbox west {w!r} south {s!r} east {e!r} north {n!r} has a side of"
                f" {hi - lo:.3g} degrees, under {_MIN_BOX_DEGREES:g} (about 1 cm){crossing}"
            )
    labeled: list[_Labeled] = [
        ("", k, (_box_ring(lo, s, hi, n),)) for k, (lo, hi) in enumerate(spans, 1)
    ]
    return _finish(labeled, "bbox")


def aoi_from_point(lon: float, lat: float, radius_km: float, vertices: int = 32) -> Aoi:
    """Build a circle around a point as a polygon.

    The circle is drawn on the sphere that osculates the WGS84 ellipsoid at ``lat`` and the
    polygon circumscribes it (edge midpoints lie on the circle), so it covers every point
    within ``radius_km``; its area is pi r² to within about 0.5% at 32 vertices.

    Args:
        lon: centre longitude in degrees.
        lat: centre latitude in degrees.
        radius_km: radius, > 0 and <= 500 km.
        vertices: number of polygon vertices, 8 to 1,000.

    Raises:
        AoiError: a value is out of range, or the circle reaches a pole.
    """
    centre = _check_lon_lat(_number(lon, "lon"), _number(lat, "lat"), "point")
    radius = _number(radius_km, "radius_km")
    if not 0.0 < radius <= limits.MAX_RADIUS_KM:
        raise AoiError(f"radius {radius!r} km is not in (0, {limits.MAX_RADIUS_KM:g}] km")
    if isinstance(vertices, bool) or not isinstance(vertices, int) or not 8 <= vertices <= 1000:
        raise AoiError(f"vertices {vertices!r} is not a whole number from 8 to 1000")
    ring = _circle_ring(centre, radius, vertices)
    pieces = _split_at_antimeridian(ring) if any(abs(p[0]) > 180 for p in ring) else [ring]
    return _finish(_labeled_pieces(pieces, "the circle"), "point")


def aoi_from_points(points: Sequence[tuple[float, float]], source: str) -> Aoi:
    """Build a one-ring AOI from (lon, lat) points in boundary order, closing the ring.

    Made for footprints such as the corners M2M's grid2ll returns for a WRS path/row. When the
    ring jumps more than 180 degrees of longitude it is taken to cross the antimeridian and is
    split there (this assumes a convex footprint).

    Args:
        points: (lon, lat) vertices in boundary order; the closing point is optional.
        source: a label kept in ``Aoi.source``, e.g. "wrs 068/017".

    Raises:
        AoiError: fewer than 3 distinct points, a bad coordinate, or a self-crossing ring.
    """
    where = f"the ring through the points of {source}"
    if not points:
        raise AoiError(f"{where} has no points")
    ring = _closed([_parse_position(p, f"point {k} of {source}") for k, p in enumerate(points, 1)])
    pieces = [ring]
    if any(abs(q[0] - p[0]) > 180 for p, q in pairwise(ring)):
        pieces = _split_at_antimeridian([(x + 360 if x < 0 else x, y) for x, y in ring])
    return _finish(_labeled_pieces(pieces, where), source)


def _box_ring(west: float, south: float, east: float, north: float) -> Ring:
    """A counterclockwise box; long edges get a midpoint so none spans > 180 degrees."""
    if east - west > 180.0:
        mid = (west + east) / 2
        return (
            (west, south), (mid, south), (east, south),
            (east, north), (mid, north), (west, north), (west, south),
        )  # fmt: skip
    return ((west, south), (east, south), (east, north), (west, north), (west, south))


def _circle_ring(centre: Position, radius_km: float, vertices: int) -> list[Position]:
    """A closed circumscribed polygon; longitudes are not wrapped into [-180, 180]."""
    lon0, lat0 = centre
    phi = math.radians(lat0)
    w = 1 - _E2 * math.sin(phi) ** 2
    meridional, normal = _A * (1 - _E2) / w**1.5, _A / math.sqrt(w)
    # Push vertices out so the edge midpoints, not the vertices, lie on the circle.
    d = radius_km / math.cos(math.pi / vertices) / math.sqrt(meridional * normal)
    if abs(lat0) + math.degrees(d) >= 90.0:
        pole = "North" if lat0 > 0 else "South"
        raise AoiError(
            f"a {radius_km:g} km circle around ({lon0!r}, {lat0!r}) reaches the {pole} Pole",
            hint="use a bbox for areas around a pole",
        )
    ring: list[Position] = []
    for k in range(vertices):
        theta = -2 * math.pi * k / vertices  # bearing; decreasing gives counterclockwise
        sin_lat = math.sin(phi) * math.cos(d) + math.cos(phi) * math.sin(d) * math.cos(theta)
        lat = math.asin(max(-1.0, min(1.0, sin_lat)))
        dlon = math.atan2(
            math.sin(theta) * math.sin(d) * math.cos(phi), math.cos(d) - math.sin(phi) * sin_lat
        )
        ring.append((lon0 + math.degrees(dlon), math.degrees(lat)))
    return _closed(ring)
