"""Many polygons: one bounding-box search and a client-side footprint filter."""

from __future__ import annotations

import json
from typing import Any

from m2mdl.aoi import MAX_SEPARATE_SEARCHES, parse_geojson


def _square(lon: float, lat: float) -> list[list[float]]:
    return [[lon, lat], [lon + 1, lat], [lon + 1, lat + 1], [lon, lat + 1], [lon, lat]]


def _multi(squares: list[list[list[float]]]) -> str:
    return json.dumps({"type": "MultiPolygon", "coordinates": [[sq] for sq in squares]})


def test_few_polygons_keep_one_exact_filter_each() -> None:
    aoi = parse_geojson(_multi([_square(10, 10), _square(20, 10)]))
    assert not aoi.merged_search
    filters = aoi.search_filters()
    assert [f["filterType"] for f in filters] == ["geojson", "geojson"]


def test_many_polygons_become_their_bounding_box() -> None:
    aoi = parse_geojson(_multi([_square(10 + 2 * i, 10) for i in range(MAX_SEPARATE_SEARCHES + 1)]))
    assert aoi.merged_search
    (box,) = aoi.search_filters()
    assert box["filterType"] == "mbr"
    assert box["lowerLeft"] == {"latitude": 10.0, "longitude": 10.0}
    assert box["upperRight"] == {
        "latitude": 11.0,
        "longitude": 10.0 + 2 * MAX_SEPARATE_SEARCHES + 1,
    }


def test_many_polygons_across_the_antimeridian_become_two_boxes() -> None:
    squares = [_square(170 + i, 0) for i in range(10)] + [_square(-180 + i, 0) for i in range(3)]
    aoi = parse_geojson(_multi(squares))
    boxes = aoi.search_filters()
    spans = sorted((b["lowerLeft"]["longitude"], b["upperRight"]["longitude"]) for b in boxes)
    assert spans == [(-180.0, -177.0), (170.0, 180.0)]


def test_footprint_filter_uses_the_real_polygons() -> None:
    aoi = parse_geojson(_multi([_square(10, 10), _square(20, 10)]))
    between: dict[str, Any] = {"type": "Polygon", "coordinates": [_square(15, 10)]}
    touching: dict[str, Any] = {"type": "MultiPolygon", "coordinates": [[_square(10.5, 10.5)]]}
    assert not aoi.intersects_footprint(between)
    assert aoi.intersects_footprint(touching)
    assert aoi.intersects_footprint(None)  # unknown footprint: kept
    assert aoi.intersects_footprint({"type": "Polygon", "coordinates": "garbage"})
