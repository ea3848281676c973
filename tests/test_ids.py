"""Scene ids as arguments: display and entity ids, mixed, resolved through M2M."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import requests
import responses

from m2mdl.api import M2MClient
from m2mdl.errors import InputError
from m2mdl.models import Product, Scene
from m2mdl.sandbox.core import Sandbox
from m2mdl.workflow.ids import (
    choose_dataset,
    classify,
    classify_all,
    implied_dataset,
    resolve_ids,
    without_options,
)

L2 = "landsat_ot_c2_l2"
D017 = "LC08_L2SP_068017_20200310_20200822_02_T1"
D018 = "LC08_L2SP_068018_20200310_20200822_02_T1"
D067 = "LC08_L2SP_067018_20200303_20200822_02_T1"
E017, E018, E067 = "LC80680172020070LGN00", "LC80680182020070LGN00", "LC80670182020063LGN00"


def client(sb: Sandbox) -> M2MClient:
    return M2MClient(sb.api_url, requests.Session(), credentials=lambda: ("demo", "demo-token"))


def test_display_and_entity_ids_are_told_apart() -> None:
    display = classify(D017.lower())
    assert (display.kind, display.text, display.dataset) == ("display", D017, L2)
    assert display.acquired == dt.date(2020, 3, 10)
    entity = classify(f" {E067} ")
    assert (entity.kind, entity.acquired, entity.dataset) == ("entity", dt.date(2020, 3, 3), None)
    assert classify("LE07_L1TP_107068_20220310_20220405_02_T1").dataset == "landsat_etm_c2_l1"
    assert classify("LT50380372012126EDC00").acquired == dt.date(2012, 5, 5)


def test_well_formed_ids_that_cannot_exist_carry_a_problem() -> None:
    assert "not a date" in str(classify("LC80000000000000XXX00").problem)
    assert "not a date" in str(classify("LC80680172020367LGN00").problem)  # 2020 has 366
    assert classify("LC80680172020366LGN00").problem is None


@pytest.mark.parametrize(
    "bad",
    [
        "LC08_L2SP_068017",
        "../etc/passwd",
        "LC08 L2SP",
        "x" * 65,
        "LC08_L2SP_0680_T1",
        "LC8068017202007LGN00",  # one digit short: a typo, not another dataset's id
    ],
)
def test_malformed_ids_are_input_errors(bad: str) -> None:
    with pytest.raises(InputError, match="not a scene id"):
        classify(bad)


def test_other_datasets_entity_ids_pass_as_such() -> None:
    assert classify("AR1000000123456").kind == "entity"
    assert classify("AR1000000123456").acquired is None


def test_classify_all_splits_commas_and_drops_duplicates() -> None:
    ids = classify_all([f"{D017},{E018}", D017.lower(), E018])
    assert [i.text for i in ids] == [D017, E018]
    with pytest.raises(InputError, match="give one or more"):
        classify_all([" , "])


def test_the_dataset_follows_from_display_ids() -> None:
    assert implied_dataset(classify_all([D017, E018])) == L2
    assert implied_dataset(classify_all([E018])) is None
    with pytest.raises(InputError, match="different datasets"):
        implied_dataset(classify_all([D017, "LC08_L1TP_068017_20200310_20200822_02_T1"]))


def test_the_flag_beats_the_ids_which_beat_the_default() -> None:
    ids = classify_all([D017, E018])
    assert choose_dataset(ids, "landsat_ot_c2_l1", "x") == "landsat_ot_c2_l1"
    assert choose_dataset(ids, None, "landsat_etm_c2_l2") == L2
    assert choose_dataset(classify_all([E018]), None, "landsat_etm_c2_l2") == "landsat_etm_c2_l2"


def test_mixed_ids_resolve_against_the_sandbox(sandbox: Sandbox) -> None:
    api = client(sandbox)
    given = [D017, E018, E067, D018, "LC80000000000000XXX00"]
    result = resolve_ids(api, L2, given)
    # D018 and E018 are one scene: it appears once, where it was first named
    assert [s.display_id for s in result.scenes] == [D017, D018, D067]
    assert [s.entity_id for s in result.scenes] == [E017, E018, E067]
    first = result.scenes[0]
    assert first.footprint is not None and first.acquired == dt.date(2020, 3, 10)
    assert first.cloud_cover is not None
    assert result.unavailable == (
        ("LC80000000000000XXX00", "no such scene: day 000 of 0000 is not a date"),
    )
    # one dataset-filters call, then one search per acquisition date (2020-03-10, 2020-03-03)
    assert api.calls.get("dataset-filters") == 1
    assert api.calls.get("scene-search") == 2


def test_ids_m2m_does_not_know_are_unavailable(sandbox: Sandbox) -> None:
    unknown_display = D017.replace("_T1", "_T2")
    unknown_entity = "LC80680172020071LGN00"  # not a day path 68 is imaged
    result = resolve_ids(client(sandbox), L2, [D017, unknown_display, unknown_entity])
    assert [s.display_id for s in result.scenes] == [D017]
    assert result.unavailable == (
        (unknown_display, f"M2M knows no such scene in {L2}"),
        (unknown_entity, f"M2M knows no such scene in {L2}"),
    )


def test_a_product_of_another_dataset_says_which(sandbox: Sandbox) -> None:
    level1 = "LC08_L1TP_068017_20200310_20200822_02_T1"
    result = resolve_ids(client(sandbox), L2, [level1, E017])
    assert [s.entity_id for s in result.scenes] == [E017]
    ((text, reason),) = result.unavailable
    assert text == level1 and "--dataset landsat_ot_c2_l1" in reason


def test_level1_display_ids_resolve_in_the_level1_dataset(sandbox: Sandbox) -> None:
    level1 = "LC08_L1TP_068017_20200310_20200822_02_T1"
    result = resolve_ids(client(sandbox), "landsat_ot_c2_l1", [level1, E018])
    assert [s.display_id for s in result.scenes] == [
        level1,
        "LC08_L1TP_068018_20200310_20200822_02_T1",
    ]
    assert result.unavailable == ()


def _filters_body(**labels: str) -> dict[str, Any]:
    return {
        "requestId": 1,
        "version": "stable",
        "errorCode": None,
        "errorMessage": None,
        "data": [{"id": v, "fieldLabel": k} for k, v in labels.items()],
    }


@responses.activate
def test_the_search_request_asks_for_all_ids_of_a_day_at_once() -> None:
    api_url = "https://m2m.example/api/api/json/stable/"
    responses.post(
        api_url + "dataset-filters",
        json=_filters_body(
            **{"Landsat Scene Identifier": "ent", "Landsat Product Identifier L2": "disp"}
        ),
    )
    responses.post(
        api_url + "scene-search",
        json={
            "requestId": 2,
            "version": "stable",
            "errorCode": None,
            "errorMessage": None,
            "data": {"results": [], "totalHits": 0, "recordsReturned": 0, "nextRecord": 0},
        },
    )
    api = M2MClient(api_url, requests.Session(), api_key="key")
    result = resolve_ids(api, L2, [D017, E018])
    assert [t for t, _ in result.unavailable] == [D017, E018]
    body = json.loads(responses.calls[1].request.body or b"{}")
    scene_filter = body["sceneFilter"]
    assert scene_filter["acquisitionFilter"] == {"start": "2020-03-10", "end": "2020-03-10"}
    assert scene_filter["metadataFilter"] == {
        "filterType": "or",
        "childFilters": [
            {"filterType": "value", "filterId": "disp", "value": D017, "operand": "="},
            {"filterType": "value", "filterId": "ent", "value": E018, "operand": "="},
        ],
    }


@responses.activate
def test_a_dataset_without_id_fields_is_an_input_error() -> None:
    api_url = "https://m2m.example/api/api/json/stable/"
    responses.post(api_url + "dataset-filters", json=_filters_body(**{"Cloud Cover": "cc"}))
    api = M2MClient(api_url, requests.Session(), api_key="key")
    with pytest.raises(InputError, match="no Landsat Scene Identifier field"):
        resolve_ids(api, "corona2", ["AR1000000123456"])


def test_scenes_download_options_left_out_are_reported() -> None:
    scenes = [
        Scene(E017, D017, L2, None, None, None, None),
        Scene(E018, D018, L2, None, None, None, None),
    ]
    product = Product.from_json({"entityId": E017, "displayId": D017, "id": "p", "available": True})
    assert without_options(scenes, [product]) == [
        (D018, "M2M offers no download options for this scene")
    ]
