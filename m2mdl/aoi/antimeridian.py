"""The antimeridian: split rings that cross it, unwrap footprints, and wrap longitude ranges."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from .base import Position, _short
from .geometry import _closed, _collinear


def _wrapped_lon_range(spans: list[tuple[float, float]]) -> tuple[float, float]:
    """Return the smallest (west, east) covering all spans on the circle of longitude.

    The largest gap between the spans is left out; if that gap is the one across the
    antimeridian, the plain (min, max) results, otherwise west > east.
    """
    merged: list[list[float]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    best_gap = merged[0][0] + 360.0 - merged[-1][1]  # the gap across the antimeridian
    west, east = merged[0][0], merged[-1][1]
    for left, right in pairwise(merged):
        if right[0] - left[1] > best_gap:
            best_gap, west, east = right[0] - left[1], right[0], left[1]
    return (west, east)


def _clip(ring: Sequence[Position], x: float, keep_east: bool) -> list[Position]:
    """Clip a closed ring to one side of the meridian x (Sutherland-Hodgman, one plane)."""
    out: list[Position] = []
    for p, q in pairwise(ring):
        p_in = p[0] >= x if keep_east else p[0] <= x
        q_in = q[0] >= x if keep_east else q[0] <= x
        if p_in:
            out.append(p)
        if p_in != q_in and p[0] != x and q[0] != x:
            t = (x - p[0]) / (q[0] - p[0])
            out.append((x, p[1] + t * (q[1] - p[1])))
    return _closed(out) if out else []


def _split_at_antimeridian(ring: Sequence[Position]) -> list[list[Position]]:
    """Cut a ring with unwrapped longitudes (in [-540, 540]) into pieces within [-180, 180].

    Exact for rings whose part on each side of +-180 is connected, such as circles and
    convex footprints.
    """
    pieces: list[list[Position]] = []
    for offset in (-360.0, 0.0, 360.0):
        part = _clip(_clip(_closed(ring), offset - 180.0, True), offset + 180.0, False)
        if len(set(part)) >= 3 and _collinear(part) is None:
            pieces.append([(lon - offset, lat) for lon, lat in part])
    return pieces


def _footprint_variants(ring: Sequence[tuple[float, float]]) -> list[list[Position]]:
    points = [(float(lon), float(lat)) for lon, lat in ring]
    if not points:
        raise ValueError("the footprint ring is empty")
    if not all(math.isfinite(v) for p in points for v in p):
        raise ValueError(f"the footprint ring holds a non-finite value: {_short(points)}")
    closed = _closed(points)
    if not any(abs(q[0] - p[0]) > 180.0 for p, q in pairwise(closed)):
        return [closed]
    unwrapped = [(lon + 360.0 if lon < 0 else lon, lat) for lon, lat in closed]
    return [unwrapped, [(lon - 360.0, lat) for lon, lat in unwrapped]]
