"""Pure planar and ellipsoidal geometry on (lon, lat) rings; no parsing and no messages.

Ellipsoidal area and a display centroid, bounds, orientation, collinearity, segment
intersection, point in polygon, polygon/footprint intersection and the self-intersection sweep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from . import limits
from .base import Bounds, Polygon, Position, Ring

# WGS84 ellipsoid, in km.
_A = 6378.137
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
_E = math.sqrt(_E2)


# A ring is collinear when every vertex lies within this fraction of its extent from the line
# through its farthest vertex from the first: far above float noise (~1e-16), far below any
# real shape (a strip 1 cm wide and 180 degrees long is still accepted).
_COLLINEAR_TOLERANCE = 1e-12


def _vertex_count(polygons: Sequence[Polygon]) -> int:
    return sum(len(ring) - 1 for poly in polygons for ring in poly)


def _ring_bounds(ring: Sequence[Position]) -> Bounds:
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    return (min(lons), min(lats), max(lons), max(lats))


# --- area and centroid ------------------------------------------------------------------------


def _authalic_q(lat: float) -> float:
    """Snyder's q(phi) (Map Projections, eq. 3-12): area below a latitude on the ellipsoid."""
    s = math.sin(math.radians(lat))
    es = _E * s
    return (1 - _E2) * (s / (1 - _E2 * s * s) - math.log((1 - es) / (1 + es)) / (2 * _E))


def _ring_area_km2(ring: Ring) -> float:
    """Unsigned WGS84 area of a closed ring whose edges are straight in lon/lat.

    Green's theorem on the authalic sphere: area = a²/2 |∮ q(phi) d(lambda)|, integrated with
    the trapezoid rule, which is exact along parallels and meridians.
    """
    n = len(ring) - 1
    total = 0.0
    for i in range(n):
        previous_lon = ring[i - 1][0] if i > 0 else ring[n - 1][0]
        total += (ring[i + 1][0] - previous_lon) * _authalic_q(ring[i][1])
    return abs(total) * math.radians(1.0) * _A * _A / 4.0


def _polygon_area_km2(poly: Polygon) -> float:
    return _ring_area_km2(poly[0]) - sum(_ring_area_km2(hole) for hole in poly[1:])


def _centroid(polygons: Sequence[Polygon], bounds: Bounds) -> Position:
    """Area-weighted planar centroid in lon/lat (for display, not a geodesic centroid)."""
    west, south, east, north = bounds
    crosses = west > east  # move the parts west of the antimeridian east by 360 degrees

    def unwrap(lon: float) -> float:
        return lon + 360.0 if crosses and lon < west else lon

    rx, ry = unwrap(polygons[0][0][0][0]), polygons[0][0][0][1]
    area2 = mx = my = 0.0
    for ring in (ring for poly in polygons for ring in poly):
        pts = [(unwrap(lon) - rx, lat - ry) for lon, lat in ring]
        for (x0, y0), (x1, y1) in pairwise(pts):
            cross = x0 * y1 - x1 * y0
            area2 += cross
            mx += (x0 + x1) * cross
            my += (y0 + y1) * cross
    if area2 == 0.0:
        return ((west + east) / 2, (south + north) / 2)
    lon = rx + mx / (3 * area2)
    return (lon - 360.0 if lon > 180.0 else lon, ry + my / (3 * area2))


# --- rings ------------------------------------------------------------------------------------


def _closed(points: Sequence[Position]) -> list[Position]:
    """Drop consecutive repeats and make first == last."""
    ring = [points[0]]
    ring += [p for prev, p in pairwise(points) if p != prev]
    if len(ring) > 1 and ring[-1] == ring[0]:
        ring.pop()
    return [*ring, ring[0]]


def _collinear(ring: Sequence[Position]) -> tuple[Position, Position] | None:
    """Return the line all vertices lie on (within _COLLINEAR_TOLERANCE), or None."""
    x0, y0 = ring[0]
    far = max(ring, key=lambda p: (p[0] - x0) ** 2 + (p[1] - y0) ** 2)
    vx, vy = far[0] - x0, far[1] - y0
    limit = _COLLINEAR_TOLERANCE * (vx * vx + vy * vy)  # |cross| / |v| <= tol * |v|
    if all(abs(vx * (y - y0) - vy * (x - x0)) <= limit for x, y in ring):
        return (ring[0], far)
    return None


def _signed_area2(ring: Sequence[Position]) -> float:
    """Twice the planar signed area in degrees² (positive: counterclockwise)."""
    x0, y0 = ring[0]
    # Relative to the first vertex, so large coordinates do not swamp small rings.
    return sum((a[0] - x0) * (b[1] - y0) - (b[0] - x0) * (a[1] - y0) for a, b in pairwise(ring))


def _orient_ring(ring: Ring, ccw: bool) -> Ring:
    return ring if (_signed_area2(ring) > 0) == ccw else ring[::-1]


# --- segments and self-intersection -----------------------------------------------------------


def _self_intersection(ring: Ring) -> tuple[int, int] | None:
    """Return the indices of two edges that cross or touch (other than at a shared vertex).

    A sweep: edges are taken in order of their low end along the ring's longer axis, and only
    edges whose ranges overlap on both axes are compared. Ordinary rings (circles, coastlines,
    long strips) stay near-linear, but the worst case (a star of long spikes) is O(n²), so
    rings over SELF_INTERSECTION_MAX_VERTICES are not checked.
    """
    n = len(ring) - 1  # edges; edge i runs from ring[i] to ring[i + 1]
    if n > limits.SELF_INTERSECTION_MAX_VERTICES:
        return None
    west, south, east, north = _ring_bounds(ring)
    axis = 0 if east - west >= north - south else 1
    # (low, high) along the sweep axis, then (low, high) across it, per edge.
    boxes = [
        (
            min(a[axis], b[axis]),
            max(a[axis], b[axis]),
            min(a[1 - axis], b[1 - axis]),
            max(a[1 - axis], b[1 - axis]),
        )
        for a, b in pairwise(ring)
    ]
    active: list[int] = []
    for i in sorted(range(n), key=lambda k: boxes[k][0]):
        low, _, across_low, across_high = boxes[i]
        active = [j for j in active if boxes[j][1] >= low]
        for j in active:
            if boxes[j][2] <= across_high and across_low <= boxes[j][3]:
                first, second = min(i, j), max(i, j)
                if _edges_conflict(ring, first, second, n):
                    return (first, second)
        active.append(i)
    return None


def _edges_conflict(ring: Ring, i: int, j: int, n: int) -> bool:
    """Tell whether edges i < j of a ring with n edges meet anywhere they should not."""
    if j == i + 1 or (i == 0 and j == n - 1):
        # Neighbours share a vertex; they conflict only if they fold back over each other
        # (a spike: collinear and pointing the same way from the shared vertex).
        if j == i + 1:
            shared, a, c = ring[j], ring[i], ring[j + 1]
        else:  # the first and last edges meet at the closing vertex
            shared, a, c = ring[0], ring[n - 1], ring[1]
        ax, ay, cx, cy = a[0] - shared[0], a[1] - shared[1], c[0] - shared[0], c[1] - shared[1]
        return ax * cy - ay * cx == 0.0 and ax * cx + ay * cy > 0.0
    return _segments_intersect(ring[i], ring[i + 1], ring[j], ring[j + 1])


def _orientation(a: Position, b: Position, c: Position) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Position, b: Position, p: Position) -> bool:
    """Given p collinear with a-b, tell whether p lies on the segment."""
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _segments_intersect(a: Position, b: Position, c: Position, d: Position) -> bool:
    """Tell whether segments a-b and c-d share a point (touching counts); symmetric."""
    d1, d2 = _orientation(c, d, a), _orientation(c, d, b)
    d3, d4 = _orientation(a, b, c), _orientation(a, b, d)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return (
        (d1 == 0 and _on_segment(c, d, a))
        or (d2 == 0 and _on_segment(c, d, b))
        or (d3 == 0 and _on_segment(a, b, c))
        or (d4 == 0 and _on_segment(a, b, d))
    )


# --- intersection -----------------------------------------------------------------------------


def _boxes_overlap(a: Bounds, b: Bounds) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _polygon_meets(poly: Polygon, footprint: list[Position]) -> bool:
    box = _ring_bounds(footprint)
    if not _boxes_overlap(_ring_bounds(poly[0]), box):
        return False
    edges = list(pairwise(footprint))
    for ring in poly:
        for a, b in pairwise(ring):
            edge_box = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
            if _boxes_overlap(edge_box, box) and any(
                _segments_intersect(a, b, c, d) for c, d in edges
            ):
                return True
    # No boundaries meet, so either one lies inside the other or they are apart.
    inside_aoi = _point_in_ring(footprint[0], poly[0]) and not any(
        _point_in_ring(footprint[0], hole) for hole in poly[1:]
    )
    return inside_aoi or _point_in_ring(poly[0][0], footprint)


def _point_in_ring(p: Position, ring: Sequence[Position]) -> bool:
    """Even-odd ray casting; points on the boundary are handled by the edge test instead."""
    x, y = p
    inside = False
    for (x0, y0), (x1, y1) in pairwise(ring):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside
