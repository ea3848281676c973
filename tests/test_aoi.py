"""Tests of m2mdl.aoi: parsing, validation, geometry, filters and intersection."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import geojson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from m2mdl import aoi as aoi_module
from m2mdl.aoi import (
    MAX_AREA_KM2,
    MAX_VERTICES,
    Aoi,
    aoi_from_bbox,
    aoi_from_point,
    aoi_from_points,
    aoi_from_wkt,
    dumps,
    load_aoi,
    parse_geojson,
)
from m2mdl.errors import AoiError, ExitCode, InputError

DATA = Path(__file__).parent / "data" / "aoi"

# The Anchorage box of the official M2M notebook (docs/design.md §M2M API: scene-search).
WEST, SOUTH, EAST, NORTH = -150.9495, 61.0031, -148.9555, 61.4834
ANCHORAGE_WKT = (
    "POLYGON ((-150.9495 61.0031, -148.9555 61.0031, -148.9555 61.4834,"
    " -150.9495 61.4834, -150.9495 61.0031))"
)

# WGS84, written out again here so the reference areas do not reuse the module's constants.
WGS84_A = 6378.137
WGS84_E2 = 0.00669437999014
AUTHALIC_RADIUS = 6371.0072


def ellipsoid_box_area_km2(west: float, south: float, east: float, north: float) -> float:
    """Area of a lon/lat box on WGS84 by Simpson integration of the area element M N cos(phi)."""
    steps = 2000
    lo, hi = math.radians(south), math.radians(north)
    h = (hi - lo) / steps

    def element(phi: float) -> float:
        return (
            WGS84_A**2 * (1 - WGS84_E2) * math.cos(phi) / (1 - WGS84_E2 * math.sin(phi) ** 2) ** 2
        )

    total = element(lo) + element(hi)
    total += sum((4 if k % 2 else 2) * element(lo + k * h) for k in range(1, steps))
    return total * h / 3 * math.radians(east - west)


def sphere_box_area_km2(west: float, south: float, east: float, north: float) -> float:
    """Area of a lon/lat box on the authalic sphere (spherical excess of a lat/lon box)."""
    dlat = math.sin(math.radians(north)) - math.sin(math.radians(south))
    return AUTHALIC_RADIUS**2 * math.radians(east - west) * dlat


def polygon_text(*rings: list[list[Any]]) -> str:
    return json.dumps({"type": "Polygon", "coordinates": list(rings)})


def box(w: float, s: float, e: float, n: float) -> list[list[float]]:
    return [[w, s], [e, s], [e, n], [w, n], [w, s]]


def raises_aoi(call: Callable[[], object]) -> AoiError:
    with pytest.raises(AoiError) as info:
        call()
    return info.value


# --- the Anchorage box, three ways ------------------------------------------------------------


def test_anchorage_from_bbox_file_and_wkt_agree() -> None:
    from_bbox = aoi_from_bbox(WEST, SOUTH, EAST, NORTH)
    from_file = load_aoi(DATA / "anchorage.geojson")
    from_wkt = aoi_from_wkt(ANCHORAGE_WKT)
    assert from_bbox.geometry() == from_file.geometry() == from_wkt.geometry()
    assert (
        from_bbox.bounds() == from_file.bounds() == from_wkt.bounds() == (WEST, SOUTH, EAST, NORTH)
    )
    assert (from_bbox.source, from_wkt.source) == ("bbox", "wkt")
    assert from_file.source == str(DATA / "anchorage.geojson")


def test_anchorage_area_matches_independent_references() -> None:
    area = aoi_from_bbox(WEST, SOUTH, EAST, NORTH).describe().area_km2
    # ~1.994 deg of longitude at 61.2N is ~107 km, 0.48 deg of latitude ~53.5 km: ~5,700 km².
    assert 5_600 < area < 5_800
    assert area == pytest.approx(ellipsoid_box_area_km2(WEST, SOUTH, EAST, NORTH), rel=1e-6)
    assert area == pytest.approx(sphere_box_area_km2(WEST, SOUTH, EAST, NORTH), rel=0.01)


def test_describe_anchorage() -> None:
    summary = aoi_from_bbox(WEST, SOUTH, EAST, NORTH).describe()
    assert (summary.geometry_type, summary.polygons, summary.vertices) == ("Polygon", 1, 4)
    assert summary.bounds == (WEST, SOUTH, EAST, NORTH)
    assert summary.centroid == pytest.approx(((WEST + EAST) / 2, (SOUTH + NORTH) / 2))


def test_spatial_filters_and_mbr_filter_shapes() -> None:
    aoi = aoi_from_bbox(WEST, SOUTH, EAST, NORTH)
    (spatial,) = aoi.spatial_filters()
    assert spatial == {
        "filterType": "geojson",
        "geoJson": {"type": "Polygon", "coordinates": [box(WEST, SOUTH, EAST, NORTH)]},
    }
    json.dumps(spatial)  # plain JSON types only
    assert aoi.mbr_filter() == {
        "filterType": "mbr",
        "lowerLeft": {"latitude": SOUTH, "longitude": WEST},
        "upperRight": {"latitude": NORTH, "longitude": EAST},
    }


def test_spatial_filters_one_per_polygon() -> None:
    aoi = load_aoi(DATA / "two_islands_with_hole.geojson")
    filters = aoi.spatial_filters()
    assert [f["geoJson"]["type"] for f in filters] == ["Polygon", "Polygon"]
    assert [len(f["geoJson"]["coordinates"]) for f in filters] == [2, 1]  # the hole is kept


# --- dumps and round trips --------------------------------------------------------------------


@pytest.mark.parametrize(
    "aoi",
    [
        aoi_from_bbox(WEST, SOUTH, EAST, NORTH),
        aoi_from_bbox(170.0, -20.0, -170.0, -10.0),
        aoi_from_bbox(-180.0, 80.0, 180.0, 81.0),
        aoi_from_point(-149.9, 61.2, 25.0),
        aoi_from_wkt(
            "MULTIPOLYGON(((0 0,4 0,4 4,0 4,0 0),(1 1,1 2,2 2,2 1,1 1)),((5 5,6 5,6 6,5 5)))"
        ),
    ],
    ids=["anchorage", "antimeridian", "band", "circle", "multipolygon"],
)
def test_dumps_round_trips_and_is_valid_geojson(aoi: Aoi) -> None:
    text = dumps(aoi)
    assert geojson.loads(text).is_valid
    again = parse_geojson(text, source=aoi.source)
    assert again == aoi
    assert again.bounds() == aoi.bounds()
    assert json.loads(text)["features"][0]["properties"] == {"source": aoi.source}


def test_dumps_is_pretty_with_one_position_per_line() -> None:
    text = dumps(aoi_from_bbox(WEST, SOUTH, EAST, NORTH))
    assert "[-150.9495, 61.0031]" in text
    assert text.endswith("}\n") and "\n  " in text


def test_dumps_keeps_full_precision() -> None:
    # geojson.dumps would round to 6 decimals; an exact AOI must survive a round trip.
    aoi = aoi_from_bbox(10.123456789012, 20.0, 11.0, 21.987654321098)
    assert parse_geojson(dumps(aoi)).bounds() == aoi.bounds()


# --- GeoJSON forms ----------------------------------------------------------------------------


def test_feature_and_bare_polygon_agree() -> None:
    ring = box(0, 0, 1, 1)
    feature = {
        "type": "Feature",
        "properties": None,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    assert parse_geojson(json.dumps(feature)).polygons == parse_geojson(polygon_text(ring)).polygons


def test_feature_collection_merges_polygonal_features() -> None:
    features = [
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [box(0, 0, 1, 1)]},
        },
        {
            "type": "Feature",
            "properties": {},
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": [[box(2, 0, 3, 1)], [box(4, 0, 5, 1)]],
            },
        },
    ]
    aoi = parse_geojson(json.dumps({"type": "FeatureCollection", "features": features}))
    assert len(aoi.polygons) == 3
    assert aoi.geometry()["type"] == "MultiPolygon"
    assert aoi.bounds() == (0, 0, 5, 1)


def test_geometry_collection_of_polygons() -> None:
    collection = {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Polygon", "coordinates": [box(0, 0, 1, 1)]},
            {"type": "MultiPolygon", "coordinates": [[box(2, 0, 3, 1)]]},
        ],
    }
    assert len(parse_geojson(json.dumps(collection)).polygons) == 2


def test_multipolygon_with_hole_area_orientation_and_describe() -> None:
    aoi = load_aoi(DATA / "two_islands_with_hole.geojson")
    first, second = aoi.polygons
    assert len(first) == 2 and len(second) == 1
    # The file's outer ring is clockwise and its hole counterclockwise; both are rewound.
    assert aoi_module._signed_area2(first[0]) > 0 > aoi_module._signed_area2(first[1])
    summary = aoi.describe()
    assert (summary.geometry_type, summary.polygons, summary.vertices) == ("MultiPolygon", 2, 12)
    expected = (
        ellipsoid_box_area_km2(10, 50, 12, 52)
        - ellipsoid_box_area_km2(10.5, 50.5, 11.5, 51.5)
        + ellipsoid_box_area_km2(20, 50, 21, 51)
    )
    assert summary.area_km2 == pytest.approx(expected, rel=1e-6)


def test_altitude_and_repeated_positions_are_dropped() -> None:
    ring = [[0, 0, 5], [1, 0, 5], [1, 0, 5], [1, 1, 7], [0, 1], [0, 0, 9]]
    (polygon,) = parse_geojson(polygon_text(ring)).polygons
    assert polygon[0] == ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0))


def test_three_d_wkt_case_and_whitespace() -> None:
    text = "  polygon z(( 0 0 1,1 0 1 , 1 1 1,0 1 1 ,0 0 1 ) )  "
    assert aoi_from_wkt(text).bounds() == (0, 0, 1, 1)
    assert aoi_from_wkt("SRID=4326;POLYGON((0 0,1 0,1 1,0 0))").bounds() == (0, 0, 1, 1)


def test_wkt_closes_open_rings_and_keeps_holes() -> None:
    aoi = aoi_from_wkt(
        "MULTIPOLYGON (((0 0, 4 0, 4 4, 0 4), (1 1, 2 1, 2 2, 1 2)), ((5 5, 6 5, 6 6)))"
    )
    assert [len(p) for p in aoi.polygons] == [2, 1]
    assert all(ring[0] == ring[-1] for poly in aoi.polygons for ring in poly)


# --- bbox and the antimeridian ----------------------------------------------------------------


def test_antimeridian_bbox_is_split_in_two() -> None:
    aoi = aoi_from_bbox(170.0, -20.0, -170.0, -10.0)
    assert len(aoi.polygons) == 2
    assert [aoi_module._ring_bounds(p[0]) for p in aoi.polygons] == [
        (170.0, -20.0, 180.0, -10.0),
        (-180.0, -20.0, -170.0, -10.0),
    ]
    assert aoi.bounds() == (170.0, -20.0, -170.0, -10.0)
    assert len(aoi.spatial_filters()) == 2
    expected = ellipsoid_box_area_km2(170, -20, 190, -10)
    assert aoi.describe().area_km2 == pytest.approx(expected, rel=1e-6)
    assert aoi.describe().centroid == pytest.approx((180.0, -15.0))
    error = raises_aoi(aoi.mbr_filter)
    assert "west 170.0 > east -170.0" in error.message


def test_wide_bbox_gets_midpoints_so_no_edge_spans_more_than_180() -> None:
    aoi = aoi_from_bbox(-170.0, 10.0, 170.0, 11.0)
    ring = aoi.polygons[0][0]
    assert len(ring) == 7
    assert max(abs(b[0] - a[0]) for a, b in pairwise(ring)) <= 180
    assert aoi.bounds() == (-170.0, 10.0, 170.0, 11.0)


def test_split_geojson_across_antimeridian_has_crossing_bounds() -> None:
    text = json.dumps(
        {"type": "MultiPolygon", "coordinates": [[box(175, 0, 180, 1)], [box(-180, 0, -175, 1)]]}
    )
    assert parse_geojson(text).bounds() == (175, 0, -175, 1)


# --- circles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lat", [0.0, 45.0, 61.2, -70.0])
@pytest.mark.parametrize("radius", [1.0, 25.0, 500.0])
def test_point_circle_area_is_pi_r_squared(lat: float, radius: float) -> None:
    aoi = aoi_from_point(12.5, lat, radius)
    area = aoi.describe().area_km2
    assert area == pytest.approx(math.pi * radius**2, rel=0.01)
    # The polygon circumscribes the circle: a regular 32-gon has (n / pi) tan(pi / n) x the area.
    assert area == pytest.approx(
        math.pi * radius**2 * 32 / math.pi * math.tan(math.pi / 32), rel=2e-3
    )
    assert aoi.describe().vertices == 32 and aoi.source == "point"
    # A planar lon/lat centroid: on the meridian, and a little poleward for big circles.
    lon, centre_lat = aoi.describe().centroid
    assert lon == pytest.approx(12.5) and centre_lat == pytest.approx(lat, abs=radius / 2000)


def test_point_circle_across_antimeridian_is_split() -> None:
    aoi = aoi_from_point(179.9, -17.0, 100.0)
    assert len(aoi.polygons) == 2
    west, _, east, _ = aoi.bounds()
    assert west > east and 178 < west < 179 and -180 < east < -179
    assert aoi.describe().area_km2 == pytest.approx(math.pi * 100.0**2, rel=0.01)


# --- points (WRS footprints) ------------------------------------------------------------------


def test_points_make_a_closed_ring() -> None:
    corners = [(-150.0, 61.0), (-148.0, 61.0), (-148.0, 62.0), (-150.0, 62.0)]
    aoi = aoi_from_points(corners, "wrs 068/017")
    assert aoi.source == "wrs 068/017"
    assert aoi.polygons[0][0][0] == aoi.polygons[0][0][-1]
    assert aoi.bounds() == (-150.0, 61.0, -148.0, 62.0)


def test_points_across_antimeridian_are_split() -> None:
    corners = [(179.0, -16.0), (-179.0, -16.5), (-178.5, -18.0), (179.5, -17.5)]
    aoi = aoi_from_points(corners, "wrs 073/072")
    assert len(aoi.polygons) == 2
    assert aoi.bounds() == (179.0, -18.0, -178.5, -16.0)


# --- intersection -----------------------------------------------------------------------------


SQUARE = aoi_from_bbox(0, 0, 10, 10)
DONUT = aoi_from_wkt("POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (3 3, 7 3, 7 7, 3 7, 3 3))")


@pytest.mark.parametrize(
    ("aoi", "footprint", "expected"),
    [
        (SQUARE, [(5, 5), (15, 5), (15, 15), (5, 15)], True),  # edges cross
        (SQUARE, [(11, 0), (12, 0), (12, 1), (11, 1)], False),  # apart
        (SQUARE, [(10, 2), (12, 2), (12, 4), (10, 4)], True),  # shares an edge
        (SQUARE, [(2, 2), (3, 2), (3, 3), (2, 3)], True),  # footprint inside the AOI
        (SQUARE, [(-5, -5), (20, -5), (20, 20), (-5, 20)], True),  # AOI inside the footprint
        (SQUARE, [(11, 5), (20, -5), (20, 20)], False),  # bounding boxes overlap, shapes do not
        (DONUT, [(4, 4), (5, 4), (5, 5), (4, 5)], False),  # footprint inside the hole
        (DONUT, [(2, 4), (5, 4), (5, 5), (2, 5)], True),  # reaches out of the hole
        (DONUT, [(-1, -1), (11, -1), (11, 11), (-1, 11), (-1, -1)], True),  # closed ring given
    ],
)
def test_intersects_polygon(aoi: Aoi, footprint: list[tuple[float, float]], expected: bool) -> None:
    assert aoi.intersects_polygon(footprint) is expected


def test_intersects_across_antimeridian() -> None:
    aoi = aoi_from_bbox(170.0, -20.0, -170.0, -10.0)
    naive = [(179.0, -16.0), (-179.0, -16.0), (-179.0, -15.0), (179.0, -15.0)]  # jumps 358
    assert aoi.intersects_polygon(naive)
    assert aoi_from_bbox(-179.5, -20.0, -171.0, -10.0).intersects_polygon(naive)
    assert aoi_from_bbox(178.0, -20.0, 179.5, -10.0).intersects_polygon(naive)
    assert not aoi_from_bbox(-175.0, -20.0, -171.0, -10.0).intersects_polygon(naive)
    assert not aoi_from_bbox(0.0, -20.0, 10.0, -10.0).intersects_polygon(naive)
    assert not aoi.intersects_polygon([(0, 0), (1, 0), (1, 1)])


def test_intersects_rejects_an_empty_footprint() -> None:
    with pytest.raises(ValueError, match="empty"):
        SQUARE.intersects_polygon([])


# --- files ------------------------------------------------------------------------------------


def test_load_aoi_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    text = polygon_text(box(0, 0, 1, 1)).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text)))
    aoi = load_aoi("-")
    assert aoi.source == "<stdin>" and aoi.bounds() == (0, 0, 1, 1)


def test_load_aoi_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.geojson"
    path.write_bytes(b"\xef\xbb\xbf" + polygon_text(box(0, 0, 1, 1)).encode())
    assert load_aoi(path).bounds() == (0, 0, 1, 1)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "No such file"),
        (b'{"type": "Polygon", "coordinates": [[["caf\xe9"]]]}', "not UTF-8: byte 0xe9 at offset"),
        (b"not json", "not JSON"),
        (b'{"type": "Point", "coordinates": [1, 2]}', "a Point is not an area"),
    ],
    ids=["missing", "latin-1", "not-json", "point"],
)
def test_load_aoi_errors_name_the_path(
    tmp_path: Path, content: bytes | None, fragment: str
) -> None:
    path = tmp_path / "area.geojson"
    if content is not None:
        path.write_bytes(content)
    error = raises_aoi(lambda: load_aoi(path))
    assert str(path) in error.message and fragment in error.message
    assert error.exit_code == ExitCode.INPUT and isinstance(error, InputError)


def test_load_aoi_of_a_directory(tmp_path: Path) -> None:
    assert str(tmp_path) in raises_aoi(lambda: load_aoi(tmp_path)).message


def test_load_aoi_refuses_huge_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aoi_module.limits, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.geojson"
    path.write_text(" " * 200 + polygon_text(box(0, 0, 1, 1)))
    assert "larger than" in raises_aoi(lambda: load_aoi(path)).message


# --- limits -----------------------------------------------------------------------------------


def circle_ring(n: int, radius: float = 1.0) -> list[list[float]]:
    ring = [
        [10 + radius * math.cos(2 * math.pi * k / n), 50 + radius * math.sin(2 * math.pi * k / n)]
        for k in range(n)
    ]
    return [*ring, ring[0]]


def test_vertex_limit() -> None:
    assert (
        parse_geojson(polygon_text(circle_ring(MAX_VERTICES))).describe().vertices == MAX_VERTICES
    )
    error = raises_aoi(lambda: parse_geojson(polygon_text(circle_ring(MAX_VERTICES + 1))))
    assert "10,001 vertices" in error.message and error.hint and "simplify" in error.hint


def test_area_limit_names_the_area() -> None:
    error = raises_aoi(lambda: aoi_from_bbox(-60, -30, 60, 30))
    assert "km²" in error.message and f"{MAX_AREA_KM2:,.0f}" in error.message
    assert error.message.split("covers ")[1].split(" km²")[0].replace(",", "").isdigit()


def test_self_intersection_is_not_checked_above_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    bow_tie = polygon_text([[0, 0], [2, 2], [2, 0], [0, 2], [1, 3], [0, 0]])
    assert "crosses itself" in raises_aoi(lambda: parse_geojson(bow_tie)).message
    monkeypatch.setattr(aoi_module.limits, "SELF_INTERSECTION_MAX_VERTICES", 4)
    parse_geojson(bow_tie)  # documented: rings over the cap are not checked


# --- bad inputs -------------------------------------------------------------------------------


def fc(*geometries: dict[str, Any] | None) -> str:
    features = [{"type": "Feature", "properties": {}, "geometry": g} for g in geometries]
    return json.dumps({"type": "FeatureCollection", "features": features})


POLY = {"type": "Polygon", "coordinates": [box(0, 0, 1, 1)]}

BAD_GEOJSON = [
    ("empty-text", "", 'not JSON (Expecting value at line 1 column 1): ""'),
    ("not-json", "hello there", '"hello there"'),
    ("trailing-comma", '{"type": "Polygon",}', "not JSON"),
    ("json-array", "[1, 2, 3]", "got [1, 2, 3]"),
    ("json-no-type", '{"name": "x"}', 'got {"name": "x"}'),
    (
        "point",
        '{"type": "Point", "coordinates": [1, 2]}',
        "a Point is not an area; use aoi_from_point",
    ),
    (
        "linestring",
        json.dumps({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}),
        "a LineString",
    ),
    (
        "multipoint",
        '{"type": "MultiPoint", "coordinates": [[1, 2]]}',
        "a MultiPoint is not an area",
    ),
    ("unknown-type", '{"type": "Circle", "radius": 3}', "unsupported GeoJSON type 'Circle'"),
    (
        "empty-coordinates",
        '{"type": "Polygon", "coordinates": []}',
        'empty or missing "coordinates": []',
    ),
    ("no-coordinates", '{"type": "MultiPolygon"}', '"coordinates": null'),
    (
        "empty-ring",
        '{"type": "Polygon", "coordinates": [[]]}',
        "ring 1 of polygon 1 is not a non-empty",
    ),
    (
        "three-positions",
        polygon_text([[0, 0], [1, 0], [0, 0]]),
        "has 3 positions [[0, 0], [1, 0], [0, 0]]",
    ),
    (
        "not-closed",
        polygon_text([[10, 5], [12, 5], [12, 6], [11, 5]]),
        "ring 1 of polygon 1 is not closed: first [10.0, 5.0] != last [11.0, 5.0]",
    ),
    (
        "hole-not-closed",
        polygon_text(box(0, 0, 4, 4), [[1, 1], [2, 1], [2, 2], [1, 2]]),
        "ring 2 of polygon 1 is not closed: first [1.0, 1.0] != last [1.0, 2.0]",
    ),
    (
        "second-polygon-not-closed",
        json.dumps(
            {
                "type": "MultiPolygon",
                "coordinates": [[box(0, 0, 1, 1)], [[[5, 5], [6, 5], [6, 6], [5, 6]]]],
            }
        ),
        "ring 1 of polygon 2 is not closed",
    ),
    (
        "one-number",
        polygon_text([[0], [1, 0], [1, 1], [0]]),
        "position 1 of ring 1 of polygon 1 is not a position of 2 or 3 numbers [lon, lat]: [0]",
    ),
    ("four-numbers", polygon_text([[0, 0, 0, 0], [1, 0], [1, 1], [0, 0]]), "[0, 0, 0, 0]"),
    ("string-number", polygon_text([[0, 0], ["1", 0], [1, 1], [0, 0]]), 'holds "1", not a number'),
    ("boolean", polygon_text([[0, 0], [1, True], [1, 1], [0, 0]]), "holds true, not a number"),
    (
        "nan",
        '{"type": "Polygon", "coordinates": [[[0, 0], [NaN, 0], [1, 1], [0, 0]]]}',
        "is not finite: [NaN, 0]",
    ),
    (
        "overflow",
        '{"type": "Polygon", "coordinates": [[[0, 0], [1e999, 0], [1, 1], [0, 0]]]}',
        "[Infinity, 0]",
    ),
    (
        "longitude",
        polygon_text([[0, 0], [200, 0], [1, 1], [0, 0]]),
        "longitude 200.0 is outside [-180, 180]",
    ),
    (
        "latitude",
        polygon_text([[0, 0], [1, -95.5], [1, 1], [0, 0]]),
        "latitude -95.5 is outside [-90, 90]",
    ),
    (
        "collinear",
        polygon_text([[0, 0], [1, 1], [3, 3], [0, 0]]),
        "lie on the line [0.0, 0.0] to [3.0, 3.0]",
    ),
    (
        "one-point",
        polygon_text([[7, 7], [7, 7], [7, 7], [7, 7]]),
        "only 1 distinct position(s) [[7.0, 7.0]]",
    ),
    ("two-points", polygon_text([[7, 7], [8, 8], [7, 7], [7, 7]]), "only 2 distinct"),
    ("bow-tie", polygon_text([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]), "crosses itself: edge"),
    (
        "spike",
        polygon_text([[0, 0], [4, 0], [2, 0], [2, 2], [0, 0]]),
        "ring 1 of polygon 1 crosses itself",
    ),
    (
        "antimeridian",
        polygon_text(box(179, 0, -179, 1)),
        "jumps 358 degrees of longitude from [179.0, 1.0] to [-179.0, 1.0]",
    ),
    (
        "hole-outside",
        polygon_text(box(0, 0, 1, 1), box(5, 5, 6, 6)),
        "hole bounds [5.0, 5.0, 6.0, 6.0]",
    ),
    ("empty-collection", '{"type": "FeatureCollection", "features": []}', '"features": []'),
    ("features-not-list", '{"type": "FeatureCollection", "features": 7}', 'no "features" list: 7'),
    (
        "feature-line",
        fc(POLY, {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}),
        "feature 2 of 2: a LineString is not an area",
    ),
    ("feature-null", fc(POLY, None, POLY), "feature 2 of 3: the Feature has a null geometry"),
    (
        "not-a-feature",
        json.dumps({"type": "FeatureCollection", "features": [POLY]}),
        "feature 1 of 1: the feature is a Polygon, not a Feature",
    ),
    (
        "feature-bad-ring",
        fc(POLY, {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
        "feature 2 of 2: ring 1 of polygon 1 is not closed",
    ),
    (
        "feature-bow-tie",
        fc({"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}),
        "feature 1 of 1: ring 1 of polygon 1 crosses itself",
    ),
    (
        "collection-point",
        json.dumps(
            {
                "type": "GeometryCollection",
                "geometries": [POLY, {"type": "Point", "coordinates": [0, 0]}],
            }
        ),
        "geometry 2 of 2: a Point is not an area",
    ),
    (
        "nested-collection",
        json.dumps(
            {
                "type": "GeometryCollection",
                "geometries": [{"type": "GeometryCollection", "geometries": [POLY]}],
            }
        ),
        "geometry 1 of 1: a GeometryCollection inside a GeometryCollection",
    ),
    ("deep-nesting", "[" * 100_000, "not usable JSON"),
    (
        "huge-integer",
        '{"type": "Polygon", "coordinates": [[[' + "9" * 5000 + "]]]}",
        "not usable JSON",
    ),
]


@pytest.mark.parametrize(
    ("text", "fragment"), [c[1:] for c in BAD_GEOJSON], ids=[c[0] for c in BAD_GEOJSON]
)
def test_bad_geojson(text: str, fragment: str) -> None:
    error = raises_aoi(lambda: parse_geojson(text, source="aoi.json"))
    assert error.message.startswith("aoi.json: ")
    assert fragment in error.message
    assert "\n" not in error.message


def test_swapped_lat_lon_gets_a_hint() -> None:
    error = raises_aoi(
        lambda: parse_geojson(
            polygon_text([[61.2, -149.9], [61.3, -149.9], [61.3, -149.8], [61.2, -149.9]])
        )
    )
    assert "[61.2, -149.9]: latitude -149.9" in error.message
    assert error.hint is not None and "looks like [lat, lon]" in error.hint
    assert (
        raises_aoi(lambda: aoi_from_bbox(61.0, -150.9, 61.4, -148.9)).hint
        == aoi_module._BBOX_SWAP_HINT
    )
    over = raises_aoi(lambda: parse_geojson(polygon_text([[0, 0], [200, 0], [1, 1], [0, 0]])))
    assert over.hint is not None and "subtract 360" in over.hint
    far = raises_aoi(
        lambda: parse_geojson(polygon_text([[120, 0], [121, 100], [121, 1], [120, 0]]))
    )
    assert far.hint is None  # [121, 100] cannot be a swapped [lat, lon] either


BAD_CALLS: list[tuple[str, Callable[[], object], str]] = [
    ("bbox-south-north", lambda: aoi_from_bbox(0, 5, 1, 5), "south 5.0 is not less than north 5.0"),
    (
        "bbox-reversed-lat",
        lambda: aoi_from_bbox(0, 6, 1, 5),
        "south 6.0 is not less than north 5.0",
    ),
    ("bbox-no-width", lambda: aoi_from_bbox(3, 0, 3, 1), "west 3.0 equals east 3.0"),
    ("bbox-north", lambda: aoi_from_bbox(0, 0, 1, 91), "north 91.0 is outside [-90, 90]"),
    ("bbox-east", lambda: aoi_from_bbox(0, 0, 181, 1), "east 181.0 is outside [-180, 180]"),
    ("bbox-nan", lambda: aoi_from_bbox(0, math.nan, 1, 1), "south nan is not a finite number"),
    ("bbox-string", lambda: aoi_from_bbox(0, 0, "1", 1), 'east "1" is not a number'),  # type: ignore[arg-type]
    (
        "bbox-west-180",
        lambda: aoi_from_bbox(180, 0, 10, 1),
        "has a side of 0 degrees, under 1e-07 (about 1 cm) (west > east",
    ),
    ("point-radius-zero", lambda: aoi_from_point(0, 0, 0), "radius 0.0 km is not in (0, 500]"),
    ("point-radius-big", lambda: aoi_from_point(0, 0, 600), "radius 600.0 km"),
    (
        "point-pole",
        lambda: aoi_from_point(10, 89, 200),
        "around (10.0, 89.0) reaches the North Pole",
    ),
    ("point-lat", lambda: aoi_from_point(10, 95, 5), "point: latitude 95.0 is outside"),
    ("point-vertices", lambda: aoi_from_point(10, 5, 5, vertices=3), "vertices 3 is not"),
    (
        "points-none",
        lambda: aoi_from_points([], "wrs 1/1"),
        "the ring through the points of wrs 1/1 has no points",
    ),
    (
        "points-two",
        lambda: aoi_from_points([(0, 0), (1, 1)], "x"),
        "only 2 distinct position(s) [[0.0, 0.0], [1.0, 1.0]]",
    ),
    (
        "points-lat",
        lambda: aoi_from_points([(0, 0), (1, 100), (2, 0)], "x"),
        "point 2 of x [1, 100]: latitude 100.0",
    ),
    (
        "points-bow-tie",
        lambda: aoi_from_points([(0, 0), (2, 2), (2, 0), (0, 2)], "x"),
        "crosses itself",
    ),
    (
        "wkt-point",
        lambda: aoi_from_wkt("POINT (1 2)"),
        "a Point is not an area; use aoi_from_point",
    ),
    ("wkt-line", lambda: aoi_from_wkt("linestring(0 0, 1 1)"), "a LineString is not an area"),
    (
        "wkt-collection",
        lambda: aoi_from_wkt("GEOMETRYCOLLECTION (POINT (1 2))"),
        "unsupported WKT type 'GEOMETRYCOLLECTION'",
    ),
    ("wkt-empty", lambda: aoi_from_wkt("POLYGON EMPTY"), "WKT POLYGON EMPTY has no area"),
    ("wkt-blank", lambda: aoi_from_wkt("   "), 'must start with POLYGON or MULTIPOLYGON: "   "'),
    (
        "wkt-word",
        lambda: aoi_from_wkt("POLYGON ((0 0, 1 x, 1 1, 0 0))"),
        "WKT has 'x' where ',' or ')' was expected",
    ),
    (
        "wkt-unclosed-paren",
        lambda: aoi_from_wkt("POLYGON ((0 0, 1 0, 1 1, 0 0)"),
        "WKT has the end where",
    ),
    (
        "wkt-trailing",
        lambda: aoi_from_wkt("POLYGON ((0 0, 1 0, 1 1, 0 0)) junk"),
        "WKT has 'junk' after the end",
    ),
    (
        "wkt-bad-char",
        lambda: aoi_from_wkt("POLYGON ((0 0; 1 0, 1 1, 0 0))"),
        "unexpected ';' at character 14",
    ),
    (
        "wkt-dims",
        lambda: aoi_from_wkt("POLYGON ((0 0 0, 1 0, 1 1, 0 0))"),
        "has 3 numbers [0.0, 0.0, 0.0], not 2",
    ),
    (
        "wkt-srid",
        lambda: aoi_from_wkt("SRID=3857;POLYGON ((0 0, 1 0, 1 1, 0 0))"),
        "SRID=3857 is not WGS84",
    ),
    ("wkt-two-points", lambda: aoi_from_wkt("POLYGON ((0 0, 1 0))"), "has 3 positions"),
    (
        "wkt-multi-shape",
        lambda: aoi_from_wkt("MULTIPOLYGON ((0 0, 1 0, 1 1, 0 0))"),
        "WKT ring 1 of polygon 1 is not a list of positions",
    ),
    (
        "wkt-too-deep",
        lambda: aoi_from_wkt("MULTIPOLYGON ((((0 0))))"),
        "deeper than a MULTIPOLYGON",
    ),
    (
        "wkt-longitude",
        lambda: aoi_from_wkt("POLYGON ((0 0, 190 0, 1 1, 0 0))"),
        "longitude 190.0 is outside",
    ),
]


@pytest.mark.parametrize(
    ("call", "fragment"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
def test_bad_constructor_inputs(call: Callable[[], object], fragment: str) -> None:
    error = raises_aoi(call)
    assert fragment in error.message
    assert "\n" not in error.message


# --- property tests ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=40,
)
NUMBERS = st.integers(-400, 400) | st.floats() | st.sampled_from([0, 1, -180, 180, 90, -90])
POSITIONS = st.lists(NUMBERS | st.text(max_size=2) | st.booleans(), min_size=0, max_size=4)
RINGS = st.lists(POSITIONS, max_size=8).map(lambda r: r + r[:1] if r and len(r) % 2 else r)
GEOMETRIES = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["Polygon", "MultiPolygon", "Point", "LineString", "GeometryCollection", "Nope"]
        ),
        "coordinates": st.lists(RINGS, max_size=3)
        | st.lists(st.lists(RINGS, max_size=2), max_size=2)
        | JSON_VALUES,
    }
)
GEOJSON_LIKE = GEOMETRIES | st.builds(
    lambda gs, kind: {
        "type": kind,
        "features": [{"type": "Feature", "geometry": g} for g in gs],
        "geometries": gs,
    },
    st.lists(GEOMETRIES | st.none(), max_size=3),
    st.sampled_from(["FeatureCollection", "GeometryCollection", "Feature"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text() | JSON_VALUES.map(json.dumps) | GEOJSON_LIKE.map(json.dumps))
def test_parse_geojson_raises_only_aoi_error(text: str) -> None:
    try:
        aoi = parse_geojson(text)
    except AoiError as error:
        assert error.message and "\n" not in error.message
    else:
        assert aoi.polygons and aoi.describe().area_km2 > 0


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="POLYGNMUTIZ()., -0123456789eE", max_size=60) | st.text(max_size=30))
def test_aoi_from_wkt_raises_only_aoi_error(text: str) -> None:
    try:
        aoi = aoi_from_wkt(text)
    except AoiError as error:
        assert error.message and "\n" not in error.message
    else:
        assert aoi.describe().area_km2 > 0


LONS = st.floats(-180, 180, allow_nan=False)
LATS = st.floats(-90, 90, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(LONS, LATS, st.floats(1e-6, 15.0), st.floats(1e-6, 15.0))
def test_any_valid_bbox_has_its_own_bounds(
    west: float, south: float, width: float, height: float
) -> None:
    north = south + height
    assume(north <= 90.0)
    east = west + width
    if east > 180.0:  # wrap: a box across the antimeridian, west > east
        east -= 360.0
    # Valid: each side of the antimeridian at least 1e-7 degrees wide, as documented.
    assume(east >= west or (west <= 180.0 - 1e-7 and east >= -180.0 + 1e-7))
    assume(east != west)
    aoi = aoi_from_bbox(west, south, east, north)
    assert aoi.bounds() == (west, south, east, north)
    assert parse_geojson(dumps(aoi)).bounds() == (west, south, east, north)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-175, 170) | st.integers(-5, 5).map(float),
    st.floats(-80, 70) | st.integers(-5, 5).map(float),
    st.floats(0.01, 5) | st.integers(1, 4).map(float),
    st.floats(0.01, 5) | st.integers(1, 4).map(float),
    st.floats(-175, 170) | st.integers(-5, 5).map(float),
    st.floats(-80, 70) | st.integers(-5, 5).map(float),
    st.floats(0.01, 5) | st.integers(1, 4).map(float),
    st.floats(0.01, 5) | st.integers(1, 4).map(float),
)
def test_intersects_polygon_is_symmetric(
    w1: float, s1: float, dx1: float, dy1: float, w2: float, s2: float, dx2: float, dy2: float
) -> None:
    a = aoi_from_bbox(w1, s1, w1 + dx1, s1 + dy1)
    b = aoi_from_bbox(w2, s2, w2 + dx2, s2 + dy2)
    forward = a.intersects_polygon(b.polygons[0][0])
    assert forward == b.intersects_polygon(a.polygons[0][0])
    overlap = w1 <= w2 + dx2 and w2 <= w1 + dx1 and s1 <= s2 + dy2 and s2 <= s1 + dy1
    assert forward == overlap  # for boxes, intersection is interval overlap on both axes
