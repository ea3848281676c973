"""The multihash parser and the STAC client against recorded real USGS documents."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import responses

from m2mdl.stac import (
    IDS_PER_SEARCH,
    StacClient,
    checksums_of,
    format_multihash,
    item_ids,
    parse_checksum,
    parse_multihash,
    sidecar_checksums,
)

REAL = Path(__file__).parent / "data" / "stac-real"
SEARCH = "api-2022-03-03-search-ids-LC08_L2SP_047027_20201204_20210313_02_T1_SR.json"
ITEM_2023 = "api-2023-06-item-LC09_L2SP_092068_20230607_20230609_02_T1_SR.json"
TM_SR = "LT05_L2SP_010067_19860424_20200918_02_T2_SR_stac.json"
TM_ST = "LT05_L2SP_010067_19860424_20200918_02_T2_ST_stac.json"
OLD_ST = "LC08_L2SP_047027_20201204_20210313_02_T1_ST_stac.json"
L1 = "LE07_L1TP_107068_20220310_20220405_02_T1_stac.json"
URL = "http://127.0.0.1:9/stac-server"


def _load(name: str) -> object:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def _body(body: object) -> object:
    assert isinstance(body, (bytes, str))
    return json.loads(body)


def test_multihash_of_the_file_extension_example() -> None:
    # sha2-512 of "test" as a multihash: 0x13, 0x40, digest.
    digest = hashlib.sha512(b"test").hexdigest()
    assert parse_multihash("1340" + digest) == digest
    assert parse_multihash("1340" + digest.upper()) == digest


def test_format_multihash_is_the_inverse_of_parse() -> None:
    digest = hashlib.sha512(b"test").hexdigest()
    assert format_multihash(digest) == "1340" + digest
    assert format_multihash(digest.upper()) == "1340" + digest
    assert parse_multihash(format_multihash(digest)) == digest
    item = _load(SEARCH)
    assert isinstance(item, dict)
    asset = item["features"][0]["assets"]["ANG.txt"]
    assert format_multihash(parse_multihash(asset["file:checksum"]) or "") == asset["file:checksum"]


@pytest.mark.parametrize(
    "value",
    [
        "1114a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",  # sha1 ("test")
        "12209f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",  # sha2-256
        "1340" + "ab" * 63,  # too short
        "1340" + "ab" * 65,  # trailing byte
        "1341" + "ab" * 64,  # wrong length byte
        "1340" + "zz" * 64,  # not hex
        "134",  # odd length
        "",
        None,
        1340,
        ["1340"],
    ],
)
def test_anything_but_sha512_is_no_checksum(value: object) -> None:
    assert parse_multihash(value) is None


def test_m2m_checksum_field_accepts_bare_sha512_and_multihash() -> None:
    digest = hashlib.sha512(b"x").hexdigest()
    assert parse_checksum(digest.upper()) == digest
    assert parse_checksum("1340" + digest) == digest
    assert parse_checksum("9dd4e461268c8034f5c8564e155c67a6") is None  # an md5
    assert parse_checksum(None) is None


def test_real_search_response_maps_file_names_to_digests() -> None:
    page = _load(SEARCH)
    assert isinstance(page, dict)
    sums = checksums_of(page["features"][0])
    prefix = "LC08_L2SP_047027_20201204_20210313_02_T1"
    assert len(sums) == 16  # every asset but "index"
    ang = sums[f"{prefix}_ANG.txt"]
    assert ang.startswith("310744e738f2700f") and len(ang) == 128
    assert f"{prefix}_SR_B2.TIF" in sums and f"{prefix}_MTL.xml" in sums


def test_real_sidecars_with_and_without_checksums() -> None:
    tm_sr = sidecar_checksums((REAL / TM_SR).read_bytes())
    tm_st = sidecar_checksums((REAL / TM_ST).read_bytes())
    mtl = "LT05_L2SP_010067_19860424_20200918_02_T2_MTL.xml"
    assert tm_sr[mtl] == tm_st[mtl]
    assert tm_sr[mtl].startswith("11cae7037983141995b3d5f9b493de24")
    assert len(tm_sr) == 16 and len(tm_st) == 17
    assert len(set(tm_sr) | set(tm_st)) == 25
    assert sidecar_checksums((REAL / OLD_ST).read_bytes()) == {}
    assert len(sidecar_checksums((REAL / L1).read_bytes())) == 22
    assert checksums_of(_load(ITEM_2023)) == {}
    assert sidecar_checksums(b"not json") == sidecar_checksums(b"[1]") == {}


def test_item_ids_per_level() -> None:
    l2 = "LC08_L2SP_047027_20201204_20210313_02_T1"
    assert item_ids(l2) == [("landsat-c2l2-sr", f"{l2}_SR"), ("landsat-c2l2-st", f"{l2}_ST")]
    l2sr = "LC08_L2SR_076068_20201231_20210308_02_T2"
    assert item_ids(l2sr) == [("landsat-c2l2-sr", f"{l2sr}_SR")]
    l1 = "LE07_L1TP_107068_20220310_20220405_02_T1"
    assert item_ids(l1) == [("landsat-c2l1", l1)]
    assert item_ids("LC80470272020339LGN00") == item_ids("x") == []


@responses.activate
def test_lookup_posts_ids_by_collection_and_follows_next_links() -> None:
    page = _load(SEARCH)
    assert isinstance(page, dict)
    first = dict(page, links=[{"rel": "next", "href": f"{URL}/search?next=abc", "method": "GET"}])
    empty = {"type": "FeatureCollection", "features": [], "links": []}
    responses.post(f"{URL}/search", json=first)
    responses.get(f"{URL}/search?next=abc", json=empty)
    responses.post(f"{URL}/search", json=empty)  # the ST collection: nothing there
    client = StacClient(URL)
    found = client.lookup(["LC08_L2SP_047027_20201204_20210313_02_T1"])
    assert found.error is None and len(found.checksums) == 16
    assert found.found == {"LC08_L2SP_047027_20201204_20210313_02_T1_SR"}
    bodies = [_body(c.request.body) for c in responses.calls if c.request.method == "POST"]
    assert bodies == [
        {
            "ids": ["LC08_L2SP_047027_20201204_20210313_02_T1_SR"],
            "collections": ["landsat-c2l2-sr"],
            "limit": 1,
        },
        {
            "ids": ["LC08_L2SP_047027_20201204_20210313_02_T1_ST"],
            "collections": ["landsat-c2l2-st"],
            "limit": 1,
        },
    ]
    assert client.calls == 3


@responses.activate
def test_many_scenes_cost_a_handful_of_calls() -> None:
    responses.post(f"{URL}/search", json={"features": [], "links": []})
    ids = [f"LC08_L2SP_047027_2020{n:04d}_20210313_02_T1" for n in range(450)]
    client = StacClient(URL)
    assert client.lookup(ids).error is None
    per_collection = -(-450 // IDS_PER_SEARCH)
    assert client.calls == 2 * per_collection == 6


@responses.activate
def test_post_next_link_with_body_is_followed() -> None:
    item = {"id": "A_SR", "assets": {}}
    nxt = {"rel": "next", "href": f"{URL}/search", "method": "POST", "body": {"next": "tok"}}
    responses.post(f"{URL}/search", json={"features": [item], "links": [nxt]})
    responses.post(f"{URL}/search", json={"features": [], "links": [nxt]})
    items = StacClient(URL).search("landsat-c2l2-sr", ["A_SR"])
    assert [i["id"] for i in items] == ["A_SR"]
    assert _body(responses.calls[1].request.body) == {"next": "tok"}


@responses.activate
def test_service_down_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("m2mdl.stac.RETRY_DELAY", 0.0)
    responses.post(
        f"{URL}/search",
        body="<html>Service Unavailable</html>",
        status=503,
        content_type="text/html",
    )
    found = StacClient(URL).lookup(["LC08_L2SP_047027_20201204_20210313_02_T1"])
    assert found.checksums == {} and found.error == "the STAC API answered HTTP 503"
    assert len(responses.calls) == 2  # one retry, then give up


@responses.activate
def test_garbage_answer_is_unavailable() -> None:
    responses.post(f"{URL}/search", json={"features": "nope"})
    found = StacClient(URL).lookup(["LE07_L1TP_107068_20220310_20220405_02_T1"])
    assert found.error and "features" in found.error
