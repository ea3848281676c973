"""Areas of interest (AOIs): parse, validate and turn them into M2M spatial filters.

Choices made here, in short:

* **Exact, not boxed.** Peers reduce a polygon to its bounding box. m2mdl sends the polygon
  itself (a ``geojson`` spatial filter), keeps an MBR filter only as a fallback, and can test
  scene footprints against the exact shape (:meth:`Aoi.intersects_polygon`). The filters are
  the typed objects of :mod:`m2mdl.m2m_requests`, which alone spells M2M's JSON.
* **One filter per polygon, one box for many.** Whether M2M's scene-search accepts a
  MultiPolygon in a ``geojson`` spatial filter is not documented (docs/design.md, "M2M API"),
  so :meth:`Aoi.search_areas` gives one Polygon filter per polygon; the caller searches each
  and merges the results by entity id. Above ``MAX_SEPARATE_SEARCHES`` (10) polygons, it
  gives the bounding box instead (one search, not one per polygon) and the caller keeps the
  scenes whose footprint meets a polygon (:meth:`Aoi.intersects_footprint`). The vertex limit
  (10,000) bounds the polygon count.
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

The package, one job a module, each importing only the ones listed before it:

* ``limits``: the size limits. ``base``: coordinate types and message wording.
* ``geometry``: pure math (ellipsoidal area, orientation, segment and polygon intersection,
  the self-intersection sweep). ``antimeridian``: splitting and unwrapping at ±180.
* ``model``: :class:`Aoi` and :class:`AoiSummary`. ``validate``: checks shared by every
  constructor, ending in ``_finish``, which builds the Aoi.
* Constructors: ``geojson_in`` (:func:`parse_geojson`, :func:`load_aoi`), ``wkt``
  (:func:`aoi_from_wkt`), ``build`` (:func:`aoi_from_bbox`, :func:`aoi_from_point`,
  :func:`aoi_from_points`). Output: ``geojson_out`` (:func:`dumps`).
"""

from __future__ import annotations

from . import limits as limits
from .base import _BBOX_SWAP_HINT as _BBOX_SWAP_HINT
from .base import Bounds, Polygon, Position, Ring
from .build import aoi_from_bbox, aoi_from_point, aoi_from_points
from .geojson_in import load_aoi, parse_geojson
from .geojson_out import dumps
from .geometry import _ring_bounds as _ring_bounds
from .geometry import _signed_area2 as _signed_area2
from .limits import (
    MAX_AREA_KM2,
    MAX_FILE_BYTES,
    MAX_RADIUS_KM,
    MAX_SEPARATE_SEARCHES,
    MAX_VERTICES,
    SELF_INTERSECTION_MAX_VERTICES,
)
from .model import Aoi, AoiSummary
from .wkt import aoi_from_wkt

# _BBOX_SWAP_HINT, _ring_bounds and _signed_area2 (private) are re-exported for
# tests/test_aoi.py, which reads them from the package rather than from its modules.
__all__ = [
    "MAX_AREA_KM2",
    "MAX_FILE_BYTES",
    "MAX_RADIUS_KM",
    "MAX_SEPARATE_SEARCHES",
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
