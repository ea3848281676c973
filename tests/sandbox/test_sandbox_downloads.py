"""download-options, download-request, the queue endpoints and scene lists."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable

import requests

from m2mdl.sandbox import Sandbox
from tests.sandbox.sandbox_helpers import SCENE_068017, Client


def test_scene_lists_persist_across_sessions(sandbox: Sandbox, client: Client) -> None:
    ids = client.anchorage_list("keep")
    add = {"listId": "keep", "datasetName": "landsat_ot_c2_l2", "entityId": ids[0]}
    assert client.data("scene-list-add", add) == 3  # the list's resulting size
    client.data("logout")
    again = Client.login(sandbox)
    got = again.data("scene-list-get", {"listId": "keep"})
    assert [g["entityId"] for g in got] == ids
    assert got[0]["datasetName"] == "landsat_ot_c2_l2"
    again.data(
        "scene-list-remove",
        {"listId": "keep", "datasetName": "landsat_ot_c2_l2", "entityIds": ids[:1]},
    )
    assert len(again.data("scene-list-get", {"listId": "keep"})) == 2
    again.data("scene-list-remove", {"listId": "keep"})
    assert again.data("scene-list-get", {"listId": "keep"}) == []


def test_download_options_four_products_and_22_files(client: Client) -> None:
    client.anchorage_list()
    opts = client.data("download-options", {"listId": "anc", "datasetName": "landsat_ot_c2_l2"})
    assert len(opts) == 12
    first = opts[:4]
    assert [o["productCode"] for o in first] == ["D694", "D693", "D691", "D806"]
    assert [o["id"] for o in first] == [
        "5e83d14fec7cae84",
        "6448198cc7b442a4",
        "6448198c62023764",
        "632210d4770592cf",
    ]
    assert [o["available"] for o in first] == [True, True, True, False]
    assert first[1]["filesize"] == 0 and first[1]["downloadName"] == "C2L2 Tile Product Files"
    assert (
        opts[0]["entityId"] == "LC80670182020063LGN00"
    )  # ordered by entityId like the 2025 notebook
    sec = first[0]["secondaryDownloads"]
    assert len(sec) == 22 and all(o["secondaryDownloads"] == sec for o in first)
    assert sec[0]["id"] == "5f85f041a2ea6695" and sec[0]["downloadName"] is None
    ids = {s["entityId"] for s in sec}
    display = first[0]["displayId"]
    assert f"L2SR_{display}_SR_B4_TIF" in ids and f"L2ST_{display}_ANG_TXT" in ids
    assert all(s["displayId"].startswith(display) for s in sec)


def test_download_options_with_file_groups_and_comma_ids(client: Client) -> None:
    body = {
        "datasetName": "landsat_ot_c2_l2",
        "includeSecondaryFileGroups": True,
        "entityIds": "LC80680172020070LGN00,LC80680182020070LGN00",
    }
    opts = client.data("download-options", body)
    assert len(opts) == 8
    sec = opts[0]["secondaryDownloads"]
    assert {s["id"] for s in sec} == {"6453ef54640422ce"}
    assert {s["datasetId"] for s in sec} == {"5f85f041c828327a"}
    b4 = next(s for s in sec if s["downloadName"] == "SR_B4.TIF")
    assert b4["fileGroups"] == ["ls_c2l2_sr_band"]


def test_bundle_filesize_matches_served_bytes_and_tar_is_valid(
    sandbox: Sandbox, client: Client
) -> None:
    client.anchorage_list()
    opts = client.data("download-options", {"listId": "anc", "datasetName": "landsat_ot_c2_l2"})
    sizes = {o["displayId"]: o["filesize"] for o in opts if o["productCode"] == "D694"}
    urls = client.bundle_urls()
    assert len(urls) == 3
    for url in urls.values():
        resp = requests.get(url, timeout=30)
        assert resp.status_code == 200
        name = resp.headers["Content-Disposition"].split('"')[1]
        assert name.endswith(".tar") and sizes[name[:-4]] == len(resp.content)
        assert hashlib.sha256(resp.content).hexdigest() == sandbox.expected_sha256(name)
        with tarfile.open(fileobj=io.BytesIO(resp.content)) as tar:
            members = {m.name: m for m in tar.getmembers()}
        display = name[:-4]
        assert len(members) == 27
        assert {
            f"{display}_MTL.json",
            f"{display}_SR_stac.json",
            f"{display}_thumb_small.jpeg",
            f"{display}_SR_B4.TIF",
        } <= set(members)
        b4 = f"{display}_SR_B4.TIF"
        assert members[b4].size == len(sandbox.expected_bytes(b4))


def test_realistic_scale_bundle_sizes_are_the_recorded_ones(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory(data_scale=1.0)
    c = Client.login(sb)
    c.anchorage_list()
    opts = c.data("download-options", {"listId": "anc", "datasetName": "landsat_ot_c2_l2"})
    sizes = {o["displayId"][10:16]: o["filesize"] for o in opts if o["productCode"] == "D694"}
    assert sizes == {"068017": 977_600_762, "068018": 896_080_792, "067018": 911_186_642}
    assert sb.expected_size(SCENE_068017 + ".tar") == 977_600_762
    assert 20_000_000 < sb.expected_size(SCENE_068017 + "_SR_B4.TIF") < 120_000_000


def test_download_request_dedupes_and_reports_duplicates(client: Client) -> None:
    display = SCENE_068017
    one = {"entityId": f"L2SR_{display}_SR_B4_TIF", "productId": "5f85f041a2ea6695"}
    two = {"entityId": f"L2ST_{display}_ANG_TXT", "productId": "5f85f041a2ea6695"}
    first = client.data("download-request", {"downloads": [one, two, one, two, one]})
    assert len(first["availableDownloads"]) == 2
    assert first["duplicateProducts"] == []
    label = next(iter(first["newRecords"].values()))
    assert label.startswith("m2m_") and len(first["newRecords"]) == 2
    limits = {x["limitType"]: x for x in first["remainingLimits"]}
    assert limits["user"]["recentDownloadCount"] == 14998
    assert limits["ip"]["recentDownloadCount"] == 14998
    second = client.data("download-request", {"downloads": [one], "label": "again"})
    old_id = next(
        a["downloadId"] for a in first["availableDownloads"] if a["entityId"] == one["entityId"]
    )
    assert second["duplicateProducts"] == {str(old_id): label}
    assert second["newRecords"] == []
    assert second["availableDownloads"][0]["downloadId"] == old_id
    assert requests.get(second["availableDownloads"][0]["url"], timeout=10).status_code == 200


def test_download_request_failed_items(client: Client) -> None:
    data = client.data(
        "download-request",
        {
            "downloads": [
                {"entityId": "LC80680172020070LGN00", "productId": "nope"},
                {"entityId": "LC80000002020070LGN00", "productId": "5e83d14fec7cae84"},
                {"entityId": "LC80680172020070LGN00", "productId": "632210d4770592cf"},
            ]
        },
    )
    assert data["numInvalidScenes"] == 3 and len(data["failed"]) == 3
    assert data["availableDownloads"] == []


def test_data_groups_give_13_files_per_scene(client: Client) -> None:
    client.anchorage_list()
    opts = client.data(
        "download-options",
        {"listId": "anc", "datasetName": "landsat_ot_c2_l2", "includeSecondaryFileGroups": True},
    )
    sec_ids = sorted({s["entityId"] for o in opts for s in o["secondaryDownloads"]})
    assert len(sec_ids) == 66
    added = client.data(
        "scene-list-add",
        {"listId": "sec", "entityIds": sec_ids, "datasetName": "landsat_band_files_c2_l2"},
    )
    assert added == 66
    data = client.data(
        "download-request",
        {
            "dataGroups": [
                {
                    "fileGroups": ["ls_c2l2_sr_band"],
                    "datasetName": "landsat_band_files_c2_l2",
                    "listId": "sec",
                }
            ],
            "label": "groups",
        },
    )
    urls = [a["url"] for a in data["availableDownloads"]]
    assert len(urls) == 39
    assert sum("_SR_B4.TIF?" in u for u in urls) == 3
    assert not any("_ST_B10" in u for u in urls)
    assert "/data/collection02/level-2/standard/oli-tirs/2020/068/017/" in " ".join(urls)


def test_queue_endpoints(client: Client) -> None:
    client.bundle_urls(label="mine")
    labels = client.data("download-labels", {})
    assert [(x["label"], x["downloadCount"]) for x in labels] == [("mine", 3)]
    found = client.data("download-search", {"label": "mine"})
    assert len(found) == 3 and "url" not in found[0]
    got = client.data("download-retrieve", {"label": "mine"})
    assert len(got["available"]) == len(got["requested"]) == 3  # the real double listing
    assert got["available"][0]["statusCode"] == "A" and got["available"][0]["url"]
    assert client.data("download-remove", {"downloadId": found[0]["downloadId"]}) is True
    assert client.data("download-order-remove", {"label": "mine"}) == 2
    assert client.data("download-search", {"label": "mine"}) == []


def test_preparing_downloads_become_available(sandbox_factory: Callable[..., Sandbox]) -> None:
    now = [1_750_000_000.0]
    sb = sandbox_factory(preparing_seconds=30, now=lambda: now[0])
    c = Client.login(sb)
    c.anchorage_list()
    opts = c.data("download-options", {"listId": "anc", "datasetName": "landsat_ot_c2_l2"})
    downloads = [
        {"entityId": o["entityId"], "productId": o["id"]}
        for o in opts
        if o["productCode"] == "D694"
    ]
    data = c.data("download-request", {"downloads": downloads, "label": "prep"})
    assert data["availableDownloads"] == [] and len(data["preparingDownloads"]) == 3
    staging = data["preparingDownloads"][0]["url"]
    assert "/download-staging/" in staging
    assert requests.get(staging, timeout=10).status_code == 404
    waiting = c.data("download-retrieve", {"label": "prep"})
    assert waiting["available"] == [] and waiting["queueSize"] == 3
    staged = {p["downloadId"]: p["url"] for p in data["preparingDownloads"]}
    # not yet ready: status R with the same staging URL download-request gave (docs/sandbox.md)
    assert {r["downloadId"]: r["url"] for r in waiting["requested"]} == staged
    assert {r["statusCode"] for r in waiting["requested"]} == {"R"}
    now[0] += 31
    ready = c.data("download-retrieve", {"label": "prep"})
    assert len(ready["available"]) == 3
    item = ready["available"][0]
    assert "/download/" in item["url"] and item["statusText"] == "Available"
    assert {"filesize", "displayId", "productCode", "productName"} <= set(item)
    resp = requests.get(item["url"], timeout=30)
    assert resp.status_code == 200 and len(resp.content) == item["filesize"]
    assert requests.get(staging, timeout=10).url.endswith(item["url"].rsplit("/", 1)[-1])


def test_rate_limit_user_dl(client: Client, sandbox: Sandbox) -> None:
    sandbox.app.state.note_requested("demo", "127.0.0.1", 14_999)
    display = SCENE_068017
    downloads = [
        {"entityId": f"L2SR_{display}_SR_B{b}_TIF", "productId": "5f85f041a2ea6695"} for b in (1, 2)
    ]
    env = client.call("download-request", {"downloads": downloads})
    assert env["errorCode"] == "RATE_LIMIT_USER_DL"
