"""Typed filters and small request bodies, and the rule that keeps M2M's JSON keys in one place.

The workflow and the AOI package build :mod:`m2mdl.m2m_requests` objects; only that module
spells M2M's camelCase keys. The bytes sent are the ones sent when the workflow built the
dicts itself: same keys, same order.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from m2mdl.aoi import aoi_from_bbox, parse_geojson
from m2mdl.api import M2MClient
from m2mdl.m2m_requests import (
    AcquisitionFilter,
    GeoJsonFilter,
    MbrFilter,
    MetadataGroup,
    MetadataValue,
    Notifications,
    RateLimitSummary,
    SceneFilter,
    all_of,
    any_of,
)
from m2mdl.workflow.doctor import SEARCH_AREA
from m2mdl.workflow.notices import fetch_notices, fetch_quota
from m2mdl.workflow.search import SearchQuery, search

from .helpers import API, body

PACKAGE = Path(__file__).resolve().parents[1] / "m2mdl"
#: Request keys of M2M that only m2mdl/m2m_requests.py may spell.
M2M_KEYS = (
    "datasetName",
    "entityIds",
    "filterType",
    "filterId",
    "childFilters",
    "lowerLeft",
    "upperRight",
    "systemId",
    "sceneFilter",
    "listId",
    "downloadId",
    "spatialFilter",
    "metadataFilter",
    "geoJson",
    "idField",
    "acquisitionFilter",
    "cloudCoverFilter",
    "seasonalFilter",
    "startingNumber",
    "maxResults",
)
_KEY_RE = re.compile(r"\b(" + "|".join(M2M_KEYS) + r")\b")


def _client() -> M2MClient:
    return M2MClient(API, requests.Session(), api_key="key-1")


def _raw(call: Any) -> str:
    raw = call.request.body
    return raw.decode() if isinstance(raw, bytes) else str(raw)


# --- the typed objects --------------------------------------------------------------------------


def test_spatial_filters_are_m2m_json_in_m2m_order() -> None:
    box = MbrFilter(west=-150.5, south=61.0, east=-149.0, north=61.5)
    assert json.dumps(box.to_json()) == json.dumps(
        {
            "filterType": "mbr",
            "lowerLeft": {"latitude": 61.0, "longitude": -150.5},
            "upperRight": {"latitude": 61.5, "longitude": -149.0},
        }
    )
    ring = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0))
    hole = ((0.2, 0.2), (0.2, 0.4), (0.4, 0.2), (0.2, 0.2))
    polygon = GeoJsonFilter((ring, hole))
    assert json.dumps(polygon.to_json()) == json.dumps(
        {
            "filterType": "geojson",
            "geoJson": {
                "type": "Polygon",
                "coordinates": [[list(p) for p in ring], [list(p) for p in hole]],
            },
        }
    )


def test_metadata_filters_and_their_groups() -> None:
    path, row = MetadataValue("5e83d14fb9436d88", "068"), MetadataValue("5e83d14ff1eda1b8", "017")
    assert path.to_json() == {
        "filterType": "value",
        "filterId": "5e83d14fb9436d88",
        "value": "068",
        "operand": "=",
    }
    assert MetadataValue("f", "1", operand="like").to_json()["operand"] == "like"
    assert all_of([path]) is path and any_of([row]) is row
    both = all_of([path, row])
    assert both == MetadataGroup("and", (path, row))
    assert both.to_json() == {"filterType": "and", "childFilters": [path.to_json(), row.to_json()]}
    either = any_of([path, all_of([row, path])])
    assert either.to_json() == {
        "filterType": "or",
        "childFilters": [
            path.to_json(),
            {"filterType": "and", "childFilters": [row.to_json(), path.to_json()]},
        ],
    }
    with pytest.raises(ValueError, match="no metadata filter"):
        all_of([])
    with pytest.raises(ValueError, match="no metadata filter"):
        any_of([])


def test_small_bodies() -> None:
    assert Notifications("M2M").to_json() == {"systemId": "M2M"}
    assert RateLimitSummary().to_json() == {}


def test_a_scene_filter_sends_typed_and_json_filters_alike() -> None:
    box = MbrFilter(1.0, 2.0, 3.0, 4.0)
    value = MetadataValue("f", "v")
    day = AcquisitionFilter(dt.date(2020, 3, 10), dt.date(2020, 3, 10))
    typed = SceneFilter(spatial=box, metadata=value, acquisition=day)
    as_json = SceneFilter(spatial=box.to_json(), metadata=value.to_json(), acquisition=day)
    assert json.dumps(typed.to_json()) == json.dumps(as_json.to_json())
    assert list(typed.to_json()) == ["spatialFilter", "acquisitionFilter", "metadataFilter"]


# --- the AOI's filters ----------------------------------------------------------------------------


def _multi(count: int) -> str:
    squares = [
        [[[10 + 2 * i, 10], [11 + 2 * i, 10], [11 + 2 * i, 11], [10 + 2 * i, 11], [10 + 2 * i, 10]]]
        for i in range(count)
    ]
    return json.dumps({"type": "MultiPolygon", "coordinates": squares})


def test_the_aoi_gives_typed_search_areas_and_the_same_json() -> None:
    few = parse_geojson(_multi(2))
    assert [type(a) for a in few.search_areas()] == [GeoJsonFilter, GeoJsonFilter]
    assert few.search_filters() == [a.to_json() for a in few.search_areas()]
    assert few.search_filters() == few.spatial_filters()
    many = parse_geojson(_multi(11))
    (box,) = many.search_areas()
    assert box == MbrFilter(10.0, 10.0, 31.0, 11.0)
    assert many.search_filters() == [box.to_json()]
    wide = aoi_from_bbox(-150.5, 61.0, -149.0, 61.5)
    assert json.dumps(wide.mbr_filter()) == json.dumps(
        {
            "filterType": "mbr",
            "lowerLeft": {"latitude": 61.0, "longitude": -150.5},
            "upperRight": {"latitude": 61.5, "longitude": -149.0},
        }
    )


def test_the_doctor_searches_a_typed_box_around_eros() -> None:
    assert MbrFilter(west=-97.5, south=43.0, east=-95.5, north=44.5) == SEARCH_AREA
    spatial = SceneFilter(spatial=SEARCH_AREA).to_json()["spatialFilter"]
    assert spatial["lowerLeft"] == {"longitude": -97.5, "latitude": 43.0}
    assert spatial["upperRight"] == {"longitude": -95.5, "latitude": 44.5}


# --- what the workflow sends ----------------------------------------------------------------------


def _search_page() -> str:
    return body({"results": [], "totalHits": 0, "recordsReturned": 0, "nextRecord": 0})


@responses.activate
def test_a_search_sends_the_bytes_it_always_sent() -> None:
    responses.post(
        API + "dataset-filters",
        body=body(
            [{"id": "p-id", "fieldLabel": "WRS Path"}, {"id": "r-id", "fieldLabel": "WRS Row"}]
        ),
    )
    responses.post(API + "scene-search", body=_search_page())
    area = aoi_from_bbox(-150.5, 61.0, -149.0, 61.5)
    query = SearchQuery(dataset="landsat_ot_c2_l2", aoi=area, path=68, row=17, limit=5)
    search(_client(), query)
    (call,) = [c for c in responses.calls if c.request.url == API + "scene-search"]
    expected = {
        "datasetName": "landsat_ot_c2_l2",
        "sceneFilter": {
            "spatialFilter": {
                "filterType": "geojson",
                "geoJson": {"type": "Polygon", "coordinates": area.geometry()["coordinates"]},
            },
            "metadataFilter": {
                "filterType": "and",
                "childFilters": [
                    {"filterType": "value", "filterId": "p-id", "value": "068", "operand": "="},
                    {"filterType": "value", "filterId": "r-id", "value": "017", "operand": "="},
                ],
            },
        },
        "startingNumber": 1,
        "maxResults": 5,
        "metadataType": "summary",
    }
    assert _raw(call) == json.dumps(expected)


@responses.activate
def test_notices_and_quota_send_the_bytes_they_always_sent() -> None:
    responses.post(API + "notifications", body=body([]))
    responses.post(API + "rate-limit-summary", body=body({"remainingLimits": []}))
    client = _client()
    fetch_notices(client)
    fetch_quota(client)
    sent = [(str(c.request.url).rsplit("/", 1)[-1], _raw(c)) for c in responses.calls]
    notices = [raw for endpoint, raw in sent if endpoint == "notifications"]
    assert notices and all(raw in ('{"systemId": "M2M"}', '{"systemId": "EE"}') for raw in notices)
    assert [raw for endpoint, raw in sent if endpoint == "rate-limit-summary"] == ["{}"]


# --- one place for M2M's keys ---------------------------------------------------------------------


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (prose may name M2M's keys)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _m2m_keys_in(source: str) -> list[tuple[int, str]]:
    """(line, key) for each M2M key in a string of ``source`` that is not a docstring."""
    tree = ast.parse(source)
    prose = _docstrings(tree)
    return sorted(
        (node.lineno, match.group(1))
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
        for match in _KEY_RE.finditer(node.value)
    )


def test_the_scanner_sees_keys_in_dicts_calls_and_f_strings() -> None:
    source = (
        '"""A docstring may say sceneFilter."""\n'
        'body = {"datasetName": name}\n'
        'client.call("notifications", {"systemId": s})\n'
        'key = f"lowerLeft.{x}"\n'
    )
    assert _m2m_keys_in(source) == [(2, "datasetName"), (3, "systemId"), (4, "lowerLeft")]


@pytest.mark.parametrize(
    "path",
    sorted([*(PACKAGE / "workflow").rglob("*.py"), *(PACKAGE / "aoi").rglob("*.py")]),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_m2m_request_key_outside_m2m_requests(path: Path) -> None:
    found = _m2m_keys_in(path.read_text(encoding="utf-8"))
    assert not found, f"{path.name} spells M2M keys (build m2mdl.m2m_requests objects): {found}"
