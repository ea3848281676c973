"""Areas of interest (AOIs): parse, validate and turn them into M2M spatial filters.

Choices made here, in short:

* **Exact, not boxed.** Peers reduce a polygon to its bounding box. m2mdl sends the polygon
  itself (``filterType: geojson``), keeps an MBR filter only as a fallback, and can test scene
  footprints against the exact shape (:meth:`Aoi.intersects_polygon`).
* **One filter per polygon.** Whether M2M's scene-search accepts a MultiPolygon in
  ``spatialFilter.geoJson`` is not documented (our M2M API notes, §2.10: UNCERTAIN), so
  :meth:`Aoi.spatial_filters` returns one Polygon filter per polygon; the caller searches each
  and merges the results by entityId.
* **[lon, lat] everywhere**, as in GeoJSON and WKT. Positions that look like [lat, lon] get a
  hint. Errors name the value and where it is (1-based: "position 3 of ring 1 of polygon 2").
* **Rings are never closed silently** in GeoJSON input: an open ring is an error that shows
  both ends. The bbox, point, WKT and point-list constructors close their rings themselves.
  Consecutive repeated positions and altitudes are dropped; outer rings are stored
  counterclockwise and holes clockwise (the RFC 7946 right-hand rule).
* **Antimeridian.** A bbox with west > east crosses it and becomes two polygons that meet at
  ±180; circles and point lists (e.g. WRS footprints) that cross it are split the same way,
  and :meth:`Aoi.bounds` then returns west > east. A GeoJSON ring with an edge that jumps
  more than 180 degrees of longitude is a crossing ring written naively; it is an error with
  a hint to split it at 180 (RFC 7946 §3.1.9) rather than a guess.
* **Limits.** At most ``MAX_VERTICES`` (10,000) vertices in all; at most ``MAX_AREA_KM2``
  (5,000,000 km²) in all (an error, not a warning: such a search matches a large share of the
  archive); a circle radius of at most 500 km; files of at most 32 MiB. The self-intersection
  test is O(n²) in the worst case (a sweep along the ring's longer axis makes ordinary rings
  near-linear; a 5,000-vertex star takes ~3 s), so it runs only on rings of up to
  ``SELF_INTERSECTION_MAX_VERTICES`` (5,000) vertices; larger rings are not checked for it.
* **Area** is ellipsoidal (WGS84, via the authalic latitude) for edges that are straight in
  lon/lat, which is how a lon/lat polygon is usually read: exact for boxes, and well within
  0.5% otherwise.

Only the ``geojson`` package and the standard library are used (no shapely, pyproj, geopandas).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import geojson

from m2mdl.errors import AoiError

__all__ = [
    "MAX_AREA_KM2",
    "MAX_FILE_BYTES",
    "MAX_RADIUS_KM",
    "MAX_VERTICES",
    "SELF_INTERSECTION_MAX_VERTICES",
    "Aoi",
    "AoiSummary",
    "Bounds",
    "Polygon",
    "Position",
    "Ring",
    "aoi_from_bbox",
    "aoi_from_point",
    "aoi_from_points",
    "aoi_from_wkt",
    "dumps",
    "load_aoi",
    "parse_geojson",
]

Position = tuple[float, float]  # (lon, lat) in degrees
Ring = tuple[Position, ...]  # closed: first == last
Polygon = tuple[Ring, ...]  # outer ring first, then holes
Bounds = tuple[float, float, float, float]  # west, south, east, north

MAX_VERTICES = 10_000
MAX_AREA_KM2 = 5_000_000.0
MAX_RADIUS_KM = 500.0
MAX_FILE_BYTES = 32 * 1024 * 1024
SELF_INTERSECTION_MAX_VERTICES = 5_000

# WGS84 ellipsoid, in km.
_A = 6378.137
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
_E = math.sqrt(_E2)

# A ring is collinear when every vertex lies within this fraction of its extent from the line
# through its farthest vertex from the first: far above float noise (~1e-16), far below any
# real shape (a strip 1 cm wide and 180 degrees long is still accepted).
_COLLINEAR_TOLERANCE = 1e-12

# Smaller boxes are rounding noise (and would look collinear to _COLLINEAR_TOLERANCE).
_MIN_BOX_DEGREES = 1e-7

_SWAP_HINT = "looks like [lat, lon]; GeoJSON order is [lon, lat] (WKT: LON LAT)"
_BBOX_SWAP_HINT = "looks like lat/lon order; a bbox is WEST SOUTH EAST NORTH"
_SIMPLIFY_HINT = (
    "simplify it first, e.g. `mapshaper in.geojson -simplify 10% -o out.geojson`"
    " or `ogr2ogr -simplify 0.001 out.geojson in.geojson`"
)
_POINT_ADVICE = "use m2mdl aoi --point LON LAT --radius-km R"
_LINE_ADVICE = "buffer the line into a Polygon first (e.g. QGIS Buffer or ogr2ogr -sql ST_Buffer)"
_NOT_AN_AREA = {
    "Point": _POINT_ADVICE,
    "MultiPoint": _POINT_ADVICE,
    "LineString": _LINE_ADVICE,
    "MultiLineString": _LINE_ADVICE,
}

# (prefix naming the feature/geometry, polygon number within it, polygon), kept from parsing
# to validation so topology errors can still say which feature they come from.
_Labeled = tuple[str, int, Polygon]


# --- public types -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AoiSummary:
    """What ``m2mdl aoi`` prints about an AOI.

    Attributes:
        geometry_type: "Polygon" or "MultiPolygon".
        polygons: number of polygons.
        vertices: number of distinct vertices (closing positions not counted), holes included.
        bounds: (west, south, east, north); west > east when the AOI crosses the antimeridian.
        area_km2: ellipsoidal (WGS84) area in km².
        centroid: (lon, lat) of the area-weighted centroid in lon/lat, for display.
    """

    geometry_type: str
    polygons: int
    vertices: int
    bounds: Bounds
    area_km2: float
    centroid: Position


@dataclass(frozen=True)
class Aoi:
    """A validated area of interest: one or more polygons in WGS84 lon/lat.

    Build one with :func:`load_aoi`, :func:`parse_geojson`, :func:`aoi_from_bbox`,
    :func:`aoi_from_point`, :func:`aoi_from_wkt` or :func:`aoi_from_points`; they validate.

    Attributes:
        polygons: each polygon is a tuple of closed rings of (lon, lat), outer ring first.
        source: where the AOI came from, e.g. a file path, "bbox", "point", "wkt".
    """

    polygons: tuple[Polygon, ...]
    source: str

    def bounds(self) -> Bounds:
        """Return (west, south, east, north).

        When the AOI has parts on both sides of the antimeridian (it touches both -180 and
        180), the smallest longitude range that covers it is returned, so west > east.
        """
        boxes = [_ring_bounds(poly[0]) for poly in self.polygons]
        south = min(b[1] for b in boxes)
        north = max(b[3] for b in boxes)
        west = min(b[0] for b in boxes)
        east = max(b[2] for b in boxes)
        if west == -180.0 and east == 180.0:
            west, east = _wrapped_lon_range([(b[0], b[2]) for b in boxes])
        return (west, south, east, north)

    def geometry(self) -> dict[str, Any]:
        """Return the AOI as a GeoJSON Polygon (one polygon) or MultiPolygon."""
        coordinates = [_polygon_coordinates(poly) for poly in self.polygons]
        if len(coordinates) == 1:
            return {"type": "Polygon", "coordinates": coordinates[0]}
        return {"type": "MultiPolygon", "coordinates": coordinates}

    def feature_collection(self) -> dict[str, Any]:
        """Return a GeoJSON FeatureCollection with one Feature whose properties hold the source."""
        feature = {"type": "Feature", "properties": {"source": self.source}}
        feature["geometry"] = self.geometry()
        return {"type": "FeatureCollection", "features": [feature]}

    def spatial_filters(self) -> list[dict[str, Any]]:
        """Return one M2M ``geojson`` spatialFilter per polygon (search each, merge by entityId)."""
        return [
            {
                "filterType": "geojson",
                "geoJson": {"type": "Polygon", "coordinates": _polygon_coordinates(poly)},
            }
            for poly in self.polygons
        ]

    def mbr_filter(self) -> dict[str, Any]:
        """Return the M2M ``mbr`` spatialFilter of :meth:`bounds`.

        Raises:
            AoiError: the AOI crosses the antimeridian, which one MBR cannot express.
        """
        west, south, east, north = self.bounds()
        if west > east:
            raise AoiError(
                f"the AOI crosses the antimeridian (west {west!r} > east {east!r});"
                " one MBR cannot express it",
                hint="use the geojson spatial filters, one per polygon",
            )
        return {
            "filterType": "mbr",
            "lowerLeft": {"latitude": south, "longitude": west},
            "upperRight": {"latitude": north, "longitude": east},
        }

    def describe(self) -> AoiSummary:
        """Summarize the AOI: type, counts, bounds, area and centroid."""
        bounds = self.bounds()
        return AoiSummary(
            geometry_type="Polygon" if len(self.polygons) == 1 else "MultiPolygon",
            polygons=len(self.polygons),
            vertices=_vertex_count(self.polygons),
            bounds=bounds,
            area_km2=sum(_polygon_area_km2(poly) for poly in self.polygons),
            centroid=_centroid(self.polygons, bounds),
        )

    def intersects_polygon(self, ring: Sequence[tuple[float, float]]) -> bool:
        """Tell whether a footprint polygon shares any point with the AOI.

        Exact in lon/lat: true when edges cross or touch, or when one contains the other; a
        footprint inside a hole does not intersect. A footprint ring written naively across
        the antimeridian (an edge jumping > 180 degrees) is unwrapped and tested on both sides.

        Args:
            ring: the footprint's (lon, lat) vertices, closed or not (e.g. a scene's
                spatialCoverage outer ring from M2M).

        Raises:
            ValueError: the ring is empty or holds non-finite values (M2M data, not user input).
        """
        return any(
            _polygon_meets(poly, footprint)
            for footprint in _footprint_variants(ring)
            for poly in self.polygons
        )


# --- public constructors ----------------------------------------------------------------------


def parse_geojson(text: str, source: str = "<string>") -> Aoi:
    """Parse GeoJSON text into a validated AOI.

    Accepts a Polygon, MultiPolygon, GeometryCollection of those, Feature, or FeatureCollection
    (all polygonal features merged). Every error message starts with ``source``.

    Args:
        text: the GeoJSON text.
        source: a name for the text (a file path), used in messages and kept in ``Aoi.source``.

    Raises:
        AoiError: the text is not JSON, not GeoJSON, not polygonal, or not a valid area.
    """
    with _context(f"{source}: "):
        data = _load_json(text)
        return _finish(_top_level_polygons(data), source)


def load_aoi(path: str | Path) -> Aoi:
    """Read and validate a GeoJSON AOI file ("-" reads standard input).

    Raises:
        AoiError: the file is missing, unreadable, too big, not UTF-8, or not a valid AOI.
    """
    name = "<stdin>" if str(path) == "-" else str(path)
    try:
        if name == "<stdin>":
            data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            with Path(path).open("rb") as stream:
                data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise AoiError(f"cannot read AOI file {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise AoiError(
            f"AOI file {name} is larger than {MAX_FILE_BYTES // 2**20} MiB", hint=_SIMPLIFY_HINT
        )
    try:
        # utf-8-sig: editors on Windows like to prepend a BOM, which is harmless here.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AoiError(
            f"AOI file {name} is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}",
            hint="save it as UTF-8, which JSON requires (RFC 8259)",
        ) from None
    return parse_geojson(text, source=name)


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
    if not 0.0 < radius <= MAX_RADIUS_KM:
        raise AoiError(f"radius {radius!r} km is not in (0, {MAX_RADIUS_KM:g}] km")
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


def aoi_from_wkt(text: str) -> Aoi:
    """Parse a WKT (or EWKT with SRID=4326) POLYGON or MULTIPOLYGON, holes allowed.

    Case-insensitive and tolerant of whitespace; Z, M and ZM coordinates are accepted and the
    extra values dropped; open rings are closed.

    Raises:
        AoiError: the text is not such WKT, or the shape is not a valid area.
    """
    body = text.strip()
    offset = len(text) - len(text.lstrip())  # where body starts in text, for messages
    srid = re.match(r"SRID\s*=\s*(\d+)\s*;", body, re.IGNORECASE)
    if srid:
        if srid.group(1) != "4326":
            raise AoiError(f"WKT SRID={srid.group(1)} is not WGS84 lon/lat (SRID=4326)")
        body = body[srid.end() :]
        offset += srid.end()
    tokens = _wkt_tokens(body, offset)
    kind, dims, pos = _wkt_header(tokens, text)
    nested, pos = _wkt_list(tokens, pos, 1)
    if pos != len(tokens):
        raise AoiError(f"WKT has {tokens[pos][1]!r} after the end of the {kind}")
    raw_polygons = [nested] if kind == "POLYGON" else nested
    labeled: list[_Labeled] = []
    for number, raw in enumerate(raw_polygons, 1):
        rings = _wkt_rings(raw, number, dims)
        labeled.append(("", number, _parse_polygon(rings, number)))
    return _finish(labeled, "wkt")


def dumps(aoi: Aoi) -> str:
    """Return the AOI as pretty GeoJSON FeatureCollection text (positions kept on one line).

    Coordinates are written with full float precision (``geojson.dumps`` would round to
    6 decimals), and the text is checked with the ``geojson`` package before it is returned.
    """
    text = json.dumps(aoi.feature_collection(), indent=2, ensure_ascii=False)
    # json puts each number of a position on its own line; JSON strings cannot hold a raw
    # newline, so this only ever matches positions.
    text = re.sub(r"\[\n\s*([-+0-9.eE]+),\n\s*([-+0-9.eE]+)\n\s*\]", r"[\1, \2]", text)
    checked = geojson.loads(text)
    if not checked.is_valid:  # an m2mdl bug, never bad user input
        raise RuntimeError(f"m2mdl produced invalid GeoJSON: {checked.errors()}")
    return text + "\n"


# --- GeoJSON parsing --------------------------------------------------------------------------


@contextmanager
def _context(prefix: str) -> Iterator[None]:
    """Prefix the message of any AoiError raised inside with where it happened."""
    try:
        yield
    except AoiError as exc:
        raise AoiError(f"{prefix}{exc.message}", hint=exc.hint) from None


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AoiError(
            f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): {_short(text[:60])}"
        ) from None
    except (ValueError, RecursionError) as exc:
        # Python refuses integers over 4,300 digits and very deep nesting: still not an AOI.
        raise AoiError(f"not usable JSON ({_short(str(exc))}): {_short(text[:60])}") from None


def _type_of(obj: Any, what: str) -> str:
    """Return a GeoJSON object's "type", or raise: JSON that is not GeoJSON."""
    kind = obj.get("type") if isinstance(obj, dict) else None
    if not isinstance(kind, str):
        raise AoiError(
            f'{what} is JSON but not GeoJSON: expected an object with a "type", got {_short(obj)}'
        )
    return kind


def _top_level_polygons(data: Any) -> list[_Labeled]:
    kind = _type_of(data, "the top level")
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise AoiError(f'FeatureCollection has no "features" list: {_short(features)}')
        if not features:
            raise AoiError('FeatureCollection has no features ("features": [])')
        labeled: list[_Labeled] = []
        for i, feature in enumerate(features, 1):
            prefix = f"feature {i} of {len(features)}: "
            with _context(prefix):
                feature_kind = _type_of(feature, "the feature")
                if feature_kind != "Feature":
                    raise AoiError(f"the feature is a {feature_kind}, not a Feature")
                labeled += [(prefix + p, n, poly) for p, n, poly in _feature_polygons(feature)]
        return labeled
    if kind == "Feature":
        return _feature_polygons(data)
    return _geometry_polygons(data)


def _feature_polygons(feature: dict[str, Any]) -> list[_Labeled]:
    if "geometry" not in feature:
        raise AoiError('the Feature has no "geometry" member')
    if feature["geometry"] is None:
        raise AoiError("the Feature has a null geometry")
    return _geometry_polygons(feature["geometry"])


def _geometry_polygons(geom: Any, nested: bool = False) -> list[_Labeled]:
    """Return the polygons of a geometry; only polygonal geometries are areas."""
    kind = _type_of(geom, "the geometry")
    if kind == "Polygon":
        return [("", 1, _parse_polygon(_coordinates(geom, kind), 1))]
    if kind == "MultiPolygon":
        raws = _coordinates(geom, kind)
        return [("", n, _parse_polygon(raw, n)) for n, raw in enumerate(raws, 1)]
    if kind == "GeometryCollection":
        if nested:
            raise AoiError("a GeometryCollection inside a GeometryCollection is not supported")
        geometries = geom.get("geometries")
        if not isinstance(geometries, list) or not geometries:
            raise AoiError(f'GeometryCollection has no "geometries": {_short(geometries)}')
        labeled: list[_Labeled] = []
        for i, member in enumerate(geometries, 1):
            prefix = f"geometry {i} of {len(geometries)}: "
            with _context(prefix):
                inner = _geometry_polygons(member, nested=True)
                labeled += [(prefix + p, n, poly) for p, n, poly in inner]
        return labeled
    if kind in _NOT_AN_AREA:
        raise AoiError(f"a {kind} is not an area; {_NOT_AN_AREA[kind]}")
    raise AoiError(
        f"unsupported GeoJSON type {kind!r}; expected Polygon, MultiPolygon,"
        " GeometryCollection, Feature or FeatureCollection"
    )


def _coordinates(geom: dict[str, Any], kind: str) -> list[Any]:
    coordinates = geom.get("coordinates")
    if not isinstance(coordinates, list) or not coordinates:
        raise AoiError(f'the {kind} has empty or missing "coordinates": {_short(coordinates)}')
    return coordinates


def _parse_polygon(raw: Any, number: int) -> Polygon:
    """Parse one polygon's rings (structure only; topology is checked in _check_polygon)."""
    if not isinstance(raw, list) or not raw:
        raise AoiError(f"polygon {number} is not a non-empty list of rings: {_short(raw)}")
    rings = [_parse_ring(ring, f"ring {r} of polygon {number}") for r, ring in enumerate(raw, 1)]
    return tuple(_orient_ring(ring, ccw=(r == 0)) for r, ring in enumerate(rings))


def _parse_ring(raw: Any, where: str) -> Ring:
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


def _parse_position(raw: Any, where: str) -> Position:
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


# --- ring checks ------------------------------------------------------------------------------


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


def _self_intersection(ring: Ring) -> tuple[int, int] | None:
    """Return the indices of two edges that cross or touch (other than at a shared vertex).

    A sweep: edges are taken in order of their low end along the ring's longer axis, and only
    edges whose ranges overlap on both axes are compared. Ordinary rings (circles, coastlines,
    long strips) stay near-linear, but the worst case (a star of long spikes) is O(n²), so
    rings over SELF_INTERSECTION_MAX_VERTICES are not checked.
    """
    n = len(ring) - 1  # edges; edge i runs from ring[i] to ring[i + 1]
    if n > SELF_INTERSECTION_MAX_VERTICES:
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


def _finish(labeled: list[_Labeled], source: str) -> Aoi:
    """Check limits and topology, then build the Aoi."""
    polygons = tuple(poly for _, _, poly in labeled)
    vertices = _vertex_count(polygons)
    # Counted before the O(n²) checks so a huge input fails fast.
    if vertices > MAX_VERTICES:
        raise AoiError(
            f"the AOI has {vertices:,} vertices, more than the {MAX_VERTICES:,} limit",
            hint=_SIMPLIFY_HINT,
        )
    for prefix, number, poly in labeled:
        with _context(prefix):
            _check_polygon(poly, number)
    area = sum(_polygon_area_km2(poly) for poly in polygons)
    if area > MAX_AREA_KM2:
        raise AoiError(
            f"the AOI covers {area:,.0f} km², more than the {MAX_AREA_KM2:,.0f} km² limit",
            hint="a search that wide matches a large share of the archive; use a smaller area",
        )
    return Aoi(polygons=polygons, source=source)


# --- geometry helpers -------------------------------------------------------------------------


def _vertex_count(polygons: Sequence[Polygon]) -> int:
    return sum(len(ring) - 1 for poly in polygons for ring in poly)


def _polygon_coordinates(poly: Polygon) -> list[list[list[float]]]:
    return [[[lon, lat] for lon, lat in ring] for ring in poly]


def _ring_bounds(ring: Sequence[Position]) -> Bounds:
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    return (min(lons), min(lats), max(lons), max(lats))


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


def _closed(points: Sequence[Position]) -> list[Position]:
    """Drop consecutive repeats and make first == last."""
    ring = [points[0]]
    ring += [p for prev, p in pairwise(points) if p != prev]
    if len(ring) > 1 and ring[-1] == ring[0]:
        ring.pop()
    return [*ring, ring[0]]


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


def _labeled_pieces(pieces: list[list[Position]], where: str) -> list[_Labeled]:
    many = len(pieces) > 1
    labeled: list[_Labeled] = []
    for k, piece in enumerate(pieces, 1):
        name = f"{where} (part {k} of {len(pieces)})" if many else where
        ring = _orient_ring(_check_ring(piece, name), ccw=True)
        labeled.append(("", k, (ring,)))
    return labeled


# --- intersection -----------------------------------------------------------------------------


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


# --- WKT --------------------------------------------------------------------------------------

_WKT_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
        | (?P<word>[A-Za-z]+)
        | (?P<punct>[(),])
        | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_WKT_NOT_AREA = {name.upper(): name for name in _NOT_AN_AREA}  # "LINESTRING" -> "LineString"

# A WKT token: ("num", 1.5), ("word", "POLYGON") or ("punct", "(").
_Token = tuple[str, Any]


def _wkt_tokens(body: str, offset: int) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(body):
        match = _WKT_TOKEN.match(body, pos)
        if match is None:  # only trailing whitespace is left
            break
        kind = match.lastgroup or "bad"
        if kind == "bad":
            where = offset + match.start(kind) + 1  # 1-based, in the text as given
            raise AoiError(f"WKT has an unexpected {match.group(kind)!r} at character {where}")
        value: Any = float(match.group(kind)) if kind == "num" else match.group(kind)
        tokens.append((kind, value))
        pos = match.end()
    return tokens


def _wkt_header(tokens: list[_Token], text: str) -> tuple[str, int, int]:
    """Return (geometry type, numbers per position, index of the opening parenthesis)."""
    if not tokens or tokens[0][0] != "word":
        raise AoiError(f"WKT must start with POLYGON or MULTIPOLYGON: {_short(text[:60])}")
    kind = str(tokens[0][1]).upper()
    pos, dims = 1, 2
    if pos < len(tokens) and str(tokens[pos][1]).upper() in ("Z", "M", "ZM"):
        dims += len(tokens[pos][1])
        pos += 1
    if kind in _WKT_NOT_AREA:
        noun = _WKT_NOT_AREA[kind]
        raise AoiError(f"a {noun} is not an area; {_NOT_AN_AREA[noun]}")
    if kind not in ("POLYGON", "MULTIPOLYGON"):
        raise AoiError(f"unsupported WKT type {kind!r}; expected POLYGON or MULTIPOLYGON")
    if pos < len(tokens) and str(tokens[pos][1]).upper() == "EMPTY":
        raise AoiError(f"WKT {kind} EMPTY has no area")
    if pos >= len(tokens) or tokens[pos][1] != "(":
        found = repr(tokens[pos][1]) if pos < len(tokens) else "the end"
        raise AoiError(f"WKT {kind} needs '(' but has {found}")
    return kind, dims, pos


def _wkt_list(tokens: list[_Token], pos: int, depth: int) -> tuple[list[Any], int]:
    """Parse '(' item, item ... ')' from tokens[pos]; items are lists or number tuples."""
    if depth > 3:
        raise AoiError("WKT nests parentheses deeper than a MULTIPOLYGON can")
    items: list[Any] = []
    item: Any
    pos += 1
    while True:
        if pos < len(tokens) and tokens[pos][1] == "(":
            item, pos = _wkt_list(tokens, pos, depth + 1)
        else:
            start = pos
            while pos < len(tokens) and tokens[pos][0] == "num":
                pos += 1
            if pos == start:
                found = repr(tokens[pos][1]) if pos < len(tokens) else "the end"
                raise AoiError(f"WKT has {found} where a number or '(' was expected")
            item = tuple(value for _, value in tokens[start:pos])
        items.append(item)
        if pos < len(tokens) and tokens[pos][1] == ",":
            pos += 1
        elif pos < len(tokens) and tokens[pos][1] == ")":
            return items, pos + 1
        else:
            found = repr(tokens[pos][1]) if pos < len(tokens) else "the end"
            raise AoiError(f"WKT has {found} where ',' or ')' was expected")


def _wkt_rings(raw: Any, number: int, dims: int) -> list[list[list[float]]]:
    """Turn one parsed WKT polygon into closed GeoJSON-style rings."""
    if not isinstance(raw, list):
        raise AoiError(f"WKT polygon {number} is not a list of rings: {_short(raw)}")
    rings: list[list[list[float]]] = []
    for r, raw_ring in enumerate(raw, 1):
        where = f"ring {r} of polygon {number}"
        if not isinstance(raw_ring, list) or not all(isinstance(p, tuple) for p in raw_ring):
            raise AoiError(f"WKT {where} is not a list of positions: {_short(raw_ring)}")
        for k, p in enumerate(raw_ring, 1):
            if len(p) != dims:
                raise AoiError(
                    f"WKT position {k} of {where} has {len(p)} numbers {_short(p)}, not {dims}"
                )
        ring = [[p[0], p[1]] for p in raw_ring]
        rings.append(ring if ring[0] == ring[-1] else [*ring, ring[0]])
    return rings


def _short(value: object, limit: int = 80) -> str:
    """Render a value for a message: JSON-like, cut to ``limit`` characters."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        try:
            text = repr(value)
        except (ValueError, RecursionError):  # e.g. an int beyond Python's digit limit
            text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"
