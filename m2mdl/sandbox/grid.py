"""The raster grid of a scene: UTM zone, origin, pixel size and shape of its band files.

One function owns these numbers so the GeoTIFF bytes and the STAC ``proj:*`` fields agree.
The grid's upper-left corner is the north-west corner of the scene footprint's bounding box
in the UTM zone of the scene centre, on a 30 m lattice offset by 15 m (as in recorded
items: ``proj:transform`` origins like 353685, 5374215). Band files are square, with as
many pixels as fit in the smallest spectral band file (see :func:`grid`), so the raster
covers about the footprint at data scale 1 and a corner of it at smaller scales.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
    """Largest n such that a square n x n uint16 raster fits in ``file_size`` bytes."""
    return max(1, math.isqrt(max(0, file_size - DATA_OFFSET) // BYTES_PER_PIXEL))


def is_spectral(file_name: str) -> bool:
    """Whether a file is a 30 m spectral band (``SR_B4``, ``ST_B10``, ``B4``; not pan)."""
    suffix = file_name[41:].removeprefix("SR_").removeprefix("ST_")
    return suffix.startswith("B") and suffix.endswith(".TIF") and suffix != "B8.TIF"


def grid(path: int, row: int, file_name: str, sizes: Mapping[str, int]) -> Grid:
    """The grid of band file ``file_name`` of a product whose files have ``sizes``.

    Every 30 m raster of the product shares one shape: the largest square that fits in
    its smallest spectral band file; the pan band has twice the rows and columns at 15 m,
    so all bands cover the same area. Smaller files (QA and auxiliary bands, whose real
    compressed sizes are small) hold only their first strips; the rest are sparse
    (GDAL reads them as nodata), see :mod:`m2mdl.sandbox.geotiff`.
    """
    code, x0, y0 = origin(path, row)
    n30 = min(side(size) for name, size in sizes.items() if is_spectral(name))
    if pixel_size(file_name) == 30.0:
        return Grid(code, x0, y0, 30.0, n30, n30)
    return Grid(code, x0, y0, 15.0, 2 * n30, 2 * n30)
