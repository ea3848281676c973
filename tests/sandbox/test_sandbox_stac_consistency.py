"""STAC items, checksums and bundle sidecars name the same products as the M2M side.

For the same scene on the same sandbox clock, the STAC API must use the product id that
scene-search and download-options hand out (tier RT vs T1/T2, Level-2 processing date),
and a Level-2 product that is not made yet has no STAC item (docs/sandbox.md, "Recency:
processing lag and tiers" and "STAC API and file content").
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from m2mdl.sandbox import Sandbox, catalog, wrs
from m2mdl.sandbox.catalog import SceneKey
from m2mdl.sandbox.testing import make_config
from tests.sandbox.sandbox_helpers import Client
from tests.sandbox.stac_helpers import multihash, tar_members

JSON = dict[str, Any]
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.timezone.utc).timestamp()
TODAY = dt.date(2026, 6, 14).toordinal()  # the catalog's newest acquisition day at NOW
DATASET = {1: "landsat_ot_c2_l1", 2: "landsat_ot_c2_l2"}
COLLECTION = {"L1": "landsat-c2l1", "SR": "landsat-c2l2-sr", "ST": "landsat-c2l2-st"}
KINDS = {1: ("L1",), 2: ("SR", "ST")}
ROWS = (17, 18, 30, 40, 60)


def _recent(sat: int) -> Iterator[SceneKey]:
    """Scenes of ``sat`` acquired in the last 16 days (bounded: 233 paths x a few rows)."""
    for path in range(1, wrs.PATHS + 1):
        for row in ROWS:
            for day in catalog.pass_days(sat, path, TODAY - 15, TODAY):
                yield SceneKey(sat, path, row, day)


def _find(sat: int, wanted: Callable[[SceneKey], bool]) -> SceneKey:
    found = next((k for k in _recent(sat) if wanted(k)), None)
    assert found is not None, "no recent scene with the wanted recency state"
    return found


def _scenes() -> dict[str, SceneKey]:
    """Old scenes and recent ones in every recency state, chosen by the catalog's rules."""
    old_l8 = SceneKey(8, 40, 30, catalog.pass_days(8, 40, TODAY - 800, TODAY)[0])
    return {
        "old L8 pinned": SceneKey(8, 68, 17, dt.date(2020, 3, 10).toordinal()),
        "old L9 pinned": SceneKey(9, 62, 17, dt.date(2023, 8, 24).toordinal()),
        "old L8": old_l8,
        "L8 real-time, no L2": _find(8, lambda k: catalog.is_real_time(k, 1, TODAY)),
        "L8 tiered, L2 not yet": _find(
            8,
            lambda k: catalog.tier_day(k) == TODAY + 1 and not catalog.exists(k, 2, TODAY),
        ),
        "L8 tiered with L2": _find(8, lambda k: k.day > TODAY - 12 and catalog.exists(k, 2, TODAY)),
        "L9 with L2": _find(
            9, lambda k: catalog.exists(k, 2, TODAY) and catalog.l2_processed_day(k) > k.day
        ),
        "L9 L2 not yet": _find(9, lambda k: not catalog.exists(k, 2, TODAY)),
    }


SCENES = _scenes()


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """One sandbox at the fixed clock (tiny files) and a logged-in client."""
    with Sandbox(make_config(now=lambda: NOW)) as sb:
        yield Client.login(sb)


def _scene_search_display(client: Client, key: SceneKey, level: int) -> str | None:
    ring = catalog.footprint(key.path, key.row)
    lon = sum(p[0] for p in ring) / len(ring)
    lat = sum(p[1] for p in ring) / len(ring)
    day = dt.date.fromordinal(key.day).isoformat()
    body = {
        "datasetName": DATASET[level],
        "sceneFilter": {
            "spatialFilter": {
                "filterType": "mbr",
                "lowerLeft": {"latitude": lat - 0.01, "longitude": lon - 0.01},
                "upperRight": {"latitude": lat + 0.01, "longitude": lon + 0.01},
            },
            "acquisitionFilter": {"start": day, "end": day},
        },
    }
    hits = client.data("scene-search", body)["results"]
    ids = [h["displayId"] for h in hits if h["entityId"] == catalog.entity_id(key)]
    assert len(ids) <= 1
    return ids[0] if ids else None


def _options(client: Client, key: SceneKey, level: int) -> list[JSON]:
    body = {"datasetName": DATASET[level], "entityIds": [catalog.entity_id(key)]}
    opts: list[JSON] = client.data("download-options", body)
    return opts


def _download(client: Client, wanted: list[JSON], label: str) -> dict[str, bytes]:
    """{file name (Content-Disposition): served bytes} for download-request entries."""
    data = client.data("download-request", {"downloads": wanted, "label": label})
    assert not data["failed"] and len(data["availableDownloads"]) == len(wanted)
    out: dict[str, bytes] = {}
    for avail in data["availableDownloads"]:
        resp = requests.get(avail["url"], timeout=30)
        assert resp.status_code == 200, avail["url"]
        disposition = resp.headers["Content-Disposition"]
        out[disposition.split('filename="', 1)[1].rstrip('"')] = resp.content
    return out


def _items(sb: Sandbox, product: str, level: int) -> dict[str, JSON]:
    """The STAC items of a product id, fetched by id from each collection, by kind."""
    out: dict[str, JSON] = {}
    for kind in KINDS[level]:
        item_id = product if kind == "L1" else f"{product}_{kind}"
        url = f"{sb.stac_url}/collections/{COLLECTION[kind]}/items/{item_id}"
        resp = requests.get(url, timeout=30)
        assert resp.status_code == 200, url
        out[kind] = resp.json()
        search = requests.get(f"{sb.stac_url}/search", params={"ids": item_id}, timeout=30)
        assert [f["id"] for f in search.json()["features"]] == [item_id]
    return out


def _check_product(client: Client, key: SceneKey, level: int) -> None:
    sb = client.sandbox
    opts = _options(client, key, level)
    products = {o["displayId"] for o in opts}
    assert len(products) == 1
    product = products.pop()
    assert _scene_search_display(client, key, level) == product
    items = _items(sb, product, level)
    for item in items.values():
        assert item["properties"]["landsat:collection_category"] == product[-2:]
        assert item["properties"]["landsat:scene_id"] == catalog.entity_id(key)
        # created: the processing date, the fifth field of the product id
        assert item["properties"]["created"][:10].replace("-", "") == product.split("_")[4]
    by_name: dict[str, str] = {}
    for item in items.values():
        for asset in item["assets"].values():
            name = urlsplit(asset["href"]).path.rsplit("/", 1)[-1]
            if "file:checksum" in asset:
                assert by_name.setdefault(name, asset["file:checksum"]) == asset["file:checksum"]
    secondaries = opts[0]["secondaryDownloads"]
    served = _download(
        client,
        [{"entityId": s["entityId"], "productId": s["id"]} for s in secondaries],
        f"files-{product}",
    )
    assert set(served) == {s["displayId"] for s in secondaries}
    for name, data in served.items():
        assert name.startswith(product + "_")
        assert by_name.get(name) == multihash(data), name
    _check_bundle(client, opts, items, by_name)


def _check_bundle(
    client: Client, opts: list[JSON], items: dict[str, JSON], by_name: dict[str, str]
) -> None:
    """The bundle's sidecars equal the API items' ids and checksums and its members' bytes."""
    bundle = next(o for o in opts if o["available"] and o["downloadSystem"] != "folder")
    label = f"bundle-{bundle['displayId']}"
    wanted = [{"entityId": bundle["entityId"], "productId": bundle["id"]}]
    ((name, tar),) = _download(client, wanted, label).items()
    assert name == bundle["displayId"] + ".tar"
    members = tar_members(tar)
    for kind, item in items.items():
        sidecar = members[f"{item['id']}_stac.json"]
        doc = json.loads(sidecar)
        assert doc["id"] == item["id"]
        sums = {
            urlsplit(a["href"]).path.rsplit("/", 1)[-1]: a["file:checksum"]
            for a in doc["assets"].values()
            if "file:checksum" in a
        }
        assert sums and all(by_name[n] == s for n, s in sums.items()), kind
        for member, data in members.items():
            if member in sums:
                assert sums[member] == multihash(data), member


@pytest.mark.parametrize("label", list(SCENES))
def test_stac_items_match_the_m2m_product_files(client: Client, label: str) -> None:
    key = SCENES[label]
    _check_product(client, key, 1)
    if catalog.exists(key, 2, TODAY):
        _check_product(client, key, 2)
    else:
        _check_no_level_2(client, key)


def _check_no_level_2(client: Client, key: SceneKey) -> None:
    """No M2M options, no scene-search hit and no STAC item for a product not made yet."""
    sb = client.sandbox
    assert _options(client, key, 2) == []
    assert _scene_search_display(client, key, 2) is None
    product = catalog.display_id(key, 2, TODAY)
    for kind in ("SR", "ST"):
        url = f"{sb.stac_url}/collections/{COLLECTION[kind]}/items/{product}_{kind}"
        assert requests.get(url, timeout=30).status_code == 404
    day = dt.date.fromordinal(key.day).isoformat()
    ring = catalog.footprint(key.path, key.row)
    lon = sum(p[0] for p in ring) / len(ring)
    lat = sum(p[1] for p in ring) / len(ring)
    params = {
        "bbox": f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}",
        "datetime": f"{day}/{day}",
        "limit": "100",
    }
    found = requests.get(f"{sb.stac_url}/search", params=params, timeout=30).json()["features"]
    mine = [f for f in found if f["properties"]["landsat:scene_id"] == catalog.entity_id(key)]
    assert [f["collection"] for f in mine] == ["landsat-c2l1"]
    assert mine[0]["id"] == _options(client, key, 1)[0]["displayId"]


def test_the_chosen_scenes_cover_every_recency_state() -> None:
    states = {
        label: (catalog.tier(k, 1, TODAY), catalog.exists(k, 2, TODAY))
        for label, k in SCENES.items()
    }
    assert states["L8 real-time, no L2"] == ("RT", False)
    assert states["L8 tiered, L2 not yet"][0] in ("T1", "T2")
    assert states["L8 tiered, L2 not yet"][1] is False
    assert states["L8 tiered with L2"][1] and states["L9 with L2"][1]
    assert not states["L9 L2 not yet"][1]
    assert catalog.l2_processed_day(SCENES["L9 with L2"]) != SCENES["L9 with L2"].day
