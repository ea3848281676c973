"""Envelope, authentication and the plain endpoints, over real HTTP."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable

import requests

from m2mdl.sandbox import Sandbox
from tests.sandbox.sandbox_helpers import Client


def test_login_token_returns_a_key_shaped_like_the_real_ones(sandbox: Sandbox) -> None:
    env = Client(sandbox).call("login-token", {"username": "demo", "token": "demo-token"})
    assert set(env) == {"requestId", "version", "sessionId", "data", "errorCode", "errorMessage"}
    assert env["errorCode"] is None and env["version"] == "stable"
    decoded = json.loads(base64.b64decode(env["data"]))
    assert set(decoded) == {"cid", "s", "r", "p"}
    assert decoded["p"] == ["user", "download", "order"]


def test_request_ids_increase(client: Client) -> None:
    first = client.call("permissions")["requestId"]
    second = client.call("permissions")["requestId"]
    assert second > first


def test_bad_credentials_answer_auth_invalid(sandbox: Sandbox) -> None:
    env = Client(sandbox).call("login-token", {"username": "demo", "token": "wrong"})
    assert env["errorCode"] == "AUTH_INVALID" and env["data"] is None


def test_removed_login_endpoint_is_not_found(sandbox: Sandbox) -> None:
    resp = requests.post(
        sandbox.api_url + "login", json={"username": "demo", "password": "x"}, timeout=10
    )
    assert resp.status_code == 404
    env = resp.json()
    assert (env["errorCode"], env["errorMessage"], env["data"]) == (
        "NOT_FOUND",
        "Invalid Endpoint",
        None,
    )


def test_unknown_endpoint_is_not_found(client: Client) -> None:
    assert client.call("no-such-thing")["errorCode"] == "NOT_FOUND"


def test_missing_or_unknown_key_is_rejected(sandbox: Sandbox) -> None:
    assert Client(sandbox).call("permissions")["errorCode"] == "AUTH_KEY_INVALID"
    c = Client(sandbox)
    c.session.headers["X-Auth-Token"] = "bm90LWEta2V5"
    assert c.call("permissions")["errorCode"] == "AUTH_KEY_INVALID"


def test_idle_key_expires(sandbox_factory: Callable[..., Sandbox]) -> None:
    now = [1_700_000_000.0]
    sb = sandbox_factory(key_idle_seconds=60, now=lambda: now[0])
    c = Client.login(sb)
    now[0] += 59
    assert c.call("permissions")["errorCode"] is None
    now[0] += 61
    env = c.call("permissions")
    assert env["errorCode"] == "AUTH_EXPIRED"
    assert env["errorMessage"] == "API key has expired due to inactivity"
    assert c.call("logout")["errorCode"] == "AUTH_EXPIRED"


def test_expire_keys_helper(sandbox: Sandbox, client: Client) -> None:
    sandbox.expire_keys()
    assert client.call("permissions")["errorCode"] == "AUTH_EXPIRED"


def test_logout_then_key_is_invalid(client: Client) -> None:
    env = client.call("logout", None)
    assert env["errorCode"] is None and env["data"] is None
    assert client.call("permissions")["errorCode"] == "AUTH_KEY_INVALID"


def test_get_with_json_body_and_no_content_type_works(sandbox: Sandbox, client: Client) -> None:
    resp = requests.get(
        sandbox.api_url + "dataset",
        timeout=10,
        data=json.dumps({"datasetName": "landsat_ot_c2_l2"}),
        headers={"X-Auth-Token": client.session.headers["X-Auth-Token"]},
    )
    assert resp.json()["data"]["datasetId"] == "5e83d14f2fc39685"


def test_noaccess_account_cannot_use_download_endpoints(sandbox: Sandbox) -> None:
    c = Client.login(sandbox, "noaccess", "noaccess-token")
    assert c.data("permissions") == ["user"]
    for endpoint in ("download-options", "download-request"):
        env = c.call(endpoint, {"datasetName": "landsat_ot_c2_l2", "entityIds": []})
        assert env["errorCode"] == "AUTH_UNAUTHROIZED"
        assert env["errorMessage"] == "Your account does not have access to this endpoint"


def test_datasets(client: Client) -> None:
    by_id = client.data("dataset", {"datasetId": "5f85f041c828327a"})
    assert by_id["datasetAlias"] == "landsat_band_files_c2_l2"
    assert by_id["collectionName"] == "Landsat C2 L2 Band Files"
    found = client.data("dataset-search", {"datasetName": "Landsat 8-9"})
    assert {d["datasetAlias"] for d in found} == {"landsat_ot_c2_l1", "landsat_ot_c2_l2"}
    filters = client.data("dataset-filters", {"datasetName": "landsat_ot_c2_l2"})
    assert {"5e83d14fb9436d88", "5e83d14ff1eda1b8"} <= {f["id"] for f in filters}
    assert client.call("dataset", {"datasetName": "nope"})["errorCode"] == "DATASET_INVALID"


def test_dataset_file_groups_l2(client: Client) -> None:
    data = client.data("dataset-file-groups", {"datasetName": "landsat_ot_c2_l2"})
    groups = data["secondary"]["5f85f041c828327a"]
    sr = [f["name"] for f in groups["ls_c2l2_sr_band"]["files"]]
    assert len(sr) == 13
    assert {
        "ANG.txt",
        "MTL.txt",
        "MTL.xml",
        "QA_PIXEL.TIF",
        "SR_B4.TIF",
        "SR_QA_AEROSOL.TIF",
    } <= set(sr)
    assert groups["ls_c2l2_sr_band"]["label"] == "Level-2 Surface Reflectance Bands"
    assert "ST_B10.TIF" in [f["name"] for f in groups["ls_c2l2_st_band"]["files"]]


def test_grid2ll_and_small_endpoints(client: Client) -> None:
    point = client.data("grid2ll", {"gridType": "WRS2", "path": "68", "row": "17"})
    assert point["shape"] == "point"
    assert abs(point["coordinates"][0]["latitude"] - 61.47) < 0.2
    poly = client.data(
        "grid2ll", {"gridType": "WRS2", "responseShape": "polygon", "path": 68, "row": 17}
    )
    assert len(poly["coordinates"]) == 4
    assert client.data("notifications", {"systemId": "M2M"})[0]["severityCode"] == "I"
    limits = client.data("rate-limit-summary", {})
    assert limits["initialLimits"][0]["recentDownloadCount"] == 15000


def test_concurrent_api_calls_from_one_ip_get_rate_limit_user(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory(api_min_seconds=0.5)
    c = Client.login(sb)
    other = Client(sb)
    other.session.headers.update(c.session.headers)
    results: list[str | None] = []

    def slow() -> None:
        results.append(c.call("permissions")["errorCode"])

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.15)  # the first call now holds the slot for 0.5 s
    assert other.call("permissions")["errorCode"] == "RATE_LIMIT_USER"
    t.join()
    assert results == [None]
    assert other.call("permissions")["errorCode"] is None
