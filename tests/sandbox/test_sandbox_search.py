"""scene-search: the official Anchorage search, filters and paging."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
import requests

from m2mdl.sandbox import search
from tests.sandbox.sandbox_helpers import ANCHORAGE, ANCHORAGE_IDS, Client


def _search(client: Client, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(ANCHORAGE)
    body["sceneFilter"].update(changes.pop("scene_filter", {}))
    body.update(changes)
    data: dict[str, Any] = client.data("scene-search", body)
    return data


def test_anchorage_cloud_60_returns_the_three_recorded_scenes(client: Client) -> None:
    data = _search(client)
    got = {r["displayId"]: (r["entityId"], r["cloudCover"]) for r in data["results"]}
    assert got == ANCHORAGE_IDS
    assert [r["displayId"][10:16] for r in data["results"]] == ["068017", "068018", "067018"]
    assert data["totalHits"] == data["recordsReturned"] == 3
    first = data["results"][0]
    assert first["publishDate"] == "2022-06-22 18:27:47-05"
    assert first["options"]["bulk"] is True
    assert first["spatialBounds"]["type"] == "Polygon"
    assert first["temporalCoverage"]["startDate"] == "2020-03-10 00:00:00"


def test_anchorage_cloud_20_returns_the_two_068_scenes(client: Client) -> None:
    data = _search(client, scene_filter={"cloudCoverFilter": {"min": 0, "max": 20}})
    assert {r["displayId"][10:16] for r in data["results"]} == {"068017", "068018"}


def test_geojson_polygon_and_multipolygon_match_mbr(client: Client) -> None:
    ring = [
        [-150.9495, 61.0031],
        [-148.9555, 61.0031],
        [-148.9555, 61.4834],
        [-150.9495, 61.4834],
        [-150.9495, 61.0031],
    ]
    poly = {"filterType": "geojson", "geoJson": {"type": "Polygon", "coordinates": [ring]}}
    multi = {"filterType": "geojson", "geoJson": {"type": "MultiPolygon", "coordinates": [[ring]]}}
    for spatial in (poly, multi):
        data = _search(client, scene_filter={"spatialFilter": spatial})
        assert {r["displayId"] for r in data["results"]} == set(ANCHORAGE_IDS)


def test_spatial_filter_is_an_intersection_test_not_a_bbox_test(client: Client) -> None:
    # a thin triangle inside the MBR of 068/017 but outside its slanted footprint
    tri = [[-150.85, 62.55], [-150.80, 62.55], [-150.85, 62.50], [-150.85, 62.55]]
    spatial = {"filterType": "geojson", "geoJson": {"type": "Polygon", "coordinates": [tri]}}
    data = _search(
        client, scene_filter={"spatialFilter": spatial, "cloudCoverFilter": {"min": 0, "max": 100}}
    )
    assert "LC08_L2SP_068017_20200310_20200822_02_T1" not in {
        r["displayId"] for r in data["results"]
    }


def test_metadata_filter_on_path_and_row(client: Client) -> None:
    meta = {
        "filterType": "and",
        "childFilters": [
            {"filterType": "value", "filterId": "5e83d14fb9436d88", "value": "68"},
            {"filterType": "value", "filterId": "5e83d14ff1eda1b8", "value": "17"},
        ],
    }
    data = _search(client, scene_filter={"metadataFilter": meta})
    assert [r["entityId"] for r in data["results"]] == ["LC80680172020070LGN00"]
    unknown = {"filterType": "value", "filterId": "5e83d0b81d20cee8", "value": "68"}
    assert _search(client, scene_filter={"metadataFilter": unknown})["totalHits"] == 0


def test_seasonal_filter_and_sorting(client: Client) -> None:
    body = {
        "datasetName": "landsat_ot_c2_l2",
        "maxResults": 500,
        "sceneFilter": {
            "spatialFilter": ANCHORAGE["sceneFilter"]["spatialFilter"],
            "acquisitionFilter": {"start": "2019-01-01", "end": "2020-12-31"},
            "seasonalFilter": [6, 7],
        },
    }
    data = client.data("scene-search", body)
    dates = [r["temporalCoverage"]["startDate"] for r in data["results"]]
    assert dates and all(d[5:7] in ("06", "07") for d in dates)
    assert dates == sorted(dates, reverse=True)  # newest first by default
    body["sortDirection"] = "ASC"
    asc = [r["temporalCoverage"]["startDate"] for r in client.data("scene-search", body)["results"]]
    assert asc == sorted(asc)
    body["sortField"] = "cloudCover"
    clouds = [r["cloudCover"] for r in client.data("scene-search", body)["results"]]
    assert clouds == sorted(clouds)


def test_paging_follows_the_next_record_rule(client: Client) -> None:
    body: dict[str, Any] = {
        "datasetName": "landsat_ot_c2_l2",
        "maxResults": 7,
        "sceneFilter": {
            "spatialFilter": ANCHORAGE["sceneFilter"]["spatialFilter"],
            "acquisitionFilter": {"start": "2019-01-01", "end": "2019-12-31"},
        },
    }
    seen: list[str] = []
    start = 1
    total = None
    for _ in range(100):
        body["startingNumber"] = start
        data = client.data("scene-search", body)
        total = data["totalHits"] if total is None else total
        assert data["totalHits"] == total
        assert data["nextRecord"] == min(start + data["recordsReturned"], total)
        seen += [r["entityId"] for r in data["results"]]
        if data["recordsReturned"] < 7:
            break
        start = data["nextRecord"]
    assert total is not None and len(seen) == total == len(set(seen)) > 7


def test_large_search_pages_and_rejects_huge_pages(client: Client) -> None:
    body: dict[str, Any] = {
        "datasetName": "landsat_ot_c2_l2",
        "maxResults": 5000,
        "sceneFilter": {
            "spatialFilter": {
                "filterType": "mbr",
                "lowerLeft": {"latitude": 40, "longitude": -10},
                "upperRight": {"latitude": 50, "longitude": 5},
            }
        },
    }
    first = client.data("scene-search", body)
    assert first["totalHits"] > 20_000
    body["startingNumber"] = first["nextRecord"]
    second = client.data("scene-search", body)
    assert second["results"][0]["entityId"] != first["results"][0]["entityId"]
    body["maxResults"] = 50_001
    assert client.call("scene-search", body)["errorCode"] == "INPUT_PARAMETER_INVALID"


def test_whole_earth_search_is_lazy(client: Client) -> None:
    data = client.data("scene-search", {"datasetName": "landsat_ot_c2_l1", "maxResults": 10})
    assert data["recordsReturned"] == 10
    assert data["totalHitsAccuracy"] == "approximate"
    assert all(
        r["displayId"].startswith("LC0") and "_L1TP_" in r["displayId"] for r in data["results"]
    )


def test_a_search_that_outlives_its_client_frees_the_api_slot(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text filter no scene matches makes the search walk until its time cap."""
    monkeypatch.setattr(search, "TIME_LIMIT", 1.0)
    body = {
        "datasetName": "landsat_ot_c2_l2",
        "sceneFilter": {
            "metadataFilter": {"filterType": "value", "filterId": "5e83d14f227b0d85", "value": "XX"}
        },
    }
    with pytest.raises(requests.exceptions.Timeout):
        client.session.post(
            client.sandbox.api_url + "scene-search", data=json.dumps(body), timeout=0.2
        )
    codes = []
    for _ in range(100):  # the walk ends by itself within TIME_LIMIT; then the slot is free
        codes.append(client.call("permissions")["errorCode"])
        if codes[-1] is None:
            break
        time.sleep(0.05)
    assert codes[-1] is None and set(codes) <= {"RATE_LIMIT_USER", None}
    data = client.data("scene-search", body)
    assert data["results"] == [] and data["totalHitsAccuracy"] == "approximate"
