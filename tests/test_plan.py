"""Choosing files from download-options: bundles, bands, band groups (pure functions)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from m2mdl.bands import resolve_bands
from m2mdl.errors import InputError
from m2mdl.models import DownloadItem, Product, band_of
from m2mdl.stac import parse_checksum
from m2mdl.workflow.download import _m2m_checksums
from m2mdl.workflow.plan import make_plan

L2 = "landsat_ot_c2_l2"
SCENES = {
    "LC80680172020070LGN00": "LC08_L2SP_068017_20200310_20200822_02_T1",
    "LC80680182020070LGN00": "LC08_L2SP_068018_20200310_20200822_02_T1",
    "LC80670182020063LGN00": "LC08_L2SP_067018_20200303_20200822_02_T1",
}
SR = [
    "ANG.txt",
    "MTL.txt",
    "MTL.xml",
    "QA_PIXEL.TIF",
    "QA_RADSAT.TIF",
    *[f"SR_B{i}.TIF" for i in range(1, 8)],
    "SR_QA_AEROSOL.TIF",
]
ST = [
    "ST_ATRAN.TIF",
    "ST_B10.TIF",
    "ST_CDIST.TIF",
    "ST_DRAD.TIF",
    "ST_EMIS.TIF",
    "ST_EMSD.TIF",
    "ST_QA.TIF",
    "ST_TRAD.TIF",
    "ST_URAD.TIF",
]


def secondary(display: str, name: str, groups: bool) -> dict[str, Any]:
    prefix = "L2SR" if name.startswith(("SR", "QA")) else "L2ST"
    group = "ls_c2l2_st_band" if name.startswith("ST") else "ls_c2l2_sr_band"
    return {
        "id": "6453ef54640422ce" if groups else "5f85f041a2ea6695",
        "displayId": f"{display}_{name}",
        "entityId": f"{prefix}_{display}_{name.replace('.', '_')}",
        "datasetId": "5f85f041c828327a",
        "available": True,
        "bulkAvailable": True,
        "filesize": 0,
        "downloadSystem": "ls_s3",
        "downloadName": name if groups else None,
        "fileGroups": [group] if groups else None,
    }


def options(*, groups: bool = False, ls_zip: bool = True) -> list[Product]:
    raw = []
    for entity, display in SCENES.items():
        secs = [secondary(display, n, groups) for n in SR + ST]
        for pid, code, system, available, size in (
            ("5e83d14fec7cae84", "D694", "ls_zip", ls_zip, 911186642),
            ("6448198cc7b442a4", "D693", "folder", True, 0),
            ("6448198c62023764", "D691", "folder", True, 0),
            ("632210d4770592cf", "D806", "dds_ms", not ls_zip, 911186642),
        ):
            raw.append(
                {
                    "id": pid,
                    "displayId": display,
                    "entityId": entity,
                    "datasetId": "5e83d14f2fc39685",
                    "available": available,
                    "bulkAvailable": available,
                    "filesize": size,
                    "productCode": code,
                    "downloadSystem": system,
                    "secondaryDownloads": secs,
                }
            )
    return [Product.from_json(r) for r in raw]


def per_scene(plan: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in plan.files:
        counts[f.scene_entity_id] = counts.get(f.scene_entity_id, 0) + 1
    return counts


def test_bundles_one_tar_per_scene_prefers_ls_zip() -> None:
    plan = make_plan("bundle", options())
    assert sorted(f.file_name for f in plan.files) == sorted(f"{d}.tar" for d in SCENES.values())
    assert {f.product_id for f in plan.files} == {"5e83d14fec7cae84"}
    assert all(f.size == 911186642 and f.kind == "tar" for f in plan.files)


def test_bundles_fall_back_to_dds_ms() -> None:
    plan = make_plan("bundle", options(ls_zip=False))
    assert {f.product_id for f in plan.files} == {"632210d4770592cf"}


def test_bundle_unavailable_everywhere_is_reported() -> None:
    products = [p for p in options() if p.download_system == "folder"]
    plan = make_plan("bundle", products)
    assert not plan.files and len(plan.unavailable) == 3


def test_bands_fold_the_four_repeated_secondary_lists() -> None:
    plan = make_plan("band", options())
    assert per_scene(plan) == {e: 22 for e in SCENES}
    assert len({f.key for f in plan.files}) == 66


def test_four_named_bands_give_four_files_per_scene() -> None:
    wanted = resolve_bands(L2, ("SR_B4", "qa_pixel", "ST_B10.TIF", "ANG"), no_metadata=True)
    plan = make_plan("band", options(), bands=wanted)
    assert per_scene(plan) == {e: 4 for e in SCENES}
    assert {band_of(f.file_name) for f in plan.files} == {"SR_B4", "QA_PIXEL", "ST_B10", "ANG.txt"}


@pytest.mark.parametrize("token", ["SR_B4", "B4", "red", "sr_b4.tif"])
def test_every_spelling_of_a_band_names_its_file_and_the_mtl_comes_along(token: str) -> None:
    plan = make_plan("band", options(), bands=resolve_bands(L2, (token,)))
    assert per_scene(plan) == {e: 3 for e in SCENES}
    assert {band_of(f.file_name) for f in plan.files} == {"SR_B4", "MTL.txt", "MTL.xml"}


def test_unknown_band_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"SR_B99.*SR_B4"):
        make_plan("band", options(), bands=resolve_bands("other_dataset", ("SR_B99",)))


def test_sr_band_group_gives_13_files_per_scene() -> None:
    plan = make_plan("band_group", options(groups=True), groups=("ls_c2l2_sr_band",))
    assert per_scene(plan) == {e: 13 for e in SCENES}
    assert {f.group for f in plan.files} == {"ls_c2l2_sr_band"}


def test_all_band_groups_by_default() -> None:
    plan = make_plan("band_group", options(groups=True))
    assert per_scene(plan) == {e: 22 for e in SCENES}


def test_unknown_group_lists_the_offered_ones() -> None:
    with pytest.raises(InputError, match=r"ls_nope.*ls_c2l2_sr_band"):
        make_plan("band_group", options(groups=True), groups=("ls_nope",))


def test_unknown_filetype() -> None:
    with pytest.raises(InputError, match="band_group"):
        make_plan("zip", options())


def test_m2m_checksum_fields_are_used_when_they_carry_a_value() -> None:
    digest = hashlib.sha512(b"band").hexdigest()
    raw = {
        "id": "p1",
        "entityId": "E1",
        "displayId": "LC08_L2SP_068017_20200310_20200822_02_T1",
        "available": True,
        "checksum": None,  # as in every recorded response
        "secondaryDownloads": [
            {
                "id": "s1",
                "entityId": "S1",
                "displayId": "LC08_L2SP_068017_20200310_20200822_02_T1_SR_B4.TIF",
                "checksum": "1340" + digest,
            },
            {
                "id": "s2",
                "entityId": "S2",
                "displayId": "LC08_L2SP_068017_20200310_20200822_02_T1_SR_B5.TIF",
                "checksum": "d41d8cd98f00b204e9800998ecf8427e",  # an md5: not accepted
            },
        ],
    }
    product = Product.from_json(raw)
    assert _m2m_checksums([product]) == {
        "LC08_L2SP_068017_20200310_20200822_02_T1_SR_B4.TIF": digest
    }
    item = DownloadItem.from_json({"downloadId": 1, "url": None, "checksum": digest.upper()})
    assert parse_checksum(item.checksum) == digest
    assert DownloadItem.from_json({"downloadId": 2, "url": None, "checksum": None}).checksum is None
