"""search, options and aoi through the CLI: the notebook's results, paging, formats."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from rich.console import Console

from m2mdl.aoi import aoi_from_points
from m2mdl.api import M2MClient
from m2mdl.models import Scene
from m2mdl.sandbox import Sandbox
from m2mdl.ui import Ui, landsat_sensor, landsat_tier, scene_columns
from m2mdl.workflow.search import SearchQuery, search

from .cli_helpers import ANCHORAGE, NOTEBOOK_QUERY, SCENES, calls, env_for, run
from .helpers import API, body, sent_json
from .reliability.helpers import cli_env


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
        ["download", "--from", str(saved), "--filetype", "bundle", "--out", str(out)],
        env_for(sandbox),
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


def test_aoi_from_wrs_works_offline_without_a_login() -> None:
    """The WRS-2 grid is fixed: no credentials, and the API URL is a closed port."""
    result = run(["aoi", "--wrs", "068/017"], {"M2MDL_API_URL": "http://127.0.0.1:9/stable/"})
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["type"] == "FeatureCollection"
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    # 068/017 as scene-search reports it: lat 60.357..62.579, west edge -150.795.
    assert abs(min(lats) - 60.357) < 0.1 and abs(max(lats) - 62.579) < 0.1
    assert abs(min(lons) - -150.795) < 0.1


def test_aoi_from_wrs_across_the_antimeridian_is_split() -> None:
    result = run(["aoi", "--wrs", "076/060"])
    assert result.exit_code == 0, result.stderr
    geometry = json.loads(result.stdout)["features"][0]["geometry"]
    assert geometry["type"] == "MultiPolygon"
    assert all(-180 <= p[0] <= 180 for poly in geometry["coordinates"] for p in poly[0])


# --- the table, tiers and boxes -----------------------------------------------------------------

ID_LINE = re.compile(r"^(L[COTEM]0\d_\w{4}_\d{6}_\d{8}_\d{8}_\d{2}_(?:T1|T2|RT))\s+(L\w{20})\s")


def test_piped_table_is_plain_with_full_ids_and_the_new_columns(tmp_path: Path) -> None:
    """The issue's command, piped: plain text, every id whole, clearest scenes first."""
    argv = [
        *("--sandbox", "search", "--aoi", str(ANCHORAGE), "--start", "2020-01-01"),
        *("--end", "2020-12-31", "--sort", "cloud", "--limit", "3"),
    ]
    result = subprocess.run(
        [sys.executable, "-m", "m2mdl", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(None, COLUMNS="80"),
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split("  ")[0] == "display id"
    for name in ("entity id", "acquired", "sensor", "tier", "path/row", "cloud %"):
        assert name in header
    assert len(rows) == 3 and "…" not in result.stdout
    assert not set(result.stdout) & set("│┃━─┏┗")
    for row in rows:
        match = ID_LINE.match(row)
        assert match, row
        assert "L8 OLI/TIRS" in row and match.group(1)[-2:] in row.split()
    assert "3 scene(s)" in result.stderr


def _scenes(count: int) -> list[Scene]:
    return [
        Scene(
            entity_id=f"LC8068017202007{k}LGN00",
            display_id=f"LC08_L2SP_068017_2020031{k}_20200822_02_T{1 + k % 2}",
            dataset="landsat_ot_c2_l2",
            cloud_cover=9.5 + k,
            acquired=dt.date(2020, 3, 10 + k),
            publish_date=None,
            footprint=None,
        )
        for k in range(count)
    ]


def _terminal_table(scenes: Sequence[Scene], width: int) -> list[str]:
    ui = Ui(color=False)
    buffer = io.StringIO()
    ui.out = Console(file=buffer, force_terminal=True, width=width, no_color=True)
    ui.err = Console(file=io.StringIO(), force_terminal=False)
    ui.scenes_table(scenes, len(scenes))
    return re.sub(r"\x1b\[[0-9;]*m", "", buffer.getvalue()).splitlines()


@pytest.mark.parametrize("width", [60, 80, 100, 160])
def test_terminal_table_drops_columns_never_ids(width: int) -> None:
    scenes = _scenes(3)
    lines = _terminal_table(scenes, width)
    assert len(lines) == 4
    for scene, line in zip(scenes, lines[1:], strict=True):
        assert line.startswith(f"{scene.display_id}  {scene.entity_id}")
    if width >= 80:
        assert all(len(line) <= width for line in lines)
        assert "cloud %" in lines[0]  # cloud cover is the last column to go
    if width == 160:
        assert lines[0].split() == [
            *("display", "id", "entity", "id", "acquired", "sensor", "tier"),
            *("path/row", "cloud", "%"),
        ]
    if width == 60:
        assert lines[0].split() == ["display", "id", "entity", "id"]


def test_land_cloud_cover_column_appears_when_scenes_have_it() -> None:
    @dataclass(frozen=True)
    class LandScene(Scene):
        land_cloud_cover: float | None = None

    scenes = [LandScene(**{**vars(s), "land_cloud_cover": 3.25}) for s in _scenes(2)]
    columns = {c.header: c.cells for c in scene_columns(scenes)}
    assert columns["land cloud %"] == ("3.25", "3.25")
    assert "land cloud %" not in {c.header for c in scene_columns(_scenes(2))}


def test_sensor_and_tier_come_from_the_display_id() -> None:
    assert landsat_sensor("LC08_L2SP_068017_20200310_20200822_02_T1") == "L8 OLI/TIRS"
    assert landsat_sensor("LC09_L2SP_068017_20220310_20220822_02_T2") == "L9 OLI/TIRS"
    assert landsat_sensor("LE07_L2SP_068017_20100310_20200822_02_T1") == "L7 ETM+"
    assert landsat_sensor("LT05_L1TP_068017_19900310_20200822_02_T1") == "L5 TM"
    assert landsat_sensor("LM01_L1GS_068017_19750310_20200822_02_T2") == "L1 MSS"
    assert landsat_sensor("LO08_L1GT_068017_20200310_20200822_02_RT") == "L8 OLI"
    assert landsat_sensor("not a landsat id") == ""
    assert landsat_tier("LO08_L1GT_068017_20200310_20200822_02_RT") == "RT"
    assert landsat_tier("LC08_L2SP_068017_20200310_20200822_02_T2") == "T2"
    assert landsat_tier("AST_L1T_003") == ""


def test_tier_filter_keeps_only_those_tiers_before_the_limit(sandbox: Sandbox) -> None:
    base = ["--aoi", str(ANCHORAGE), "--start", "2020-01-01", "--end", "2020-12-31"]
    every = search_json(sandbox, *base)["scenes"]
    tiers = {s["display_id"].rsplit("_", 1)[1] for s in every}
    assert {"T1", "T2"} <= tiers
    t2 = search_json(sandbox, *base, "--tier", "t2")["scenes"]
    assert t2 and all(s["display_id"].endswith("_T2") for s in t2)
    assert len(t2) == sum(s["display_id"].endswith("_T2") for s in every)
    limited = search_json(sandbox, *base, "--tier", "T2,RT", "--limit", "2")["scenes"]
    assert [s["entity_id"] for s in limited] == [s["entity_id"] for s in t2][:2]


def test_unknown_tier_is_an_input_error() -> None:
    result = run(["search", "--bbox", "0", "0", "1", "1", "--tier", "T3"])
    assert result.exit_code == 2
    assert (
        result.stderr.strip().splitlines()[0] == "error: --tier 'T3' is not a tier; use T1, T2, RT"
    )


@pytest.mark.parametrize("command", ["search", "aoi"])
def test_bbox_west_east_swapped_is_one_line_exit_2(command: str) -> None:
    result = run([command, "--bbox", "10", "0", "5", "1"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --bbox west 10 is east of east 5")
    assert "--antimeridian" in lines[0]


def test_antimeridian_box_needs_the_flag() -> None:
    result = run(["aoi", "--bbox", "170", "-10", "-170", "10", "--antimeridian"])
    assert result.exit_code == 0, result.stderr
    geometry = json.loads(result.stdout)["features"][0]["geometry"]
    assert geometry["type"] == "MultiPolygon" and len(geometry["coordinates"]) == 2


def test_piped_options_table_keeps_every_file_name_whole(sandbox: Sandbox) -> None:
    result = run(["options", "LC80680172020070LGN00"], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    display = SCENES["LC80680172020070LGN00"]
    for suffix in ("_ANG.txt", "_QA_RADSAT.TIF", "_SR_B4.TIF", ".tar"):
        assert re.search(rf"│ {display}{re.escape(suffix)} +│", result.stdout), suffix
    assert "…" not in result.stdout
