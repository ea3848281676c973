"""search, options and aoi through the CLI: the notebook's results, paging, formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
import responses

from m2mdl.aoi import aoi_from_points
from m2mdl.api import M2MClient
from m2mdl.sandbox import Sandbox
from m2mdl.workflow.search import SearchQuery, search

from .cli_helpers import ANCHORAGE, NOTEBOOK_QUERY, SCENES, calls, env_for, run
from .helpers import API, body, sent_json


def search_json(sb: Sandbox, *args: str) -> dict[str, Any]:
    result = run(["search", *args, "--output", "json"], env_for(sb))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_notebook_search_gives_its_three_scenes(sandbox: Sandbox) -> None:
    doc = search_json(sandbox, *NOTEBOOK_QUERY)
    scenes = doc["scenes"]
    assert isinstance(scenes, list)
    assert {s["entity_id"]: s["display_id"] for s in scenes} == SCENES
    clouds = {s["entity_id"]: s["cloud_cover"] for s in scenes}
    assert clouds == {
        "LC80680172020070LGN00": 9,
        "LC80680182020070LGN00": 5,
        "LC80670182020063LGN00": 54,
    }


def test_cloud_max_20_gives_the_two_068_scenes(sandbox: Sandbox) -> None:
    query = [*NOTEBOOK_QUERY[:-1], "20"]
    doc = search_json(sandbox, *query)
    assert sorted(s["display_id"][10:16] for s in doc["scenes"]) == ["068017", "068018"]


@responses.activate
def test_the_polygon_goes_out_as_geojson_not_its_box() -> None:
    triangle = aoi_from_points([(-150.0, 61.0), (-149.0, 61.0), (-149.5, 61.5)], "triangle")
    responses.post(
        API + "scene-search",
        body=body(
            {
                "results": [],
                "recordsReturned": 0,
                "totalHits": 0,
                "startingNumber": 1,
                "nextRecord": 0,
            }
        ),
    )
    client = M2MClient(API, requests.Session(), api_key="k")
    search(client, SearchQuery(dataset="landsat_ot_c2_l2", aoi=triangle))
    spatial = sent_json(responses.calls[0])["sceneFilter"]["spatialFilter"]
    assert spatial["filterType"] == "geojson"
    ring = spatial["geoJson"]["coordinates"][0]
    assert len(ring) == 4 and sorted(map(tuple, ring[:3])) == sorted(
        [(-150.0, 61.0), (-149.0, 61.0), (-149.5, 61.5)]
    )


def test_all_pages_one_call_per_page(sandbox: Sandbox) -> None:
    doc = search_json(
        sandbox,
        "--bbox",
        "-150",
        "60",
        "-148",
        "62",
        "--start",
        "2015-01-01",
        "--end",
        "2020-12-31",
    )
    count, total = doc["count"], doc["total_hits"]
    assert isinstance(count, int) and count == total and count > 1000
    pages = calls(sandbox, "scene-search")
    assert len(pages) == -(-count // 1000)  # ceil: 1000 per page


def test_limit_is_respected(sandbox: Sandbox) -> None:
    doc = search_json(sandbox, "--bbox", "-150", "60", "-148", "62", "--limit", "7")
    assert doc["count"] == 7


def test_path_row_filter(sandbox: Sandbox) -> None:
    doc = search_json(sandbox, *NOTEBOOK_QUERY, "--path", "68", "--row", "17")
    assert [s["display_id"] for s in doc["scenes"]] == [SCENES["LC80680172020070LGN00"]]


def test_saved_search_feeds_download(sandbox: Sandbox, tmp_path: Path) -> None:
    saved = tmp_path / "scenes.geojson"
    result = run(
        ["search", *NOTEBOOK_QUERY, "--output", "geojson", "-o", str(saved)], env_for(sandbox)
    )
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "out"
    result = run(
        ["download", "--from", str(saved), "--filetype", "bundle", "-o", str(out)], env_for(sandbox)
    )
    assert result.exit_code == 0, result.stderr
    assert len(list(out.glob("*.tar"))) == 3


def test_options_table_and_json(sandbox: Sandbox) -> None:
    ids = list(SCENES)[:2]
    result = run(["options", *ids, "--output", "json"], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [s["entity_id"] for s in doc["scenes"]] == ids
    scene = doc["scenes"][0]
    assert len(scene["files"]) == 22  # the four-fold repetition is folded once
    assert {b["product_code"] for b in scene["bundles"]} == {"D694", "D806"}
    groups = {g["id"]: g for g in doc["band_groups"]}
    assert len(groups["ls_c2l2_sr_band"]["files"]) == 13
    table = run(["options", ids[0]], env_for(sandbox))
    assert table.exit_code == 0 and "ls_c2l2_sr_band" in table.stdout


def test_aoi_describe_and_write(tmp_path: Path) -> None:
    result = run(["aoi", str(ANCHORAGE), "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["geometry_type"] == "Polygon" and 5000 < doc["area_km2"] < 6500
    out = tmp_path / "box.geojson"
    assert (
        run(
            ["aoi", "--bbox", "-150.9495", "61.0031", "-148.9555", "61.4834", "-o", str(out)]
        ).exit_code
        == 0
    )
    again = run(["aoi", str(out), "--json"])
    assert json.loads(again.stdout)["bounds"] == doc["bounds"]


def test_aoi_from_wrs_uses_grid2ll(sandbox: Sandbox) -> None:
    result = run(["aoi", "--wrs", "068/017"], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["type"] == "FeatureCollection"
    assert len(calls(sandbox, "grid2ll")) == 1
