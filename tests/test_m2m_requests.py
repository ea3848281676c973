"""Typed M2M request bodies: their camelCase JSON, and what the client sends with them."""

from __future__ import annotations

import datetime as dt

import requests
import responses

from m2mdl.api import M2MClient
from m2mdl.envelope import RetryPolicy
from m2mdl.m2m_requests import (
    AcquisitionFilter,
    CloudCoverFilter,
    DataGroup,
    DownloadItem,
    DownloadOptions,
    DownloadRequest,
    Grid2ll,
    SceneFilter,
    SceneListAdd,
    SceneSearch,
)

from .helpers import API, body, sent_json


def client() -> M2MClient:
    return M2MClient(
        API,
        requests.Session(),
        api_key="key-1",
        retry=RetryPolicy(attempts=1, base=0.0, cap=0.0),
        sleep=lambda s: None,
    )


def test_scene_filter_leaves_out_what_is_not_set() -> None:
    assert SceneFilter().to_json() == {}
    full = SceneFilter(
        spatial={"filterType": "mbr"},
        acquisition=AcquisitionFilter(dt.date(2020, 1, 1), dt.date(2020, 12, 31)),
        cloud_cover=CloudCoverFilter(max=20),
        months=(8, 6, 6),
        metadata={"filterType": "value"},
    )
    assert full.to_json() == {
        "spatialFilter": {"filterType": "mbr"},
        "acquisitionFilter": {"start": "2020-01-01", "end": "2020-12-31"},
        "cloudCoverFilter": {"min": 0, "max": 20, "includeUnknown": False},
        "seasonalFilter": [6, 8],
        "metadataFilter": {"filterType": "value"},
    }


def test_request_bodies_are_the_camel_case_the_service_takes() -> None:
    assert SceneSearch("d", SceneFilter(), max_results=5, sort_field="cloudCover").to_json() == {
        "datasetName": "d",
        "sceneFilter": {},
        "startingNumber": 1,
        "maxResults": 5,
        "metadataType": "summary",
        "sortField": "cloudCover",
        "sortDirection": "ASC",
    }
    assert SceneListAdd("l", "d", ["e1", "e2"]).to_json() == {
        "listId": "l",
        "datasetName": "d",
        "idField": "entityId",
        "entityIds": ["e1", "e2"],
        "timeToLive": "P1D",
    }
    assert DownloadOptions("d", entity_ids=["e"]).to_json() == {
        "datasetName": "d",
        "entityIds": ["e"],
    }
    assert DownloadOptions("d", list_id="l", file_groups=True).to_json() == {
        "datasetName": "d",
        "listId": "l",
        "includeSecondaryFileGroups": True,
    }
    request = DownloadRequest(
        "lab", [DownloadItem("e", "p")], [DataGroup("d2", ["g1"], "l2")]
    ).to_json()
    assert request == {
        "label": "lab",
        "downloads": [{"entityId": "e", "productId": "p", "label": "lab"}],
        "dataGroups": [{"datasetName": "d2", "fileGroups": ["g1"], "listId": "l2", "label": "lab"}],
    }
    assert Grid2ll(68, 17).to_json() == {
        "gridType": "WRS2",
        "responseShape": "polygon",
        "path": "68",
        "row": "17",
    }


@responses.activate
def test_typed_items_and_json_items_send_the_same_body() -> None:
    responses.post(API + "download-request", body=body({"availableDownloads": []}))
    m2m = client()
    m2m.download_request(
        "lab", downloads=[DownloadItem("e", "p")], data_groups=[DataGroup("d", ["g"], "l")]
    )
    m2m.download_request(
        "lab",
        downloads=[{"entityId": "e", "productId": "p"}],
        data_groups=[{"datasetName": "d", "fileGroups": ["g"], "listId": "l"}],
    )
    typed, plain = (sent_json(c) for c in responses.calls)
    assert typed == plain
    assert typed["downloads"] == [{"entityId": "e", "productId": "p", "label": "lab"}]


@responses.activate
def test_scene_search_takes_a_typed_filter_or_its_json() -> None:
    page = {"results": [], "recordsReturned": 0, "totalHits": 0, "nextRecord": None}
    responses.post(API + "scene-search", body=body(page))
    typed = SceneFilter(acquisition=AcquisitionFilter(dt.date(2020, 1, 1), dt.date(2020, 1, 2)))
    client().scene_search("d", typed)
    client().scene_search("d", typed.to_json())
    first, second = (sent_json(c) for c in responses.calls)
    assert first == second
    assert first["sceneFilter"] == {
        "acquisitionFilter": {"start": "2020-01-01", "end": "2020-01-02"}
    }
