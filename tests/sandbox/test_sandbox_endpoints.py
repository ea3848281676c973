"""scene-metadata, scene-metadata-list, scene-list-summary, dataset-download-options,
notifications, permissions, rate-limit-summary and grid2ll, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from m2mdl.sandbox import Sandbox
from m2mdl.sandbox.service import ServiceOptions
from m2mdl.sandbox.testing import make_config
from tests.sandbox.sandbox_helpers import ANCHORAGE_IDS, SCENE_068017, Client

REAL = Path(__file__).resolve().parents[1] / "data" / "m2m-real"
L2 = "landsat_ot_c2_l2"
ENTITY_068017 = ANCHORAGE_IDS[SCENE_068017][0]


def _recorded(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((REAL / name).read_text())
    return data


def test_scene_metadata_by_entity_id_is_the_search_hit_plus_ordering_id(client: Client) -> None:
    scene = client.data("scene-metadata", {"datasetName": L2, "entityId": ENTITY_068017})
    assert scene["displayId"] == SCENE_068017 and scene["entityId"] == ENTITY_068017
    assert scene["orderingId"] == ENTITY_068017 and scene["selected"] is None
    assert scene["cloudCover"] == ANCHORAGE_IDS[SCENE_068017][1]
    names = [m["fieldName"] for m in scene["metadata"]]
    assert names[:3] == ["ID", "Landsat Product Identifier L2", "Landsat Product Identifier L1"]


def test_scene_metadata_full_carries_the_recorded_field_set(client: Client) -> None:
    scene = client.data(
        "scene-metadata",
        {
            "datasetName": L2,
            "entityId": SCENE_068017,
            "idType": "displayId",
            "metadataType": "full",
        },
    )
    fields = {m["fieldName"]: m for m in scene["metadata"]}
    recorded = _recorded("kapadia-2021-scene-metadata.json")["data"]
    assert isinstance(recorded, dict)
    for real in recorded["metadata"]:
        # Collection 2 splits the product identifier into an L1 and an L2 field
        name = real["fieldName"].replace("Product Identifier", "Product Identifier L1")
        assert name in fields, name
        assert type(fields[name]["value"]) is type(real["value"]), name
    assert len(fields) >= 66
    assert fields["Landsat Product Identifier L2"]["value"] == SCENE_068017
    assert fields["WRS Path"]["value"] == " 068"
    assert "&deg;" in fields["Center Latitude"]["value"]
    assert all("#" in m["dictionaryLink"] for m in scene["metadata"])
    assert 60 < float(fields["Center Latitude dec"]["value"]) < 63


def test_scene_metadata_of_an_unknown_scene_is_null(client: Client) -> None:
    env = client.call("scene-metadata", {"datasetName": L2, "entityId": "LC80680172020071LGN00"})
    assert env["errorCode"] is None and env["data"] is None
    env = client.call("scene-metadata", {"datasetName": L2})
    assert env["errorCode"] == "INPUT_FORMAT"


def test_scene_metadata_list_answers_per_dataset(client: Client) -> None:
    ids = client.anchorage_list("meta")
    data = client.data("scene-metadata-list", {"listId": "meta", "metadataType": "full"})
    assert list(data) == [L2]
    assert sorted(s["entityId"] for s in data[L2]) == sorted(ids)
    assert all(len(s["metadata"]) >= 66 for s in data[L2])
    assert client.data("scene-metadata-list", {"listId": "no-such-list"}) == []


def test_scene_list_summary_counts_bounds_and_dates(client: Client) -> None:
    client.anchorage_list("sum")
    data = client.data("scene-list-summary", {"listId": "sum"})
    assert data["summary"]["sceneCount"] == "3"  # a string, as on the reference page
    (only,) = data["datasets"]
    assert only["sceneCount"] == 3 and only["datasetName"] == L2 and only["listTimeout"] is None
    assert only["temporalExtent"] == {
        "max": "2020-03-10 00:00:00-05",
        "min": "2020-03-03 00:00:00-05",
    }
    ring = data["summary"]["spatialBounds"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    lats = [p[1] for p in ring]
    assert min(lats) < 61.0031 and max(lats) > 61.4834
    empty = client.data("scene-list-summary", {"listId": "none"})
    assert empty["summary"]["sceneCount"] == "0" and empty["datasets"] == []


def test_scene_list_summary_reports_the_time_to_live(client: Client) -> None:
    client.data(
        "scene-list-add",
        {"listId": "ttl", "datasetName": L2, "entityId": ENTITY_068017, "timeToLive": "PT1H"},
    )
    (only,) = client.data("scene-list-summary", {"listId": "ttl"})["datasets"]
    assert 3500 < only["listTimeout"] <= 3600


def test_dataset_download_options_lists_the_products(client: Client) -> None:
    data = client.data("dataset-download-options", {"datasetName": L2})
    assert [p["productCode"] for p in data] == ["D694", "D693", "D691", "D806"]
    assert set(data[0]) == {
        "productId",
        "productCode",
        "productName",
        "downloadName",
        "downloadSystem",
        "fileGroups",
    }
    options = client.data("download-options", {"datasetName": L2, "entityIds": [ENTITY_068017]})
    assert {p["productId"] for p in data} == {o["id"] for o in options}
    band = client.data("dataset-download-options", {"datasetName": "landsat_band_files_c2_l2"})
    assert ["ls_c2l2_sr_band", "ls_c2l2_st_band"] in [p["fileGroups"] for p in band]
    assert client.data("dataset-download-options", {"datasetName": "landsat_tm_c2_l1"}) == []


def test_notifications_announce_the_notice(sandbox_factory: Callable[..., Sandbox]) -> None:
    text = "M2M will be unavailable 2025-06-01 14:00 to 18:00 UTC"
    sb = sandbox_factory(make_config(service=ServiceOptions(notice=text)))
    data = Client.login(sb).data("notifications", {"systemId": "M2M"})
    keys = {"id", "subject", "dateUpdated", "severityCode", "severityText"}
    assert all(keys | {"messageContent", "severityCssClass"} == set(n) for n in data)
    (notice,) = [n for n in data if n["messageContent"] == text]
    assert notice["subject"] == "Scheduled Maintenance" and notice["severityCode"] == "W"


def test_notifications_without_notice_and_without_system_id(client: Client) -> None:
    data = client.data("notifications", {"systemId": "EE"})
    assert [n["severityCode"] for n in data] == ["I"]
    assert client.call("notifications", {})["errorCode"] == "INPUT_FORMAT"


def test_permissions_are_the_account_roles(client: Client, sandbox: Sandbox) -> None:
    assert client.data("permissions") == ["user", "download", "order"]
    assert Client.login(sandbox, "noaccess", "noaccess-token").data("permissions") == ["user"]


def test_rate_limit_summary_counts_and_extra_addresses(client: Client) -> None:
    client.bundle_urls()
    data = client.data("rate-limit-summary", {"ipAddress": ["10.0.0.7"]})
    assert data["initialLimits"] == [
        {
            "recentDownloadCount": 15000,
            "pendingDownloadCount": 20000,
            "unattemptedDownloadCount": 20000,
        }
    ]
    user, ip, extra = data["remainingLimits"]
    assert user["limitType"] == "user" and user["recentDownloadCount"] == 15000 - 3
    assert ip["ipAddress"] == "127.0.0.1" and extra["ipAddress"] == "10.0.0.7"
    assert extra["recentDownloadCount"] == 15000
    counts = data["recentDownloadCounts"][0]["downloadCounts"]
    assert counts == [{"status": "Available", "downloadCount": 3}]


def test_grid2ll_point_and_polygon(client: Client) -> None:
    point = client.data("grid2ll", {"gridType": "WRS2", "path": "68", "row": "17"})
    assert point["shape"] == "point" and len(point["coordinates"]) == 1
    centre = point["coordinates"][0]
    assert 61 < centre["latitude"] < 62 and -150 < centre["longitude"] < -148
    poly = client.data(
        "grid2ll", {"gridType": "WRS2", "responseShape": "polygon", "path": 68, "row": 17}
    )
    assert poly["shape"] == "polygon" and len(poly["coordinates"]) == 4
    bad = client.call("grid2ll", {"gridType": "WRS1", "path": 1, "row": 1})
    assert bad["errorCode"] == "INPUT_PARAMETER_INVALID"


def test_unknown_endpoints_keep_answering_not_found(client: Client) -> None:
    resp = client.raw("scene-metadata-xml", {"datasetName": L2})
    assert resp.status_code == 404 and resp.json()["errorMessage"] == "Invalid Endpoint"
