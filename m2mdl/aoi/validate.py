"""Validation shared by every constructor: positions, rings, polygons, limits and topology.

Parsing checks structure (:func:`_parse_polygon` and below); :func:`_finish` then checks the
limits and each polygon's topology and builds the :class:`~m2mdl.aoi.Aoi`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from m2mdl.errors import AoiError

from . import limits
from .base import (
    _SIMPLIFY_HINT,
    _SWAP_HINT,
    Polygon,
    Position,
    Ring,
    _context,
    _Labeled,
    _short,
)
from .geometry import (
    _collinear,
    _orient_ring,
    _polygon_area_km2,
    _ring_bounds,
    _self_intersection,
    _signed_area2,
    _vertex_count,
)
from .model import Aoi

# --- structure --------------------------------------------------------------------------------


def _parse_polygon(raw: object, number: int) -> Polygon:
    """Parse one polygon's rings (structure only; topology is checked in _check_polygon)."""
    if not isinstance(raw, list) or not raw:
        raise AoiError(f"polygon {number} is not a non-empty list of rings: {_short(raw)}")
    rings = [_parse_ring(ring, f"ring {r} of polygon {number}") for r, ring in enumerate(raw, 1)]
    return tuple(_orient_ring(ring, ccw=(r == 0)) for r, ring in enumerate(rings))


def _parse_ring(raw: object, where: str) -> Ring:
    if not isinstance(raw, list) or not raw:
        raise AoiError(f"{where} is not a non-empty list of positions: {_short(raw)}")
    positions = [_parse_position(p, f"position {k} of {where}") for k, p in enumerate(raw, 1)]
    if len(positions) < 4:
        raise AoiError(
            f"{where} has {len(positions)} positions {_short(raw)};"
            " a ring needs at least 4, the first repeated as the last"
        )
    if positions[0] != positions[-1]:
        raise AoiError(
            f"{where} is not closed: first {_short(positions[0])} != last {_short(positions[-1])}",
            hint="repeat the first position at the end (RFC 7946 §3.1.6)",
        )
    return _check_ring(positions, where)


def _parse_position(raw: object, where: str) -> Position:
    """Parse a [lon, lat] or [lon, lat, alt] position (the altitude is dropped)."""
    if not isinstance(raw, (list, tuple)) or not 2 <= len(raw) <= 3:
        raise AoiError(f"{where} is not a position of 2 or 3 numbers [lon, lat]: {_short(raw)}")
    values: list[float] = []
    for value in raw:
        # bool is an int subclass; true/false in JSON is a mistake, not a coordinate.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AoiError(f"{where} holds {_short(value)}, not a number: {_short(raw)}")
        try:
            values.append(float(value))
        except OverflowError:  # an int too big for a float
            values.append(math.inf)
    if not all(math.isfinite(v) for v in values):
        raise AoiError(f"{where} is not finite: {_short(raw)}")
    return _check_lon_lat(values[0], values[1], f"{where} {_short(raw)}")


def _check_lon_lat(lon: float, lat: float, what: str) -> Position:
    if not -90.0 <= lat <= 90.0:
        swapped = abs(lon) <= 90.0 and abs(lat) <= 180.0
        raise AoiError(
            f"{what}: latitude {lat!r} is outside [-90, 90]", hint=_SWAP_HINT if swapped else None
        )
    if not -180.0 <= lon <= 180.0:
        wrapped = 180.0 < lon <= 360.0
        hint = "longitudes run from -180 to 180: subtract 360 from values over 180"
        raise AoiError(
            f"{what}: longitude {lon!r} is outside [-180, 180]", hint=hint if wrapped else None
        )
    return (lon, lat)


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AoiError(f"{name} {_short(value)} is not a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise AoiError(f"{name} {value!r} is not a finite number")
    return number


# --- ring and polygon checks ------------------------------------------------------------------


def _check_ring(positions: Sequence[Position], where: str) -> Ring:
    """Drop consecutive repeats and reject rings without area (given a closed ring)."""
    ring = [positions[0]]
    ring += [p for prev, p in pairwise(positions) if p != prev]
    distinct = set(ring)
    if len(distinct) < 3:
        raise AoiError(
            f"{where} has only {len(distinct)} distinct position(s)"
            f" {_short(sorted(distinct))}: it encloses no area"
        )
    line = _collinear(ring)
    if line is not None:
        raise AoiError(
            f"{where} is degenerate: all {len(ring) - 1} positions lie on the line"
            f" {_short(line[0])} to {_short(line[1])}, enclosing no area"
        )
    return tuple(ring)


def _check_polygon(poly: Polygon, number: int) -> None:
    """Topology checks of one polygon, run after the vertex count is known to be sane.

    Each ring must not jump across the antimeridian or cross itself; each hole must lie within
    its outer ring's bounds (crossings between a hole and its outer ring are not looked for).
    """
    for r, ring in enumerate(poly, 1):
        where = f"ring {r} of polygon {number}"
        for a, b in pairwise(ring):
            if abs(b[0] - a[0]) > 180.0:
                raise AoiError(
                    f"{where} jumps {abs(b[0] - a[0]):g} degrees of longitude from {_short(a)}"
                    f" to {_short(b)}: it looks like it crosses the antimeridian",
                    hint="split it at longitude 180 into two polygons (RFC 7946 §3.1.9)",
                )
        crossing = _self_intersection(ring)
        if crossing is not None:
            i, j = crossing
            raise AoiError(
                f"{where} crosses itself: edge {_short(ring[i : i + 2])}"
                f" meets edge {_short(ring[j : j + 2])}",
                hint="put the vertices in boundary order (a bow-tie has two of them swapped)",
            )
    shell = _ring_bounds(poly[0])
    for r, hole in enumerate(poly[1:], 2):
        box = _ring_bounds(hole)
        if not (
            shell[0] <= box[0] <= box[2] <= shell[2] and shell[1] <= box[1] <= box[3] <= shell[3]
        ):
            raise AoiError(
                f"ring {r} of polygon {number} is a hole but reaches outside the outer ring:"
                f" hole bounds {_short(box)}, outer ring bounds {_short(shell)}"
            )
    # Planar, not ellipsoidal: tiny boxes near a pole would round to zero km².
    if _signed_area2(poly[0]) + sum(_signed_area2(hole) for hole in poly[1:]) <= 0.0:
        raise AoiError(f"polygon {number} has no area left once its holes are cut out")


def _labeled_pieces(pieces: list[list[Position]], where: str) -> list[_Labeled]:
    many = len(pieces) > 1
    labeled: list[_Labeled] = []
    for k, piece in enumerate(pieces, 1):
        name = f"{where} (part {k} of {len(pieces)})" if many else where
        ring = _orient_ring(_check_ring(piece, name), ccw=True)
        labeled.append(("", k, (ring,)))
    return labeled


def _finish(labeled: list[_Labeled], source: str) -> Aoi:
    """Check limits and topology, then build the Aoi."""
    polygons = tuple(poly for _, _, poly in labeled)
    vertices = _vertex_count(polygons)
    # Counted before the O(n²) checks so a huge input fails fast.
    if vertices > limits.MAX_VERTICES:
        raise AoiError(
            f"the AOI has {vertices:,} vertices, more than the {limits.MAX_VERTICES:,} limit",
            hint=_SIMPLIFY_HINT,
        )
    for prefix, number, poly in labeled:
        with _context(prefix):
            _check_polygon(poly, number)
    area = sum(_polygon_area_km2(poly) for poly in polygons)
    if area > limits.MAX_AREA_KM2:
        raise AoiError(
            f"the AOI covers {area:,.0f} km², more than the {limits.MAX_AREA_KM2:,.0f} km² limit",
            hint="a search that wide matches a large share of the archive; use a smaller area",
        )
    return Aoi(polygons=polygons, source=source)
