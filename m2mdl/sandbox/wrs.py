"""Approximate WRS-2 grid: scene centres and footprints from a circular-orbit model.

WRS-2 has 233 paths and 248 rows per orbit; row 60 crosses the equator on the descending
(daytime) pass, path 1 crosses it near 64.6 W and paths step 360/233 degrees westwards.
The model (98.2 degree inclination, 98.9 min period, Earth rotation during the pass) lands
within about 0.05 degrees of the recorded centres once geocentric latitude is converted to
geodetic (checked against 068/017, 068/018 of the 2025 notebook run and 226/078 of the kapadia
scene-metadata recording).
"""

from __future__ import annotations

import math

PATHS = 233
ROWS = 248
DAY_ROWS = range(1, 123)  # descending (daytime) rows; 123..248 are night passes

_INCLINATION = math.radians(98.2)
_PERIOD_MIN = 98.88
_EARTH_DEG_PER_MIN = 360.0 / 1436.07
_PATH1_NODE_LON = -64.60
_ROW_ARC = 360.0 / ROWS
_E2 = 0.00669438  # WGS84 first eccentricity squared
# Footprint half sizes, fitted to recorded spatialBounds (226/078 spans 2.30 x 2.10 degrees):
# the data extent of a scene is larger than the nominal 170 x 185 km.
_HALF_ALONG_KM = 96.0
_HALF_ACROSS_KM = 98.0
_KM_PER_DEG = 111.32

Point = tuple[float, float]  # (lon, lat)


def _wrap_lon(lon: float) -> float:
    """Bring a longitude into [-180, 180)."""
    return (lon + 180.0) % 360.0 - 180.0


def _track_point(path: int, arc_from_node: float) -> Point:
    """Sub-satellite point ``arc_from_node`` degrees after the descending node of ``path``."""
    u = math.radians(180.0 + arc_from_node)
    geocentric = math.asin(math.sin(_INCLINATION) * math.sin(u))
    lat = math.degrees(math.atan(math.tan(geocentric) / (1.0 - _E2)))
    inertial = math.degrees(math.atan2(math.cos(_INCLINATION) * math.sin(u), math.cos(u)))
    rel = (inertial - 180.0 + 540.0) % 360.0 - 180.0
    minutes = arc_from_node / 360.0 * _PERIOD_MIN
    node_lon = _PATH1_NODE_LON - (path - 1) * 360.0 / PATHS
    return _wrap_lon(node_lon + rel - _EARTH_DEG_PER_MIN * minutes), lat


def _row_arc(row: int) -> float:
    return (row - 60) * _ROW_ARC


def scene_center(path: int, row: int) -> Point:
    """Approximate (lon, lat) of the centre of WRS-2 ``path``/``row``."""
    return _track_point(path, _row_arc(row))


def _offset(origin: Point, east_km: float, north_km: float) -> Point:
    lon, lat = origin
    dlat = north_km / _KM_PER_DEG
    coslat = max(math.cos(math.radians(lat + dlat / 2)), 0.02)
    return _wrap_lon(lon + east_km / (_KM_PER_DEG * coslat)), lat + dlat


def footprint(path: int, row: int) -> list[Point]:
    """Four corners (lon, lat) of the scene footprint, clockwise from the west corner.

    The along-track direction comes from the orbit model (it includes the Earth's rotation),
    so footprints lean like real ones. Longitudes may leave [-180, 180) by a few degrees
    near the antimeridian so the polygon stays contiguous; callers normalise.
    """
    arc = _row_arc(row)
    centre = _track_point(path, arc)
    ahead = _track_point(path, arc + 0.05)
    coslat = math.cos(math.radians(centre[1]))
    dx = ((ahead[0] - centre[0] + 540.0) % 360.0 - 180.0) * coslat
    dy = ahead[1] - centre[1]
    norm = math.hypot(dx, dy) or 1.0
    ax, ay = dx / norm, dy / norm  # unit vector along track (km-ish plane)
    cx, cy = -ay, ax  # across track, to the left of the motion
    corners: list[Point] = []
    for sa, sc in ((-1, 1), (-1, -1), (1, -1), (1, 1)):
        east = sa * _HALF_ALONG_KM * ax + sc * _HALF_ACROSS_KM * cx
        north = sa * _HALF_ALONG_KM * ay + sc * _HALF_ACROSS_KM * cy
        corners.append(_offset(centre, east, north))
    base = corners[0][0]
    return [(base + ((x - base + 540.0) % 360.0 - 180.0), y) for x, y in corners]


def grid2ll(path: int, row: int, shape: str) -> dict[str, object]:
    """The ``grid2ll`` answer: the centre point or the footprint polygon."""
    if shape == "polygon":
        coords = [
            {"latitude": lat, "longitude": _wrap_lon(lon)} for lon, lat in footprint(path, row)
        ]
        return {"shape": "polygon", "coordinates": coords}
    lon, lat = scene_center(path, row)
    return {"shape": "point", "coordinates": [{"latitude": lat, "longitude": lon}]}
