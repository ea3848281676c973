"""Catalog breadth: Level-1, recent scenes (dds_ms), browse images, list lifetimes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import requests

from m2mdl.sandbox import Sandbox
from m2mdl.sandbox.catalog import SceneKey, entity_id, pass_days
from tests.sandbox.sandbox_helpers import ANCHORAGE, Client


def test_level1_search_options_and_files(client: Client) -> None:
    body = dict(ANCHORAGE, datasetName="landsat_ot_c2_l1")
    hits = client.data("scene-search", body)["results"]
    assert [h["displayId"][:10] for h in hits] == ["LC08_L1TP_"] * 3
    assert hits[0]["entityId"] == "LC80680172020070LGN00"  # same entityId as L2 (2025 notebook)
    opts = client.data(
        "download-options", {"datasetName": "landsat_ot_c2_l1", "entityIds": [hits[0]["entityId"]]}
    )
    assert [o["productCode"] for o in opts] == ["D805", "D687", "D689", "D690"]
    assert [o["available"] for o in opts] == [False, True, True, True]
    sec = opts[0]["secondaryDownloads"]
    assert sec[0]["id"] == "5e8207607217ef3e" and sec[0]["downloadName"] == ""
    ang = next(s for s in sec if s["entityId"].endswith("_ANG_TXT"))
    assert ang["entityId"].startswith("L1_LC08_L1TP_068017_")
    data = client.data(
        "download-request",
        {
            "downloads": [
                {"entityId": ang["entityId"], "productId": ang["id"]},
                {"entityId": opts[3]["entityId"], "productId": opts[3]["id"]},
            ]
        },
    )
    urls = [a["url"] for a in data["availableDownloads"]]
    assert "/level-1/standard/oli-tirs/2020/068/017/" in urls[0]
    for url in urls:
        assert requests.get(url, timeout=30).status_code == 200
    groups = client.data("dataset-file-groups", {"datasetName": "landsat_ot_c2_l1"})
    assert "ls_c2l1_all" in groups["secondary"]["5e81ff5f86d11d08"]


def test_recent_scenes_offer_dds_ms_instead_of_ls_zip(sandbox: Sandbox, client: Client) -> None:
    today = sandbox.app.catalog.today
    day = pass_days(8, 40, today - 15, today)[0]
    entity = entity_id(SceneKey(8, 40, 30, day))
    opts = client.data(
        "download-options", {"datasetName": "landsat_ot_c2_l2", "entityIds": [entity]}
    )
    by_code = {o["productCode"]: o for o in opts}
    assert by_code["D694"]["available"] is False and by_code["D806"]["available"] is True
    data = client.data(
        "download-request",
        {"downloads": [{"entityId": entity, "productId": by_code["D806"]["id"]}]},
    )
    url = data["availableDownloads"][0]["url"]
    assert "/download/" in url
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200 and len(resp.content) == by_code["D806"]["filesize"]


def test_browse_urls_are_served_locally(sandbox: Sandbox, client: Client) -> None:
    hit = client.data("scene-search", ANCHORAGE)["results"][0]
    thumb = hit["browse"][0]["thumbnailPath"]
    assert thumb.startswith(sandbox.base_url)
    resp = requests.get(thumb, timeout=10)
    assert resp.status_code == 200 and resp.content[:2] == b"\xff\xd8"


def test_login_envelope_has_a_session_and_lists_expire(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    now = [1_750_000_000.0]
    sb = sandbox_factory(now=lambda: now[0])
    env = Client(sb).call("login-token", {"username": "demo", "token": "demo-token"})
    assert isinstance(env["sessionId"], int)
    c = Client.login(sb)
    c.data(
        "scene-list-add",
        {
            "listId": "short",
            "datasetName": "landsat_ot_c2_l2",
            "entityId": "LC80680172020070LGN00",
            "timeToLive": "PT1H",
        },
    )
    assert len(c.data("scene-list-get", {"listId": "short"})) == 1
    now[0] += 3601
    assert c.data("scene-list-get", {"listId": "short"}) == []
    bad = {"listId": "x", "datasetName": "landsat_ot_c2_l2", "timeToLive": "soon"}
    assert c.call("scene-list-add", bad)["errorCode"] == "INPUT_PARAMETER_INVALID"


def test_catalog_dates_follow_the_recorded_cycle() -> None:
    for sat, path, date in (
        (8, 68, dt.date(2020, 3, 10)),
        (8, 67, dt.date(2020, 3, 3)),
        (8, 226, dt.date(2020, 8, 4)),
        (9, 62, dt.date(2023, 8, 24)),
    ):
        day = date.toordinal()
        assert pass_days(sat, path, day, day) == range(day, day + 1, 16)
