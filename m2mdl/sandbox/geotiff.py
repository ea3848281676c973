"""Band files as real GeoTIFFs whose bytes are computed per range, never built whole.

Layout of every served ``.TIF`` (little-endian classic TIFF, uncompressed, one strip):

* bytes [0, DATA_OFFSET): header, one IFD with the baseline tags, GeoTIFF tags
  (ModelPixelScale, ModelTiepoint, GeoKeyDirectory: projected, PixelIsArea,
  ProjectedCSTypeGeoKey = the scene's UTM EPSG code, metre units) and GDAL_NODATA "0",
  then zeros;
* the pixels: uint16, row-major, value ``base + x + 2*y`` (``base`` depends on the band,
  1000 to 20950, never 0 = nodata), so every row is the previous row shifted by two
  pixels and any byte range is a few slices of one cached row pattern;
* the rest of the file (to the size the layout gives it): deterministic filler bytes
  that no TIFF reader looks at.

Grid, CRS and transform come from :mod:`m2mdl.sandbox.grid`, which the STAC ``proj:*``
fields use too.
"""

from __future__ import annotations

import array
import struct
import sys
from functools import lru_cache

from m2mdl.sandbox import content
from m2mdl.sandbox.grid import BYTES_PER_PIXEL, DATA_OFFSET, Grid

_SHORT, _LONG, _DOUBLE, _ASCII = 3, 4, 12, 2


def band_base(file_name: str) -> int:
    """First pixel value of a band file (varies with the band, deterministic)."""
    suffix = file_name[41:]
    return 1000 + (sum(suffix.encode()) * 37) % 20 * 1000 + len(suffix) * 50


def pixel_value(file_name: str, x: int, y: int) -> int:
    """The value of pixel (column x, row y) of a band file."""
    return (band_base(file_name) + x + 2 * y) & 0xFFFF


def header(g: Grid) -> bytes:
    """The first DATA_OFFSET bytes: TIFF header, IFD and GeoTIFF tag values."""
    geokeys = [1, 1, 0, 4, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, g.epsg, 3076, 0, 1, 9001]
    extra_at = 8 + 2 + 15 * 12 + 4  # after the 15 IFD entries and the next-IFD offset
    scale_at, tie_at = extra_at, extra_at + 24
    keys_at = tie_at + 48
    entries = [
        (256, _LONG, 1, g.width),
        (257, _LONG, 1, g.height),
        (258, _SHORT, 1, 8 * BYTES_PER_PIXEL),
        (259, _SHORT, 1, 1),  # no compression
        (262, _SHORT, 1, 1),  # BlackIsZero
        (273, _LONG, 1, DATA_OFFSET),  # StripOffsets
        (277, _SHORT, 1, 1),  # SamplesPerPixel
        (278, _LONG, 1, g.height),  # RowsPerStrip: one strip
        (279, _LONG, 1, g.width * g.height * BYTES_PER_PIXEL),
        (284, _SHORT, 1, 1),  # PlanarConfiguration contiguous
        (339, _SHORT, 1, 1),  # SampleFormat unsigned
        (33550, _DOUBLE, 3, scale_at),  # ModelPixelScale
        (33922, _DOUBLE, 6, tie_at),  # ModelTiepoint
        (34735, _SHORT, len(geokeys), keys_at),  # GeoKeyDirectory
        (42113, _ASCII, 2, int.from_bytes(b"0\x00\x00\x00", "little")),  # GDAL_NODATA
    ]
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, kind, count, value in entries:
        packed = struct.pack("<H", value) + b"\x00\x00" if kind == _SHORT and count == 1 else None
        out += struct.pack("<HHI", tag, kind, count) + (packed or struct.pack("<I", value))
    out += struct.pack("<I", 0)
    out += struct.pack("<3d", g.pixel, g.pixel, 0.0)
    out += struct.pack("<6d", 0.0, 0.0, 0.0, g.x0, g.y0, 0.0)
    out += struct.pack(f"<{len(geokeys)}H", *geokeys)
    assert len(out) <= DATA_OFFSET
    return bytes(out) + bytes(DATA_OFFSET - len(out))


@lru_cache(maxsize=64)
def _pattern(base: int, length: int) -> bytes:
    """Little-endian uint16 values base, base+1, ... (``length`` of them, wrapping)."""
    values = array.array("H", ((base + i) & 0xFFFF for i in range(length)))
    if sys.byteorder != "little":
        values.byteswap()
    return values.tobytes()


class GeoTiffSource:
    """A band file: ``size`` bytes, a GeoTIFF of ``grid`` followed by filler."""

    def __init__(self, name: str, size: int, grid: Grid) -> None:
        self.name = name
        self.size = size
        self.grid = grid
        self._header = header(grid)
        self._row_bytes = grid.width * BYTES_PER_PIXEL
        self._data_end = DATA_OFFSET + self._row_bytes * grid.height
        if self._data_end > size:
            raise ValueError(
                f"{name}: a {grid.width}x{grid.height} raster needs more than {size} B"
            )

    def _pixels(self, start: int, stop: int) -> bytes:
        """Pixel bytes [start, stop) relative to the start of the pixel data."""
        pattern = _pattern(band_base(self.name), self.grid.width + 2 * self.grid.height)
        parts: list[bytes] = []
        pos = start
        while pos < stop:
            row, col = divmod(pos, self._row_bytes)
            take = min(self._row_bytes - col, stop - pos)
            first = 4 * row + col  # row y starts at value index 2*y, i.e. byte 4*y
            parts.append(pattern[first : first + take])
            pos += take
        return b"".join(parts)

    def read(self, offset: int, length: int, version: int = 0) -> bytes:
        """Bytes [offset, offset+length) of the file (clipped at its end)."""
        end = min(self.size, offset + max(0, length))
        parts: list[bytes] = []
        if offset < DATA_OFFSET:
            parts.append(self._header[offset:end])
        lo, hi = max(offset, DATA_OFFSET), min(end, self._data_end)
        if lo < hi:
            parts.append(self._pixels(lo - DATA_OFFSET, hi - DATA_OFFSET))
        lo = max(offset, self._data_end)
        if lo < end:
            parts.append(content.filler(self.name, lo - self._data_end, end - lo))
        data = b"".join(parts)
        return content.mutate(data, offset, self.size, version)
