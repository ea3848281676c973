"""Band files as real GeoTIFFs whose bytes are computed per range, never built whole.

Layout of every served ``.TIF`` (little-endian classic TIFF, uncompressed, strips):

* bytes [0, DATA_OFFSET): header, one IFD with the baseline tags, GeoTIFF tags
  (ModelPixelScale, ModelTiepoint, GeoKeyDirectory: projected, PixelIsArea,
  ProjectedCSTypeGeoKey = the scene's UTM EPSG code, metre units), GDAL_NODATA "0" and the
  strip offset/byte-count arrays, then zeros;
* the stored strips, back to back: uint16 pixels, row-major, value ``base + x + 2*y``
  (``base`` depends on the band, 1000 to 21000, never 0 = nodata), so every row is the
  previous row shifted by two pixels and any byte range is a few slices of one cached
  row pattern;
* the rest of the file (to the size the layout gives it): deterministic filler bytes
  that no TIFF reader looks at.

All bands of a product share one grid (:func:`m2mdl.sandbox.grid.grid`), but files have
the sizes of the layout (QA and auxiliary bands are much smaller than spectral bands, as
real compressed files are). A file that cannot hold every strip stores the first ones and
marks the others sparse (offset 0 and byte count 0), which GDAL reads as nodata; this
is the one choice here that a strict TIFF reader might dislike (UNCERTAIN, GDAL and
rasterio accept it).
"""

from __future__ import annotations

import array
import math
import struct
import sys
from functools import lru_cache

from m2mdl.sandbox import content
from m2mdl.sandbox.grid import BYTES_PER_PIXEL, DATA_OFFSET, Grid

_SHORT, _LONG, _DOUBLE, _ASCII = 3, 4, 12, 2
_MAX_STRIPS = 64  # keeps the offset arrays inside DATA_OFFSET
_MIN_ROWS_PER_STRIP = 16


def band_base(file_name: str) -> int:
    """First pixel value of a band file (varies with the band, deterministic)."""
    suffix = file_name[41:]
    return 1000 + (sum(suffix.encode()) * 37) % 20 * 1000 + len(suffix) * 50


def pixel_value(file_name: str, x: int, y: int) -> int:
    """The value of pixel (column x, row y) of a band file (0 in sparse strips)."""
    return (band_base(file_name) + x + 2 * y) & 0xFFFF


def rows_per_strip(height: int) -> int:
    """Rows of each strip: at least 16, at most 64 strips."""
    return max(_MIN_ROWS_PER_STRIP, math.ceil(height / _MAX_STRIPS))


def stored_rows(g: Grid, size: int) -> int:
    """How many rows (whole strips, from the top) a ``size``-byte file holds."""
    per = rows_per_strip(g.height)
    row_bytes = g.width * BYTES_PER_PIXEL
    room = max(0, size - DATA_OFFSET) // row_bytes
    return g.height if room >= g.height else room // per * per


def header(g: Grid, rows: int) -> bytes:
    """The first DATA_OFFSET bytes of a file storing the first ``rows`` rows of ``g``."""
    per = rows_per_strip(g.height)
    strips = math.ceil(g.height / per)
    row_bytes = g.width * BYTES_PER_PIXEL
    offsets = [DATA_OFFSET + i * per * row_bytes if i * per < rows else 0 for i in range(strips)]
    counts = [min(per, rows - i * per) * row_bytes if i * per < rows else 0 for i in range(strips)]
    geokeys = [1, 1, 0, 4, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, g.epsg, 3076, 0, 1, 9001]
    values = [
        struct.pack("<3d", g.pixel, g.pixel, 0.0),
        struct.pack("<6d", 0.0, 0.0, 0.0, g.x0, g.y0, 0.0),
        struct.pack(f"<{len(geokeys)}H", *geokeys),
        struct.pack(f"<{strips}I", *offsets),
        struct.pack(f"<{strips}I", *counts),
    ]
    at = [8 + 2 + 15 * 12 + 4]  # after the 15 IFD entries and the next-IFD offset
    for blob in values[:-1]:
        at.append(at[-1] + len(blob))
    entries = [
        (256, _LONG, 1, g.width),
        (257, _LONG, 1, g.height),
        (258, _SHORT, 1, 8 * BYTES_PER_PIXEL),
        (259, _SHORT, 1, 1),  # no compression
        (262, _SHORT, 1, 1),  # BlackIsZero
        (273, _LONG, strips, offsets[0] if strips == 1 else at[3]),  # StripOffsets
        (277, _SHORT, 1, 1),  # SamplesPerPixel
        (278, _LONG, 1, per),  # RowsPerStrip
        (279, _LONG, strips, counts[0] if strips == 1 else at[4]),  # StripByteCounts
        (284, _SHORT, 1, 1),  # PlanarConfiguration: contiguous
        (339, _SHORT, 1, 1),  # SampleFormat: unsigned
        (33550, _DOUBLE, 3, at[0]),  # ModelPixelScale
        (33922, _DOUBLE, 6, at[1]),  # ModelTiepoint
        (34735, _SHORT, len(geokeys), at[2]),  # GeoKeyDirectory
        (42113, _ASCII, 2, int.from_bytes(b"0\x00\x00\x00", "little")),  # GDAL_NODATA
    ]
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, kind, count, value in entries:
        field = struct.pack("<HH", value, 0) if kind == _SHORT and count == 1 else None
        out += struct.pack("<HHI", tag, kind, count) + (field or struct.pack("<I", value))
    out += struct.pack("<I", 0) + b"".join(values)
    if len(out) > DATA_OFFSET:
        raise ValueError(f"GeoTIFF header of {len(out)} bytes exceeds {DATA_OFFSET}")
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
        if size < DATA_OFFSET:
            raise ValueError(f"{name}: {size} bytes cannot hold a GeoTIFF header")
        self.name = name
        self.size = size
        self.grid = grid
        self.rows = stored_rows(grid, size)
        self._header = header(grid, self.rows)
        self._row_bytes = grid.width * BYTES_PER_PIXEL
        self._data_end = DATA_OFFSET + self._row_bytes * self.rows

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
        return content.mutate(b"".join(parts), offset, self.size, version)
