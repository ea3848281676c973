"""The validated AOI (:class:`Aoi`) and its summary (:class:`AoiSummary`): what an AOI offers.

The constructors that build and validate an Aoi live in the other modules of :mod:`m2mdl.aoi`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from m2mdl.errors import AoiError
from m2mdl.m2m_requests import GeoJsonFilter, MbrFilter, SpatialFilter
from m2mdl.util.jsontypes import JsonObject, JsonValue

from . import limits
from .antimeridian import _footprint_variants, _wrapped_lon_range
from .base import Bounds, Polygon, Position
from .geometry import _centroid, _polygon_area_km2, _polygon_meets, _ring_bounds, _vertex_count


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

    def geometry(self) -> JsonObject:
        """Return the AOI as a GeoJSON Polygon (one polygon) or MultiPolygon."""
        coordinates = [_polygon_coordinates(poly) for poly in self.polygons]
        if len(coordinates) == 1:
            return {"type": "Polygon", "coordinates": coordinates[0]}
        return {"type": "MultiPolygon", "coordinates": coordinates}

    def feature_collection(self) -> JsonObject:
        """Return a GeoJSON FeatureCollection with one Feature whose properties hold the source."""
        feature = {"type": "Feature", "properties": {"source": self.source}}
        feature["geometry"] = self.geometry()
        return {"type": "FeatureCollection", "features": [feature]}

    def spatial_filters(self) -> list[JsonObject]:
        """Return one M2M ``geojson`` spatial filter per polygon (search each, merge by entity
        id), as JSON."""
        return [GeoJsonFilter(poly).to_json() for poly in self.polygons]

    @property
    def merged_search(self) -> bool:
        """True when :meth:`search_areas` covers the polygons with boxes (many polygons):
        the caller must then keep only scenes that :meth:`intersects_footprint`."""
        return len(self.polygons) > limits.MAX_SEPARATE_SEARCHES

    def search_areas(self) -> list[SpatialFilter]:
        """The spatial filters to search: one per polygon, or the bounding box for many.

        Up to ``MAX_SEPARATE_SEARCHES`` polygons are searched one by one with their exact
        shape. More are searched once over their bounding box (``mbr``; two boxes split at
        ±180 when the AOI crosses the antimeridian), so the number of scene-search calls does
        not grow with the number of polygons; see :attr:`merged_search`.
        """
        if not self.merged_search:
            return [GeoJsonFilter(poly) for poly in self.polygons]
        west, south, east, north = self.bounds()
        spans = [(west, east)] if west <= east else [(west, 180.0), (-180.0, east)]
        return [MbrFilter(lo, south, hi, north) for lo, hi in spans]

    def search_filters(self) -> list[JsonObject]:
        """:meth:`search_areas` as M2M JSON."""
        return [area.to_json() for area in self.search_areas()]

    def intersects_footprint(self, geometry: JsonValue) -> bool:
        """Whether a scene footprint (a GeoJSON Polygon or MultiPolygon) meets the AOI.

        A footprint that is missing or not a readable polygon counts as meeting it: a scene is
        never dropped for what the service did not say.
        """
        rings = _outer_rings(geometry)
        if not rings:
            return True
        try:
            return any(self.intersects_polygon(ring) for ring in rings)
        except ValueError:
            return True

    def mbr_filter(self) -> JsonObject:
        """Return the M2M ``mbr`` spatial filter of :meth:`bounds`, as JSON.

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
        return MbrFilter(west, south, east, north).to_json()

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


def _polygon_coordinates(poly: Polygon) -> list[list[list[float]]]:
    return [[[lon, lat] for lon, lat in ring] for ring in poly]


def _outer_rings(geometry: JsonValue) -> list[list[tuple[float, float]]]:
    """The outer rings of a GeoJSON Polygon or MultiPolygon as (lon, lat) lists, or []."""
    if not isinstance(geometry, dict):
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if not isinstance(polygons, list):
        return []
    rings: list[list[tuple[float, float]]] = []
    for polygon in polygons:
        try:
            rings.append([(float(p[0]), float(p[1])) for p in polygon[0]])
        except (TypeError, ValueError, IndexError, KeyError):
            return []
    return rings
