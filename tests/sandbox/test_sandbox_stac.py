"""The sandbox STAC API: catalog, items, search, paging, checksums, sidecars and faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import requests

from m2mdl.sandbox import Sandbox
from tests.sandbox.sandbox_helpers import ANCHORAGE_IDS, SCENE_068017, Client
from tests.sandbox.stac_helpers import all_pages, get_item, multihash, path_of, tar_members

Factory = Callable[..., Sandbox]
SR = "landsat-c2l2-sr"
L1_068017 = SCENE_068017.replace("L2SP", "L1TP")
RECORDED = Path(__file__).parents[1] / "data" / "stac-real"
RECORDED_ID = "LC08_L2SP_047027_20201204_20210313_02_T1_SR"


def test_root_catalog_links_collections_and_search(sandbox: Sandbox) -> None:
    root = requests.get(sandbox.stac_url + "/", timeout=30).json()
    assert root["id"] == "stac-server"
    rels = {(link["rel"], link["href"]) for link in root["links"]}
    assert ("search", sandbox.stac_url + "/search") in rels
    assert ("data", sandbox.stac_url + "/collections") in rels
    children = {href for rel, href in rels if rel == "child"}
    ids = ["landsat-c2l1", "landsat-c2l2-sr", "landsat-c2l2-st"]
    assert children == {f"{sandbox.stac_url}/collections/{c}" for c in ids}
    listed = requests.get(sandbox.stac_url + "/collections", timeout=30).json()
    assert [c["id"] for c in listed["collections"]] == ids
    one = requests.get(f"{sandbox.stac_url}/collections/{SR}", timeout=30).json()
    assert one["type"] == "Collection" and one["id"] == SR


def test_item_by_id_has_recorded_shape_and_download_host_hrefs(sandbox: Sandbox) -> None:
    item = get_item(sandbox, SR, SCENE_068017 + "_SR")
    assert item["id"] == SCENE_068017 + "_SR" and item["collection"] == SR
    props = item["properties"]
    assert props["landsat:scene_id"] == ANCHORAGE_IDS[SCENE_068017][0]
    assert (props["landsat:wrs_path"], props["landsat:wrs_row"]) == ("068", "017")
    assert props["eo:cloud_cover"] == ANCHORAGE_IDS[SCENE_068017][1]
    assert props["datetime"].startswith("2020-03-10T") and props["platform"] == "LANDSAT_8"
    assert props["proj:epsg"] == 32606  # UTM 6N: Anchorage
    assert props["proj:transform"][0] == 30.0
    assert {"red", "nir08", "qa_pixel", "MTL.txt", "ANG.txt", "index"} <= set(item["assets"])
    assert len(item["assets"]) == 17
    assert item["assets"]["red"]["eo:bands"][0]["name"] == "B4"
    self_link = next(link["href"] for link in item["links"] if link["rel"] == "self")
    assert self_link == f"{sandbox.stac_url}/collections/{SR}/items/{SCENE_068017}_SR"
    signed = Client.login(sandbox).file_url("SR_B4.TIF")
    assert path_of(item["assets"]["red"]["href"]) == path_of(signed)
    assert "requestSignature" in signed and "?" not in item["assets"]["red"]["href"]
    st = get_item(sandbox, "landsat-c2l2-st", SCENE_068017 + "_ST")
    assert st["assets"]["lwir11"]["href"].endswith("_ST_B10.TIF")
    l1 = get_item(sandbox, "landsat-c2l1", L1_068017)
    assert l1["assets"]["pan"]["href"].endswith("_B8.TIF")


def test_unknown_items_and_paths_answer_404(sandbox: Sandbox) -> None:
    base = f"{sandbox.stac_url}/collections"
    for url in (
        f"{base}/{SR}/items/LC08_L2SP_068017_20200310_20200822_02_T2_SR",  # wrong tier
        f"{base}/{SR}/items/{L1_068017}",  # L1 item in the SR collection
        f"{base}/landsat-c2l2-st/items/{SCENE_068017}_SR",
        f"{base}/nope",
        f"{sandbox.stac_url}/nothing-here",
    ):
        resp = requests.get(url, timeout=30)
        assert resp.status_code == 404, url
        assert resp.json()["code"] == "NotFound"


def test_checksums_equal_sha512_of_the_served_bytes(sandbox: Sandbox) -> None:
    item = get_item(sandbox, SR, SCENE_068017 + "_SR")
    client = Client.login(sandbox)
    for key, suffix in (("red", "SR_B4.TIF"), ("MTL.txt", "MTL.txt"), ("ANG.txt", "ANG.txt")):
        served = requests.get(client.file_url(suffix), timeout=30).content
        assert item["assets"][key]["file:checksum"] == multihash(served), key
    assert "file:checksum" not in item["assets"]["index"]
    b4 = SCENE_068017 + "_SR_B4.TIF"
    assert sandbox.published_checksum(b4) == multihash(sandbox.expected_bytes(b4))
    assert "https://stac-extensions.github.io/file/v1.0.0/schema.json" in item["stac_extensions"]


def test_search_by_ids_pages_with_next_links(sandbox: Sandbox) -> None:
    ids = [d + "_SR" for d in ANCHORAGE_IDS]
    first = requests.post(
        sandbox.stac_url + "/search", json={"ids": ids, "collections": [SR], "limit": 2}, timeout=30
    )
    pages = all_pages(first)
    assert [p["numberReturned"] for p in pages] == [2, 1, 0]
    assert all(p["numberMatched"] == 3 and p["context"]["matched"] == 3 for p in pages)
    assert pages[0]["context"] == {"limit": 2, "matched": 3, "returned": 2}
    found = [f["id"] for p in pages for f in p["features"]]
    assert sorted(found) == sorted(ids)
    stamps = [f["properties"]["datetime"] for p in pages for f in p["features"]]
    assert stamps == sorted(stamps, reverse=True)
    assert not [link for link in pages[-1]["links"] if link["rel"] == "next"]
    get_first = requests.get(
        sandbox.stac_url + "/search", params={"ids": ",".join(ids), "limit": "1"}, timeout=30
    )
    assert [f["id"] for p in all_pages(get_first) for f in p["features"]] == found


def test_search_ids_without_collections_and_limit_default(sandbox: Sandbox) -> None:
    ids = [L1_068017, SCENE_068017 + "_ST", "LC08_L2SP_000000_20200310_20200822_02_T1_SR"]
    body = requests.post(sandbox.stac_url + "/search", json={"ids": ids}, timeout=30).json()
    assert {f["collection"] for f in body["features"]} == {"landsat-c2l1", "landsat-c2l2-st"}
    assert body["context"]["limit"] == 10
    bad = requests.post(sandbox.stac_url + "/search", json={"limit": 0, "ids": ids}, timeout=30)
    assert bad.status_code == 400 and bad.json()["code"] == "BadRequest"


def test_search_by_bbox_and_datetime_finds_the_anchorage_scenes(sandbox: Sandbox) -> None:
    x1, y1, x2, y2 = -150.9495, 61.0031, -148.9555, 61.4834
    body: dict[str, object] = {
        "bbox": [x1, y1, x2, y2],
        "datetime": "2020-03-01T00:00:00Z/2020-03-15T23:59:59Z",
        "collections": [SR],
        "query": {},
        "limit": 100,
    }
    found = requests.post(sandbox.stac_url + "/search", json=body, timeout=120).json()
    ids = {f["id"] for f in found["features"]}
    assert {d + "_SR" for d in ANCHORAGE_IDS} <= ids
    del body["bbox"]
    body["intersects"] = {
        "type": "Polygon",
        "coordinates": [[[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]],
    }
    again = requests.post(sandbox.stac_url + "/search", json=body, timeout=120).json()
    assert {f["id"] for f in again["features"]} == ids
    assert all(f["properties"]["datetime"][:10] <= "2020-03-15" for f in found["features"])


def test_collection_items_lists_one_collection_with_next_links_to_itself(
    sandbox: Sandbox,
) -> None:
    base = f"{sandbox.stac_url}/collections/{SR}/items"
    window = "2020-03-01T00:00:00Z/2020-03-15T23:59:59Z"
    params = {"bbox": "-150.9495,61.0031,-148.9555,61.4834", "datetime": window, "limit": "2"}
    pages = all_pages(requests.get(base, params=params, timeout=120))
    features = [f for p in pages for f in p["features"]]
    assert {f["collection"] for f in features} == {SR}
    assert {d + "_SR" for d in ANCHORAGE_IDS} <= {f["id"] for f in features}
    assert all(p["numberReturned"] <= 2 for p in pages) and len(pages) > 2
    nexts = [link["href"] for p in pages for link in p["links"] if link["rel"] == "next"]
    assert nexts and all(h.startswith(base + "?") and "collections=" not in h for h in nexts)
    searched = requests.get(
        sandbox.stac_url + "/search", params=params | {"collections": SR}, timeout=120
    )
    assert [f["id"] for p in all_pages(searched) for f in p["features"]] == [
        f["id"] for f in features
    ]
    assert requests.get(f"{sandbox.stac_url}/collections/nope/items", timeout=30).status_code == 404
    unbounded = requests.get(base, timeout=30)
    assert unbounded.status_code == 400 and unbounded.json()["code"] == "BadRequest"


def test_bundle_sidecar_checksums_match_the_other_members(sandbox: Sandbox) -> None:
    url = next(iter(Client.login(sandbox).bundle_urls().values()))
    members = tar_members(requests.get(url, timeout=60).content)
    display = next(n for n in members if n.endswith("_SR_B4.TIF"))[:40]
    for kind in ("SR", "ST"):
        sidecar = json.loads(members[f"{display}_{kind}_stac.json"])
        assert sidecar["id"] == f"{display}_{kind}"
        checked = 0
        for key, asset in sidecar["assets"].items():
            if key == "index":
                continue
            name = asset["href"].rsplit("/", 1)[-1]
            assert asset["file:checksum"] == multihash(members[name]), name
            checked += 1
        assert checked == len(sidecar["assets"]) - 1
    api = get_item(sandbox, SR, display + "_SR")
    sidecar = json.loads(members[f"{display}_SR_stac.json"])
    real = json.loads(
        (RECORDED / "LT05_L2SP_010067_19860424_20200918_02_T2_SR_stac.json").read_text()
    )
    assert list(sidecar) == list(real)
    assert set(sidecar["properties"]) == set(real["properties"])
    assert [link["rel"] for link in sidecar["links"]] == [link["rel"] for link in real["links"]]
    self_href = next(link["href"] for link in sidecar["links"] if link["rel"] == "self")
    assert path_of(self_href).endswith(f"/{display}/{display}_SR_stac.json")
    assert api["assets"]["red"]["file:checksum"] == sidecar["assets"]["red"]["file:checksum"]


def test_stac_down_answers_503_html(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(stac_down=True)
    for resp in (
        requests.get(sb.stac_url + "/", timeout=30),
        requests.post(sb.stac_url + "/search", json={"ids": [SCENE_068017 + "_SR"]}, timeout=30),
    ):
        assert resp.status_code == 503
        assert resp.headers["Content-Type"].startswith("text/html")
        assert "<html>" in resp.text
    assert Client.login(sb).file_url()  # the M2M API is unaffected


def test_wrong_checksum_hits_matching_files_in_items_and_sidecars(
    sandbox_factory: Factory,
) -> None:
    sb = sandbox_factory(wrong_checksum="*_SR_B4.TIF")
    item = get_item(sb, SR, SCENE_068017 + "_SR")
    client = Client.login(sb)
    b4 = requests.get(client.file_url("SR_B4.TIF"), timeout=30).content
    b5 = requests.get(client.file_url("SR_B5.TIF"), timeout=30).content
    assert item["assets"]["red"]["file:checksum"] != multihash(b4)
    assert len(item["assets"]["red"]["file:checksum"]) == len(multihash(b4))
    assert item["assets"]["nir08"]["file:checksum"] == multihash(b5)
    assert (
        sb.published_checksum(SCENE_068017 + "_SR_B4.TIF") == item["assets"]["red"]["file:checksum"]
    )
    members = tar_members(
        requests.get(next(iter(client.bundle_urls().values())), timeout=60).content
    )
    display = next(n for n in members if n.endswith("_SR_B4.TIF"))[:40]
    sidecar = json.loads(members[f"{display}_SR_stac.json"])
    red = sidecar["assets"]["red"]["file:checksum"]
    assert red != multihash(members[f"{display}_SR_B4.TIF"])
    nir = sidecar["assets"]["nir08"]["file:checksum"]
    assert nir == multihash(members[f"{display}_SR_B5.TIF"])


def test_stac_no_checksums_drops_the_field_and_the_extension(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(stac_no_checksums=True)
    item = get_item(sb, SR, SCENE_068017 + "_SR")
    assert not [k for k, a in item["assets"].items() if "file:checksum" in a]
    assert not [e for e in item["stac_extensions"] if "/file/" in e]
    members = tar_members(
        requests.get(next(iter(Client.login(sb).bundle_urls().values())), timeout=60).content
    )
    sidecar = json.loads(next(v for k, v in members.items() if k.endswith("_SR_stac.json")))
    assert not [k for k, a in sidecar["assets"].items() if "file:checksum" in a]
    assert not [e for e in sidecar["stac_extensions"] if "/file/" in e]


def test_item_and_search_have_the_keys_of_the_recorded_response(sandbox: Sandbox) -> None:
    recorded = json.loads((RECORDED / f"api-2022-03-03-search-ids-{RECORDED_ID}.json").read_text())
    body = requests.post(
        sandbox.stac_url + "/search",
        json={"limit": 1, "ids": [SCENE_068017 + "_SR"], "collections": [SR]},
        timeout=30,
    ).json()
    assert set(body) == set(recorded)
    assert set(body["context"]) == set(recorded["context"]) - {"page"}
    ours, real = body["features"][0], recorded["features"][0]
    assert set(ours) == set(real)
    assert set(ours["properties"]) == set(real["properties"])
    assert list(ours["assets"]) == list(real["assets"]) or set(ours["assets"]) == set(
        real["assets"]
    )
    for key in ("red", "qa_pixel", "MTL.txt", "index", "thumbnail"):
        assert set(ours["assets"][key]) == set(real["assets"][key]), key
    assert ours["stac_extensions"] == real["stac_extensions"]
    assert [link["rel"] for link in ours["links"]] == [link["rel"] for link in real["links"]]
