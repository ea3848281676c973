"""The local STAC catalog: items from USGS or M2M metadata, merged across runs, atomic, and
readable by pystac and odc-stac."""

from __future__ import annotations

import copy
import datetime as dt
import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio  # type: ignore[import-untyped]
from odc.stac import load as odc_load
from rasterio.transform import from_origin  # type: ignore[import-untyped]

from m2mdl.catalog import (
    CATALOG_NAME,
    SceneFiles,
    build_item,
    geotiff_grid,
    item_path,
    m2m_properties,
    update_catalog,
    write_catalog,
)
from m2mdl.errors import DiskFull, InputError
from m2mdl.models import Scene

STAC = Path(__file__).parent / "data" / "stac-real"
USGS_ITEM = "api-2022-03-03-search-ids-LC08_L2SP_047027_20201204_20210313_02_T1_SR.json"
ANCHORAGE = {
    "LC08_L2SP_068017_20200310_20200822_02_T1": ("LC80680172020070LGN00", 9.0, 20200310),
    "LC08_L2SP_068018_20200310_20200822_02_T1": ("LC80680182020070LGN00", 5.0, 20200310),
    "LC08_L2SP_067018_20200303_20200822_02_T1": ("LC80670182020063LGN00", 54.0, 20200303),
}
EPSG = 32606
SIZE = 16
ORIGIN = (300000.0, 6800000.0)


def scene(display: str) -> Scene:
    entity, cloud, day = ANCHORAGE[display]
    ring = [[-151.0, 60.4], [-148.0, 60.4], [-148.0, 62.6], [-151.0, 62.6], [-151.0, 60.4]]
    return Scene(
        entity_id=entity,
        display_id=display,
        dataset="landsat_ot_c2_l2",
        cloud_cover=cloud,
        acquired=dt.datetime.strptime(str(day), "%Y%m%d").date(),
        publish_date=None,
        footprint={"type": "Polygon", "coordinates": [ring]},
    )


def geotiff(path: Path, value: int, **options: Any) -> Path:
    """A small valid GeoTIFF in the scene's UTM zone, every pixel ``value``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    point = options.pop("point", False)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=SIZE,
        height=SIZE + 4,
        count=1,
        dtype="uint16",
        crs=f"EPSG:{EPSG}",
        transform=from_origin(*ORIGIN, 30.0, 30.0),
        **options,
    ) as dst:
        if point:
            dst.update_tags(AREA_OR_POINT="Point")
        dst.write(np.full((1, SIZE + 4, SIZE), value, dtype="uint16"))
    return path


def scene_files(out: Path, display: str, suffixes: list[str], *, flat: bool = False) -> list[Path]:
    folder = out if flat else out / display
    paths = []
    for n, suffix in enumerate(suffixes):
        path = folder / f"{display}_{suffix}"
        if suffix.endswith(".TIF"):
            geotiff(path, 100 * (n + 1))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"GROUP = {suffix}\nEND\n")
        paths.append(path)
    return paths


def usgs_like(display: str) -> dict[str, Any]:
    """The real USGS item re-pointed at ``display`` with a grid matching the local files."""
    doc = json.loads((STAC / USGS_ITEM).read_text())["features"][0]
    original = "LC08_L2SP_047027_20201204_20210313_02_T1"
    item: dict[str, Any] = json.loads(json.dumps(doc).replace(original, display))
    item["properties"].update(
        {
            "proj:epsg": EPSG,
            "proj:shape": [SIZE + 4, SIZE],
            "proj:transform": [30.0, 0.0, ORIGIN[0], 0.0, -30.0, ORIGIN[1], 0.0, 0.0, 1.0],
        }
    )
    return item


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def test_item_from_m2m_metadata(tmp_path: Path) -> None:
    display = "LC08_L2SP_068017_20200310_20200822_02_T1"
    files = scene_files(tmp_path, display, ["SR_B4.TIF", "SR_B5.TIF", "QA_PIXEL.TIF", "MTL.txt"])
    digest = hashlib.sha512(files[0].read_bytes()).hexdigest()
    item = build_item(
        tmp_path, SceneFiles(display, files, scene=scene(display), sha512={files[0].name: digest})
    )
    assert item["id"] == display
    assert item["bbox"] == [-151.0, 60.4, -148.0, 62.6]
    props = item["properties"]
    assert props["datetime"] == "2020-03-10T00:00:00Z"
    assert props["eo:cloud_cover"] == 9.0
    assert props["platform"] == "LANDSAT_8" and props["instruments"] == ["OLI", "TIRS"]
    assert props["landsat:scene_id"] == "LC80680172020070LGN00"
    assert (props["landsat:wrs_path"], props["landsat:wrs_row"]) == ("068", "017")
    assert sorted(item["assets"]) == ["MTL.txt", "nir08", "qa_pixel", "red"]
    red = item["assets"]["red"]
    assert red["href"] == f"./{display}_SR_B4.TIF"
    assert red["eo:bands"] == [{"name": "B4", "common_name": "red"}]
    assert red["file:checksum"] == "1340" + digest
    assert red["file:size"] == files[0].stat().st_size
    assert "file:checksum" not in item["assets"]["nir08"]  # nobody computed one
    assert item["assets"]["MTL.txt"]["roles"] == ["metadata"]


def test_item_from_the_usgs_item(tmp_path: Path) -> None:
    display = "LC08_L2SP_047027_20201204_20210313_02_T1"
    usgs = json.loads((STAC / USGS_ITEM).read_text())["features"][0]
    files = scene_files(tmp_path, display, ["SR_B4.TIF", "ANG.txt"])
    item = build_item(tmp_path, SceneFiles(display, files, usgs_items=[usgs]))
    assert item["id"] == display  # one item per scene, not USGS's "_SR" item id
    assert item["geometry"] == usgs["geometry"] and item["bbox"] == usgs["bbox"]
    props = item["properties"]
    for key in ("datetime", "proj:epsg", "proj:shape", "proj:transform", "view:sun_azimuth"):
        assert props[key] == usgs["properties"][key]
    assert "created" not in props and "updated" not in props
    red = item["assets"]["red"]
    assert red["eo:bands"] == usgs["assets"]["red"]["eo:bands"]
    assert red["file:checksum"] == usgs["assets"]["red"]["file:checksum"]
    assert red["href"] == f"./{display}_SR_B4.TIF" and "alternate" not in red
    assert set(item["assets"]) == {"red", "ANG.txt"}  # only files that exist locally
    assert set(usgs["stac_extensions"]) <= set(item["stac_extensions"])


def test_sr_and_st_items_merge_into_one(tmp_path: Path) -> None:
    display = "LT05_L2SP_010067_19860424_20200918_02_T2"
    sr = load(STAC / f"{display}_SR_stac.json")
    st = load(STAC / f"{display}_ST_stac.json")
    files = scene_files(tmp_path, display, ["SR_B3.TIF", "ST_B6.TIF", "ST_QA.TIF"])
    item = build_item(tmp_path, SceneFiles(display, files, usgs_items=[sr, st]))
    assert set(item["assets"]) == {"red", "lwir", "QA"}
    assert item["assets"]["lwir"]["file:checksum"] == st["assets"]["lwir"]["file:checksum"]
    assert item["properties"]["instruments"] == ["TM"]


def test_sidecars_of_an_extracted_bundle_describe_the_scene(tmp_path: Path) -> None:
    display = "LT05_L2SP_010067_19860424_20200918_02_T2"
    files = scene_files(tmp_path, display, ["SR_B3.TIF", "ST_B6.TIF"])
    for kind in ("SR", "ST"):
        name = f"{display}_{kind}_stac.json"
        files.append(tmp_path / display / name)
        files[-1].write_bytes((STAC / name).read_bytes())
    old = tmp_path / display / "LC08_L2SP_047027_20201204_20210313_02_T1_ST_stac.json"
    old.write_bytes((STAC / old.name).read_bytes())  # 1.0.0-beta.2: not used
    files.append(old)
    item = build_item(tmp_path, SceneFiles(display, files))
    sr = load(STAC / f"{display}_SR_stac.json")
    assert item["properties"]["proj:epsg"] == sr["properties"]["proj:epsg"]
    assert item["assets"]["red"]["file:checksum"] == sr["assets"]["red"]["file:checksum"]
    assert set(item["assets"]) == {"red", "lwir"}  # sidecars are not assets


def test_flat_layout_files_are_referenced_from_the_scene_folder(tmp_path: Path) -> None:
    display = "LC08_L2SP_068018_20200310_20200822_02_T1"
    files = scene_files(tmp_path, display, ["SR_B4.TIF"], flat=True)
    update_catalog(tmp_path, [SceneFiles(display, files, scene=scene(display))])
    item = load(item_path(tmp_path, display))
    assert item["assets"]["red"]["href"] == f"../{display}_SR_B4.TIF"


def test_runs_merge_and_never_drop_earlier_scenes_or_assets(tmp_path: Path) -> None:
    a, b, c = ANCHORAGE
    run1 = [
        SceneFiles(a, scene_files(tmp_path, a, ["SR_B4.TIF"]), usgs_items=[usgs_like(a)]),
        SceneFiles(b, scene_files(tmp_path, b, ["SR_B4.TIF"]), scene=scene(b)),
    ]
    update_catalog(tmp_path, run1)
    run2 = [
        # a again, now only with M2M metadata: its USGS-based properties must survive
        SceneFiles(a, scene_files(tmp_path, a, ["SR_B5.TIF"])[:1], scene=scene(a)),
        SceneFiles(c, scene_files(tmp_path, c, ["SR_B5.TIF"]), scene=scene(c)),
    ]
    catalog_path = update_catalog(tmp_path, run2)
    links = [link["href"] for link in load(catalog_path)["links"] if link["rel"] == "item"]
    assert links == sorted(f"./{d}/{d}.json" for d in (a, b, c))
    item_a = load(item_path(tmp_path, a))
    assert set(item_a["assets"]) == {"red", "nir08"}
    assert item_a["properties"]["proj:epsg"] == EPSG
    assert item_a["properties"]["landsat:scene_id"] == "LC80470272020339LGN00"  # USGS's
    assert set(load(item_path(tmp_path, b))["assets"]) == {"red"}


def test_assets_of_deleted_files_and_items_of_deleted_scenes_go(tmp_path: Path) -> None:
    a, b, _ = ANCHORAGE
    files_a = scene_files(tmp_path, a, ["SR_B4.TIF", "SR_B5.TIF"])
    update_catalog(
        tmp_path,
        [
            SceneFiles(a, files_a, scene=scene(a)),
            SceneFiles(b, scene_files(tmp_path, b, ["SR_B4.TIF"]), scene=scene(b)),
        ],
    )
    files_a[1].unlink()
    for path in (tmp_path / b).iterdir():
        path.unlink()
    (tmp_path / b).rmdir()
    update_catalog(tmp_path, [SceneFiles(a, files_a[:1], scene=scene(a))])
    assert set(load(item_path(tmp_path, a))["assets"]) == {"red"}
    links = [x["href"] for x in load(tmp_path / CATALOG_NAME)["links"] if x["rel"] == "item"]
    assert links == [f"./{a}/{a}.json"]


def test_items_a_killed_run_did_not_link_are_picked_up(tmp_path: Path) -> None:
    a, b, _ = ANCHORAGE
    update_catalog(tmp_path, [SceneFiles(a, scene_files(tmp_path, a, ["SR_B4.TIF"]))])
    # an item written, then the run died before the catalog was rewritten
    other = build_item(tmp_path, SceneFiles(b, scene_files(tmp_path, b, ["SR_B4.TIF"])))
    item_path(tmp_path, b).write_text(json.dumps(other))
    write_catalog(tmp_path)
    links = [x["href"] for x in load(tmp_path / CATALOG_NAME)["links"] if x["rel"] == "item"]
    assert links == sorted(f"./{d}/{d}.json" for d in (a, b))


def test_scenes_without_local_files_get_no_item(tmp_path: Path) -> None:
    a = next(iter(ANCHORAGE))
    update_catalog(tmp_path, [SceneFiles(a, [], scene=scene(a))])
    assert not item_path(tmp_path, a).exists()
    assert [x["rel"] for x in load(tmp_path / CATALOG_NAME)["links"]] == ["root"]


def test_a_hostile_display_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        item_path(tmp_path, "../escape")


def test_display_id_alone_gives_platform_and_date() -> None:
    props = m2m_properties("LE07_L1TP_107068_20220310_20220405_02_T1", None)
    assert props["datetime"] == "2022-03-10T00:00:00Z"
    assert props["platform"] == "LANDSAT_7" and props["instruments"] == ["ETM"]
    assert m2m_properties("LT05_L2SP_010067_19860424_20200918_02_T2", None)["instruments"] == ["TM"]


def _anchorage_catalog(out: Path) -> Path:
    scenes = [
        SceneFiles(
            d,
            scene_files(out, d, ["SR_B4.TIF", "SR_B5.TIF", "QA_PIXEL.TIF", "MTL.txt"]),
            usgs_items=[usgs_like(d)],
            scene=scene(d),
        )
        for d in ANCHORAGE
    ]
    return update_catalog(out, scenes)


def test_pystac_reads_the_catalog(tmp_path: Path) -> None:
    catalog = pystac.Catalog.from_file(str(_anchorage_catalog(tmp_path)))
    items = list(catalog.get_items(recursive=True))
    assert sorted(i.id for i in items) == sorted(ANCHORAGE)
    for item in items:
        for key in ("red", "nir08", "qa_pixel", "MTL.txt"):
            href = item.assets[key].get_absolute_href()
            assert href is not None and Path(href).is_file()
        assert item.datetime is not None


@pytest.mark.parametrize(
    "options",
    [{}, {"BIGTIFF": "YES"}, {"point": True}, {"tiled": True, "blockxsize": 16, "blockysize": 16}],
)
def test_the_grid_is_read_from_the_geotiff_header(tmp_path: Path, options: dict[str, Any]) -> None:
    path = geotiff(tmp_path / "x_SR_B4.TIF", 7, **options)
    with rasterio.open(path) as src:
        expected = list(src.transform)[:6]
        shape = [src.height, src.width]
        epsg = src.crs.to_epsg()
    grid = geotiff_grid(path)
    assert grid == {"proj:shape": shape, "proj:epsg": epsg, "proj:transform": expected}
    assert grid["proj:transform"] == [30.0, 0.0, ORIGIN[0], 0.0, -30.0, ORIGIN[1]]


def test_files_that_are_not_geotiffs_have_no_grid(tmp_path: Path) -> None:
    html = tmp_path / "page.TIF"
    html.write_bytes(b"<html>maintenance</html>")
    assert geotiff_grid(html) == {}
    good = geotiff(tmp_path / "g.TIF", 1)
    cut = tmp_path / "cut.TIF"
    cut.write_bytes(good.read_bytes()[:20])
    assert geotiff_grid(cut) == {}
    assert geotiff_grid(tmp_path / "missing.TIF") == {}


def test_odc_stac_loads_items_built_from_m2m_metadata_alone(tmp_path: Path) -> None:
    """No USGS item: the grid read from each local file is enough for odc-stac."""
    scenes = [
        SceneFiles(d, scene_files(tmp_path, d, ["SR_B4.TIF", "SR_B5.TIF"]), scene=scene(d))
        for d in ANCHORAGE
    ]
    catalog = pystac.Catalog.from_file(str(update_catalog(tmp_path, scenes)))
    items = list(catalog.get_items(recursive=True))
    data = odc_load(items, bands=["red", "nir08"], groupby="id")
    assert data.sizes == {"time": 3, "y": SIZE + 4, "x": SIZE}
    assert (data["red"].values == 100).all() and (data["nir08"].values == 200).all()


def test_odc_stac_loads_red_and_nir08_from_the_local_files(tmp_path: Path) -> None:
    catalog = pystac.Catalog.from_file(str(_anchorage_catalog(tmp_path)))
    items = list(catalog.get_items(recursive=True))
    data = odc_load(items, bands=["red", "nir08"], groupby="id")
    assert set(data.data_vars) == {"red", "nir08"}
    assert data.sizes["time"] == 3
    assert (data["red"].values == 100).all()  # every scene's SR_B4 file, read from disk
    assert (data["nir08"].values == 200).all()


def test_a_full_disk_leaves_the_old_catalog_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, _ = ANCHORAGE
    update_catalog(tmp_path, [SceneFiles(a, scene_files(tmp_path, a, ["SR_B4.TIF"]))])
    before = (tmp_path / CATALOG_NAME).read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    files_b = scene_files(tmp_path, b, ["SR_B4.TIF"])
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFull):
        update_catalog(tmp_path, [SceneFiles(b, files_b)])
    monkeypatch.undo()
    assert (tmp_path / CATALOG_NAME).read_bytes() == before
    assert not list(tmp_path.rglob("*.m2mdl-tmp"))
    assert not item_path(tmp_path, b).exists()


CHILD = """
import sys
from pathlib import Path
from m2mdl.catalog import SceneFiles, update_catalog

out = Path(sys.argv[1])
names = sys.argv[2:]
for n in range(100000):
    scenes = [SceneFiles(d, sorted((out / d).glob("*.TIF"))) for d in names]
    update_catalog(out, scenes)
    if n == 0:
        print("ready", flush=True)
"""


def test_a_kill_at_any_moment_leaves_valid_json(tmp_path: Path) -> None:
    displays = list(ANCHORAGE)
    for d in displays:
        scene_files(tmp_path, d, ["SR_B4.TIF", "SR_B5.TIF"])
    for delay in (0.0, 0.03, 0.11, 0.2):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path), *displays], stdout=subprocess.PIPE
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        catalog = pystac.Catalog.from_file(str(tmp_path / CATALOG_NAME))
        assert sorted(i.id for i in catalog.get_items(recursive=True)) == sorted(displays)
        for d in displays:
            assert set(load(item_path(tmp_path, d))["assets"]) == {"red", "nir08"}


def test_usgs_fixture_is_not_modified_by_building_items(tmp_path: Path) -> None:
    usgs = json.loads((STAC / USGS_ITEM).read_text())["features"][0]
    kept = copy.deepcopy(usgs)
    display = "LC08_L2SP_047027_20201204_20210313_02_T1"
    build_item(tmp_path, SceneFiles(display, scene_files(tmp_path, display, ["SR_B4.TIF"]), [usgs]))
    assert usgs == kept
