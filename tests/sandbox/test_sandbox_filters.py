"""dataset-filters, metadata-filter searches, searches by id and the recency rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from m2mdl.sandbox import Sandbox, catalog
from m2mdl.sandbox.catalog import SceneKey
from tests.sandbox.sandbox_helpers import ANCHORAGE_IDS, SCENE_068017, Client

L1, L2 = "landsat_ot_c2_l1", "landsat_ot_c2_l2"
NOW = dt.datetime(2025, 6, 15, 12, tzinfo=dt.timezone.utc).timestamp()
TODAY = dt.date(2025, 6, 14).toordinal()  # the catalog's newest acquisition day at NOW


def _ids(client: Client, dataset: str) -> dict[str, str]:
    return {
        f["fieldLabel"]: f["id"] for f in client.data("dataset-filters", {"datasetName": dataset})
    }


def _search(client: Client, dataset: str, meta: Any = None, **extra: Any) -> dict[str, Any]:
    flt = dict(extra.pop("sceneFilter", {}))
    if meta is not None:
        flt["metadataFilter"] = meta
    data: dict[str, Any] = client.data(
        "scene-search", {"datasetName": dataset, "sceneFilter": flt, **extra}
    )
    return data


def _value(fid: str, value: str) -> dict[str, str]:
    return {"filterType": "value", "filterId": fid, "value": value}


def test_dataset_filters_for_landsat_ot_c2_l2_are_the_real_twelve(client: Client) -> None:
    ids = _ids(client, L2)
    assert ids == {
        "Landsat Product Identifier L2": "5e83d14f567d0086",
        "Landsat Product Identifier L1": "5e83d14f227b0d85",
        "Landsat Scene Identifier": "5e83d14fc84c9a78",
        "WRS Path": "5e83d14fb9436d88",
        "WRS Row": "5e83d14ff1eda1b8",
        "Satellite": "61af9273566bb9a8",
        "Sensor Identifier": "5e83d14fc6e09eb6",
        "Nadir/Off Nadir": "5f6aa429b870fd7f",
        "Collection Category": "5f6a6fb2137a3c00",
        "Date Product Generated L2": "5f6a6f82795f1b6c",
        "Date Product Generated L1": "5e83d14fd1d0a167",
        "Image Quality": "628541043da7b4c1",
    }


def test_dataset_filters_follow_the_recorded_field_config(client: Client) -> None:
    by_label = {f["fieldLabel"]: f for f in client.data("dataset-filters", {"datasetName": L2})}
    text = by_label["Landsat Product Identifier L2"]["fieldConfig"]
    assert text["options"] == {"size": "45"} and text["numElements"] == "5"
    assert by_label["Landsat Scene Identifier"]["fieldConfig"]["options"] == {"size": "30"}
    assert by_label["WRS Path"]["fieldConfig"]["options"] == []
    assert by_label["Nadir/Off Nadir"]["valueList"] == {
        "": "All",
        "NADIR": "Nadir",
        "OFFNADIR": "Off Nadir",
    }
    assert by_label["Sensor Identifier"]["dictionaryLink"].endswith("#sensor_id")


def test_every_landsat_c2_dataset_has_filters(client: Client) -> None:
    assert "Data Type L1" in _ids(client, L1) and len(_ids(client, L1)) == 13
    for name in ("landsat_etm_c2_l1", "landsat_etm_c2_l2", "landsat_tm_c2_l1", "landsat_tm_c2_l2"):
        ids = _ids(client, name)
        assert "Sensor Identifier" in ids and "WRS Path" in ids
        assert not set(ids.values()) & set(_ids(client, L2).values())


def test_search_by_entity_id_alone_finds_the_scene(client: Client) -> None:
    fid = _ids(client, L2)["Landsat Scene Identifier"]
    entity = ANCHORAGE_IDS[SCENE_068017][0]
    for body in ({"metadataFilter": _value(fid, entity)},):
        data = client.data("scene-search", {"datasetName": L2, "sceneFilter": body})
        assert [r["displayId"] for r in data["results"]] == [SCENE_068017]
        assert data["totalHits"] == 1 and data["totalHitsAccuracy"] == "exact"


def test_search_by_display_ids_under_or(client: Client) -> None:
    fid = _ids(client, L2)["Landsat Product Identifier L2"]
    wanted = sorted(ANCHORAGE_IDS)
    meta = {"filterType": "or", "childFilters": [_value(fid, d) for d in wanted]}
    data = _search(client, L2, meta)
    assert sorted(r["displayId"] for r in data["results"]) == wanted
    assert data["nextRecord"] == 3


def test_search_by_a_wrong_display_id_finds_nothing(client: Client) -> None:
    fid = _ids(client, L2)["Landsat Product Identifier L2"]
    wrong = SCENE_068017.replace("20200822", "20200823")
    assert _search(client, L2, _value(fid, wrong))["results"] == []


def test_search_by_l1_display_id_on_the_l1_dataset(client: Client) -> None:
    fid = _ids(client, L1)["Landsat Product Identifier L1"]
    l1 = SCENE_068017.replace("L2SP", "L1TP")
    data = _search(client, L1, _value(fid, l1))
    assert [r["displayId"] for r in data["results"]] == [l1]


def test_search_without_any_filter_answers_a_page(client: Client) -> None:
    for body in ({"datasetName": L2}, {"datasetName": L2, "sceneFilter": {}}):
        data = client.data("scene-search", {**body, "maxResults": 5})
        assert data["recordsReturned"] == 5 and data["totalHitsAccuracy"] == "approximate"
        days = [r["temporalCoverage"]["startDate"] for r in data["results"]]
        assert days == sorted(days, reverse=True)
    assert client.data("permissions")  # the API slot is free again


def test_sensor_identifier_filter(client: Client) -> None:
    fid = _ids(client, L2)["Sensor Identifier"]
    hits = _search(client, L2, _value(fid, "OLI_TIRS"), maxResults=3)
    assert hits["recordsReturned"] == 3
    assert _search(client, L2, _value(fid, "TIRS"))["results"] == []


def test_nadir_quality_and_path_filters_combine(client: Client) -> None:
    ids = _ids(client, L2)
    meta = {
        "filterType": "and",
        "childFilters": [
            {
                "filterType": "between",
                "filterId": ids["WRS Path"],
                "firstValue": "60",
                "secondValue": "80",
            },
            _value(ids["Nadir/Off Nadir"], "OFFNADIR"),
        ],
    }
    data = _search(client, L2, meta, maxResults=4)
    assert data["recordsReturned"] == 4
    for hit in data["results"]:
        full = client.data(
            "scene-metadata",
            {"datasetName": L2, "entityId": hit["entityId"], "metadataType": "full"},
        )
        fields = {m["fieldName"]: m["value"] for m in full["metadata"]}
        assert fields["Nadir/Off Nadir"] == "OFFNADIR" and 60 <= int(fields["WRS Path"]) <= 80
    quality = _search(client, L2, _value(ids["Image Quality"], "9"), maxResults=2)
    assert quality["recordsReturned"] == 2


def test_date_product_generated_between(client: Client) -> None:
    fid = _ids(client, L2)["Date Product Generated L2"]
    meta = {
        "filterType": "between",
        "filterId": fid,
        "firstValue": "2021/03/01",
        "secondValue": "2021-03-05",
    }
    data = _search(client, L2, meta, maxResults=20)
    assert data["recordsReturned"] == 20
    assert all("20210301" <= r["displayId"][26:34] <= "20210305" for r in data["results"])


def test_unknown_filter_id_matches_nothing_without_error(client: Client) -> None:
    env = client.call(
        "scene-search",
        {"datasetName": L2, "sceneFilter": {"metadataFilter": _value("5e81f14f8faf8048", "68")}},
    )
    assert env["errorCode"] is None and env["data"]["results"] == []


def test_level_1_is_real_time_until_its_tier_is_known() -> None:
    key = SceneKey(8, 68, 17, catalog.pass_days(8, 68, TODAY - 15, TODAY)[-1])
    assert key.day > TODAY - 16
    lag = catalog.tier_day(key) - key.day
    assert 3 <= lag <= 10
    before = key.day + lag - 2  # the catalog's "today" one day before the tier is known
    assert catalog.tier(key, 1, before) == "RT"
    assert catalog.display_id(key, 1, before).endswith(
        f"_{dt.date.fromordinal(key.day):%Y%m%d}_{dt.date.fromordinal(key.day):%Y%m%d}_02_RT"
    )
    assert not catalog.exists(key, 2, before)
    after = key.day + lag
    assert catalog.tier(key, 1, after) in ("T1", "T2") and catalog.exists(key, 2, after)
    proc = dt.date.fromordinal(catalog.tier_day(key)).strftime("%Y%m%d")
    assert (
        catalog.display_id(key, 2, after)[26:34] == proc == catalog.display_id(key, 1, after)[26:34]
    )


def test_landsat_9_is_tiered_at_once_and_level_2_follows_in_days() -> None:
    key = SceneKey(9, 68, 17, catalog.pass_days(9, 68, TODAY - 15, TODAY)[0])
    assert catalog.tier(key, 1, key.day) in ("T1", "T2")
    l2_day = catalog.l2_processed_day(key)
    assert 1 <= l2_day - key.day <= 3
    assert not catalog.exists(key, 2, l2_day - 2) and catalog.exists(key, 2, l2_day - 1)


def _path_row(client: Client, dataset: str, path: int, row: int) -> dict[str, Any]:
    ids = _ids(client, dataset)
    return {
        "filterType": "and",
        "childFilters": [_value(ids["WRS Path"], str(path)), _value(ids["WRS Row"], str(row))],
    }


def test_newest_scenes_over_http(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(now=lambda: NOW)
    client = Client.login(sb)
    last = SceneKey(8, 68, 17, catalog.pass_days(8, 68, TODAY - 15, TODAY)[-1])
    day = dt.date.fromordinal(last.day).isoformat()
    window = {"acquisitionFilter": {"start": day, "end": day}}
    l1 = _search(client, L1, _path_row(client, L1, 68, 17), sceneFilter=window)["results"]
    assert [r["displayId"] for r in l1] == [catalog.display_id(last, 1, TODAY)]
    l2 = _search(client, L2, _path_row(client, L2, 68, 17), sceneFilter=window)["results"]
    visible = catalog.exists(last, 2, TODAY)
    assert len(l2) == int(visible)
    if catalog.tier(last, 1, TODAY) == "RT":
        assert not visible and l1[0]["displayId"].endswith("_RT")
