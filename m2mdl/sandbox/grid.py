"""The raster grid of a scene: UTM zone, origin, pixel size and shape of its band files.

One function owns these numbers so the GeoTIFF bytes and the STAC ``proj:*`` fields agree.
The grid's upper-left corner is the north-west corner of the scene footprint's bounding box
in the UTM zone of the scene centre, on a 30 m lattice offset by 15 m (as in recorded
items: ``proj:transform`` origins like 353685, 5374215). Band files are square, with as
many pixels as fit in their size (see :mod:`m2mdl.sandbox.geotiff`), so the raster covers
the footprint only at data scale 1 and a corner of it at smaller scales.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from m2mdl.sandbox import catalog, utm, wrs

#: Bytes before the pixel data of every served GeoTIFF (TIFF header, IFD and tag values).
DATA_OFFSET = 1024
BYTES_PER_PIXEL = 2  # uint16 everywhere


@dataclass(frozen=True)
class Grid:
    """Georeferencing of one raster file."""

    epsg: int
    x0: float  # easting of the upper-left corner of the upper-left pixel
    y0: float  # northing of that corner
    pixel: float  # metres
    width: int
    height: int

    @property
    def shape(self) -> list[int]:
        """``proj:shape``: [rows, columns]."""
        return [self.height, self.width]

    @property
    def transform(self) -> list[float]:
        """``proj:transform`` (the first six GDAL-style affine coefficients)."""
        return [self.pixel, 0.0, self.x0, 0.0, -self.pixel, self.y0]


@lru_cache(maxsize=4096)
def origin(path: int, row: int) -> tuple[int, float, float]:
    """(EPSG code, x0, y0) of scenes at WRS-2 ``path``/``row``."""
    lon, _ = wrs.scene_center(path, row)
    zone = utm.zone(lon)
    corners = [utm.forward(x, y, zone) for x, y in catalog.footprint(path, row)]
    x0 = math.floor(min(e for e, _ in corners) / 30.0) * 30.0 + 15.0
    y0 = math.ceil(max(n for _, n in corners) / 30.0) * 30.0 + 15.0
    return utm.epsg(lon), x0, y0


def pixel_size(file_name: str) -> float:
    """15 m for the panchromatic band (B8), else 30 m."""
    return 15.0 if file_name.endswith("_B8.TIF") else 30.0


def side(file_size: int) -> int:
    """Width (= height) of a square uint16 raster stored in ``file_size`` bytes."""
    return max(1, math.isqrt(max(0, file_size - DATA_OFFSET) // BYTES_PER_PIXEL))


def grid(path: int, row: int, file_name: str, file_size: int) -> Grid:
    """The grid of one band file of a scene at ``path``/``row``."""
    code, x0, y0 = origin(path, row)
    n = side(file_size)
    return Grid(code, x0, y0, pixel_size(file_name), n, n)
