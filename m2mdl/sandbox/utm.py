"""WGS84 → UTM (transverse Mercator) forward projection, for grids and STAC ``proj:*``.

Landsat Collection 2 products use the UTM *north* zone of the scene centre also south of
the equator, with negative northings (a recorded 2023 item at 11 S has ``proj:epsg``
32656 and a northing of -1163385); the sandbox does the same, so EPSG codes are always
326zz. Formulas: Snyder, "Map Projections: A Working Manual" (USGS PP 1395), p. 61.
"""

from __future__ import annotations

import math

_A = 6378137.0
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
_EP2 = _E2 / (1 - _E2)
_K0 = 0.9996


def zone(lon: float) -> int:
    """UTM zone number (1..60) of a longitude."""
    return int(((lon + 180.0) % 360.0) // 6.0) + 1


def epsg(lon: float) -> int:
    """EPSG code of the (north) UTM zone of ``lon``: 32601..32660."""
    return 32600 + zone(lon)


def _meridian_arc(phi: float) -> float:
    e4, e6 = _E2 * _E2, _E2 * _E2 * _E2
    return _A * (
        (1 - _E2 / 4 - 3 * e4 / 64 - 5 * e6 / 256) * phi
        - (3 * _E2 / 8 + 3 * e4 / 32 + 45 * e6 / 1024) * math.sin(2 * phi)
        + (15 * e4 / 256 + 45 * e6 / 1024) * math.sin(4 * phi)
        - (35 * e6 / 3072) * math.sin(6 * phi)
    )


def forward(lon: float, lat: float, zone_number: int) -> tuple[float, float]:
    """(easting, northing) in metres of (lon, lat) in north zone ``zone_number``."""
    lon0 = math.radians(zone_number * 6 - 183)
    phi = math.radians(lat)
    lam = math.radians(lon)
    dlam = (lam - lon0 + math.pi) % (2 * math.pi) - math.pi
    n = _A / math.sqrt(1 - _E2 * math.sin(phi) ** 2)
    t = math.tan(phi) ** 2
    c = _EP2 * math.cos(phi) ** 2
    a = math.cos(phi) * dlam
    east = (
        _K0
        * n
        * (a + (1 - t + c) * a**3 / 6 + (5 - 18 * t + t * t + 72 * c - 58 * _EP2) * a**5 / 120)
    )
    north = _K0 * (
        _meridian_arc(phi)
        + n
        * math.tan(phi)
        * (
            a * a / 2
            + (5 - t + 9 * c + 4 * c * c) * a**4 / 24
            + (61 - 58 * t + t * t + 600 * c - 330 * _EP2) * a**6 / 720
        )
    )
    return east + 500000.0, north
