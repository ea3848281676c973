"""Band names: USGS suffixes, short forms and STAC common names, per sensor and level."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from m2mdl.bands import (
    METADATA_SUFFIXES,
    TABLES,
    asset_key,
    band_rows,
    bands_for_dataset,
    bands_json,
    dataset_sensor_level,
    display_id_sensor_level,
    render_band_rows,
    resolve_bands,
    valid_names,
)
from m2mdl.errors import InputError
from m2mdl.models import band_of

DATA = Path(__file__).parent / "data"
STAC = DATA / "stac-real"
L2 = "landsat_ot_c2_l2"
ANCHORAGE = "LC08_L2SP_068017_20200310_20200822_02_T1"


def notebook_files() -> list[str]:
    """The single files M2M offered for an Anchorage scene (recorded, 2025)."""
    text = (DATA / "m2m-real" / "usgs-notebook-2025-04-24-anchorage-outputs.txt").read_text()
    # secondary entity ids spell the file name with "_" for "." (L2SR_<id>_SR_B4_TIF)
    found = set(re.findall(rf"{ANCHORAGE}_([A-Z0-9_]+)_(TIF|TXT|XML)\b", text))
    ext = {"TIF": "TIF", "TXT": "txt", "XML": "xml"}
    return sorted(f"{ANCHORAGE}_{stem}.{ext[e]}" for stem, e in found)


def chosen(dataset: str, tokens: list[str], files: list[str], **kw: Any) -> list[str]:
    selection = resolve_bands(dataset, tokens, **kw)
    return [band_of(f) for f in files if selection.matches(f)]


def test_the_recorded_file_list_is_the_22_individual_files() -> None:
    assert len(notebook_files()) == 22


@pytest.mark.parametrize(
    ("token", "suffix"),
    [
        ("red", "SR_B4"),
        ("RED", "SR_B4"),
        ("B4", "SR_B4"),
        ("b4", "SR_B4"),
        ("SR_B4", "SR_B4"),
        ("sr_b4.tif", "SR_B4"),
        ("nir08", "SR_B5"),
        ("swir16", "SR_B6"),
        ("swir22", "SR_B7"),
        ("coastal", "SR_B1"),
        ("qa_pixel", "QA_PIXEL"),
        ("QA_RADSAT", "QA_RADSAT"),
        ("qa_aerosol", "SR_QA_AEROSOL"),
        ("lwir11", "ST_B10"),
        ("B10", "ST_B10"),
    ],
)
def test_level2_oli_names_pick_the_right_file(token: str, suffix: str) -> None:
    files = notebook_files()
    assert chosen(L2, [token], files, no_metadata=True) == [suffix]


def test_mtl_files_come_with_bands_unless_no_metadata() -> None:
    files = notebook_files()
    assert chosen(L2, ["red,nir08"], files) == ["MTL.txt", "MTL.xml", "SR_B4", "SR_B5"]
    assert chosen(L2, ["red", "nir08"], files, no_metadata=True) == ["SR_B4", "SR_B5"]
    selection = resolve_bands(L2, ["red"])
    # MTL.json is only in bundles: never reported missing when a scene does not offer it
    assert selection.missing(files) == []
    assert {s.upper() for s in METADATA_SUFFIXES} == selection.extras


def test_no_bands_means_no_selection() -> None:
    selection = resolve_bands(L2, [])
    assert selection.tokens == () and selection.extras == frozenset()


def test_level1_short_form_is_the_plain_band() -> None:
    files = [f"LC08_L1TP_068017_20200310_20200822_02_T1_{s}" for s in ("B4.TIF", "B8.TIF")]
    assert chosen("landsat_ot_c2_l1", ["B4"], files, no_metadata=True) == ["B4"]
    assert chosen("landsat_ot_c2_l1", ["red", "pan"], files, no_metadata=True) == ["B4", "B8"]


def test_tm_and_etm_numbering_differs_from_oli() -> None:
    tm = [f"LT05_L2SP_010067_19860424_20200918_02_T2_SR_B{n}.TIF" for n in (3, 4)]
    assert chosen("landsat_tm_c2_l2", ["red"], tm, no_metadata=True) == ["SR_B3"]
    etm = [f"LE07_L1TP_107068_20220310_20220405_02_T1_B6_VCID_{n}.TIF" for n in (1, 2)]
    assert chosen("landsat_etm_c2_l1", ["B6"], etm, no_metadata=True) == [
        "B6_VCID_1",
        "B6_VCID_2",
    ]
    assert chosen("landsat_etm_c2_l1", ["lwir_high"], etm, no_metadata=True) == ["B6_VCID_2"]


def test_mss_common_names_cover_both_band_numberings() -> None:
    files = [
        "LM01_L1GS_001001_19730101_20200101_02_T2_B4.TIF",  # Landsat 1: green is band 4
        "LM05_L1GS_001001_19850524_20210918_02_T2_B1.TIF",  # Landsat 5: green is band 1
    ]
    assert chosen("landsat_mss_c2_l1", ["green"], files, no_metadata=True) == ["B4", "B1"]


def test_unknown_name_lists_the_valid_names() -> None:
    with pytest.raises(InputError) as err:
        resolve_bands(L2, ["red", "ultraviolet"])
    message = str(err.value)
    assert "ultraviolet" in message and "landsat_ot_c2_l2" in message
    for name in ("red", "nir08", "SR_B4", "B4", "qa_pixel", "MTL.txt"):
        assert re.search(rf"(^|[ ,]){re.escape(name)}(,|$)", message.split("valid names: ")[1])
    with pytest.raises(InputError, match="pan"):
        resolve_bands(L2, ["pan"])  # a Level-1 band: not in a Level-2 product


def test_missing_reports_tokens_no_scene_offers() -> None:
    only_sr = [f for f in notebook_files() if "ST_" not in f]
    selection = resolve_bands(L2, ["red", "lwir11"])
    assert selection.missing(only_sr) == ["lwir11"]


def test_other_datasets_take_file_suffixes_as_given() -> None:
    assert bands_for_dataset("corona2") == ()
    assert valid_names("corona2") == []
    selection = resolve_bands("corona2", ["SR_B4", "mtl"], no_metadata=True)
    names = [f"{ANCHORAGE}_{s}" for s in ("SR_B4.TIF", "SR_B5.TIF", "MTL.txt", "MTL.xml")]
    assert [n for n in names if selection.matches(n)] == [names[0], names[2], names[3]]
    assert selection.missing(names[1:]) == ["SR_B4"]
    with pytest.raises(InputError, match="no band names are known"):
        band_rows("corona2")


def test_datasets_and_display_ids_map_to_sensor_and_level() -> None:
    assert dataset_sensor_level("landsat_ot_c2_l2") == ("oli-tirs", 2)
    assert dataset_sensor_level("LANDSAT_ETM_C2_L1") == ("etm", 1)
    assert dataset_sensor_level("landsat_band_files_c2_l2") is None
    assert display_id_sensor_level(ANCHORAGE) == ("oli-tirs", 2)
    assert display_id_sensor_level("LT05_L2SP_010067_19860424_20200918_02_T2") == ("tm", 2)
    assert display_id_sensor_level("LM05_L1GS_001001_19850524_20210918_02_T2") == ("mss", 1)
    assert display_id_sensor_level("LM05_L2SP_001001_19850524_20210918_02_T2") is None
    assert display_id_sensor_level("LC80680172020070LGN00") is None


def test_band_rows_list_every_file_of_the_product() -> None:
    rows = band_rows(L2)
    red = next(r for r in rows if r.common_name == "red")
    assert (red.suffix, red.short) == ("SR_B4", "B4")
    suffixes = {r.suffix for r in rows}
    assert {band_of(f) for f in notebook_files()} <= suffixes


def test_names_are_unique_within_each_table() -> None:
    """A name stands for several files only for one band in two files (ETM+ B6, MSS by
    satellite) and for ``MTL``, which means the three MTL files."""
    for (sensor, level), table in TABLES.items():
        keys = [b.key.upper() for b in table]
        assert sensor == "mss" or len(keys) == len(set(keys)), (sensor, level)
        for band in table:
            for other in table:
                clash = set(band.names()) & set(other.names()) - {"MTL"}
                if band is not other and clash:
                    assert sensor in {"etm", "mss"}, (sensor, level, clash)


def _assets(path: Path) -> tuple[str, dict[str, Any]]:
    doc = json.loads(path.read_text())
    if doc.get("type") == "FeatureCollection":
        doc = doc["features"][0]
    display = "_".join(doc["id"].split("_")[:7])
    return display, doc["assets"]


@pytest.mark.parametrize(
    "name",
    [
        "api-2022-03-03-search-ids-LC08_L2SP_047027_20201204_20210313_02_T1_SR.json",
        "api-2023-06-item-LC09_L2SP_092068_20230607_20230609_02_T1_SR.json",
        "LT05_L2SP_010067_19860424_20200918_02_T2_SR_stac.json",
        "LT05_L2SP_010067_19860424_20200918_02_T2_ST_stac.json",
        "LE07_L1TP_107068_20220310_20220405_02_T1_stac.json",
    ],
)
def test_asset_keys_agree_with_usgs_items(name: str) -> None:
    """Every asset of a real USGS item gets the key USGS gave it, from its file name."""
    display, assets = _assets(STAC / name)
    checked = 0
    for key, asset in assets.items():
        if key == "index":
            continue
        file_name = asset["href"].rsplit("/", 1)[-1]
        assert asset_key(display, file_name) == key, file_name
        checked += 1
    assert checked >= 15


def test_old_style_items_still_map_to_common_keys() -> None:
    """1.0.0-beta.2 sidecars key assets by suffix (``ST_B10.TIF``); the local key is common."""
    display, assets = _assets(STAC / "LC08_L2SP_047027_20201204_20210313_02_T1_ST_stac.json")
    files = {k: a["href"].rsplit("/", 1)[-1] for k, a in assets.items()}
    assert asset_key(display, files["ST_B10.TIF"]) == "lwir11"
    assert asset_key(display, files["QA_PIXEL.TIF"]) == "qa_pixel"
    assert asset_key(display, files["thumbnail"]) == "thumbnail"


def test_the_listing_as_json_and_text() -> None:
    data = bands_json("landsat_tm_c2_l2")
    assert (data["kind"], data["schema_version"], data["dataset"]) == (
        "bands",
        1,
        "landsat_tm_c2_l2",
    )
    red = next(b for b in data["bands"] if b["common_name"] == "red")
    assert red == {"suffix": "SR_B3", "short": "B3", "common_name": "red", "title": red["title"]}
    assert data["metadata_with_bands"] == ["MTL.txt", "MTL.json", "MTL.xml"]
    text = render_band_rows(band_rows(L2)).splitlines()
    assert text[0].split() == ["FILE", "SUFFIX", "SHORT", "NAME", "DESCRIPTION"]
    assert text[4].split()[:3] == ["SR_B4", "B4", "red"]
    assert len(text) == len(band_rows(L2)) + 1
