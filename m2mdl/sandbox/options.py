"""download-options entries and dataset-file-groups (docs/sandbox.md, "Endpoints").

Product ids, codes, names and systems are the recorded ones. For landsat_ot_c2_l2 every
scene has 4 products (D694 ls_zip bundle, D693/D691 folder products with filesize 0, D806
dds_ms bundle), each carrying the same 22 secondary files, so naive iteration sees every
file 4 times, exactly like the real answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from m2mdl.sandbox import catalog, datasets, layout
from m2mdl.sandbox.catalog import SceneKey
from m2mdl.sandbox.products import Catalog

from .jsontypes import JSON


@dataclass(frozen=True)
class Product:
    """A primary product of a scene."""

    product_id: str
    code: str
    name: str
    download_name: str | None
    system: str  # ls_zip | folder | dds_ms


_BUNDLE2 = "Landsat Collection 2 Level-2 Product Bundle"
_BAND2 = "Landsat Collection 2 Level-2 Band File"
_BUNDLE1 = "Landsat Collection 2 Level-1 Product Bundle"
_BAND1 = "Landsat Collection 2 Level-1 Band File"

PRIMARY: dict[int, tuple[Product, ...]] = {
    2: (
        Product("5e83d14fec7cae84", "D694", _BUNDLE2, None, "ls_zip"),
        Product("6448198cc7b442a4", "D693", _BAND2, "C2L2 Tile Product Files", "folder"),
        Product("6448198c62023764", "D691", _BAND2, "C2L2 Tile Product Files", "folder"),
        Product("632210d4770592cf", "D806", _BUNDLE2, None, "dds_ms"),
    ),
    1: (
        Product("632211e26883b1f7", "D805", _BUNDLE1, None, "dds_ms"),
        Product("73ceb05468b7e8c2", "D687", _BAND1, "C2L1 Tile Product Files", "folder"),
        Product("6447cc2e2a09aab6", "D689", _BAND1, "C2L1 Tile Product Files", "folder"),
        Product("5e81f14f92acf9ef", "D690", _BUNDLE1, None, "ls_zip"),
    ),
}
PRODUCTS = {p.product_id: (lv, p) for lv, ps in PRIMARY.items() for p in ps}


@dataclass(frozen=True)
class Secondary:
    """How secondary (per-file) downloads are labelled, without/with file groups."""

    plain_id: str  # without includeSecondaryFileGroups
    plain_name: str | None  # downloadName without the flag (None for L2, "" for L1)
    grouped_id: str  # with includeSecondaryFileGroups: true
    group_product_id: (
        str  # the extra id dataset-file-groups lists (UNCERTAIN, prefix from the 2025 notebook)
    )
    dataset: str  # band-files dataset alias
    code: str
    name: str


SECONDARY = {
    2: Secondary(
        "5f85f041a2ea6695",
        None,
        "6453ef54640422ce",
        "6453e8a2f3d4a1b2",
        datasets.BAND_L2,
        "D693",
        _BAND2,
    ),
    1: Secondary(
        "5e8207607217ef3e",
        "",
        "gy7bvmukhtkl910o",
        "rp9zq1ewx8s985mp",
        datasets.BAND_L1,
        "D687",
        _BAND1,
    ),
}
SECONDARY_IDS = {
    pid: lv for lv, s in SECONDARY.items() for pid in (s.plain_id, s.grouped_id, s.group_product_id)
}


def available(cat: Catalog, key: SceneKey, product: Product) -> bool:
    """ls_zip is available for scenes older than ~30 days, dds_ms only for newer ones.

    The flip is inferred from two notebook runs (docs/sandbox.md, UNCERTAIN threshold).
    """
    if product.system == "folder":
        return True
    recent = cat.is_recent(key)
    return recent if product.system == "dds_ms" else not recent


def _secondaries(cat: Catalog, key: SceneKey, level: int, grouped: bool) -> list[JSON]:
    sec = SECONDARY[level]
    display = cat.display_id(key, level)
    sizes = dict(cat.layout(key, level).members)
    out = []
    for order, f in enumerate((f for f in layout.FILES[level] if f.individual), start=1):
        name = f"{display}_{f.suffix}"
        out.append(
            {
                "id": sec.grouped_id if grouped else sec.plain_id,
                "downloadName": f.suffix if grouped else sec.plain_name,
                "displayId": name,
                "entityId": layout.secondary_entity_id(display, f),
                "datasetId": datasets.DATASETS[sec.dataset].dataset_id,
                "available": True,
                "filesize": sizes[name],
                "productName": sec.name,
                "productCode": sec.code,
                "bulkAvailable": True,
                "downloadSystem": "dds" if grouped else "ls_s3",  # UNCERTAIN (not recorded)
                "secondaryDownloads": [],
                "fileGroups": list(f.groups) if grouped else None,
                "displayOrder": order,
            }
        )
    return out


def scene_options(cat: Catalog, key: SceneKey, level: int, grouped: bool) -> list[JSON]:
    """The 4 product entries of one scene."""
    display = cat.display_id(key, level)
    size = cat.layout(key, level).tar_size
    seconds = _secondaries(cat, key, level, grouped)
    alias = datasets.L2 if level == 2 else datasets.L1
    out = []
    for p in PRIMARY[level]:
        ok = available(cat, key, p)
        out.append(
            {
                "id": p.product_id,
                "displayId": display,
                "entityId": catalog.entity_id(key),
                "datasetId": datasets.DATASETS[alias].dataset_id,
                "available": ok,
                "filesize": 0 if p.system == "folder" else size,
                "productName": p.name,
                "productCode": p.code,
                "downloadName": p.download_name,
                "bulkAvailable": ok,
                "downloadSystem": p.system,
                "secondaryDownloads": seconds,
                "fileGroups": None,
            }
        )
    return out


_GROUPS = {
    layout.SR: (
        "Level-2 Surface Reflectance Bands",
        "Landsat Collection-2 Level-2 Surface Reflectance Bands",
        1,
    ),
    layout.ST: (
        "Level-2 Surface Temperature Bands",
        "Landsat Collection-2 Level-2 Surface Temperature Bands",
        1,
    ),
    layout.L1_ALL: ("All Level-1 Files", "Landsat Collection-2 Level-1 All Files", 0),
    layout.L1_BAND: ("Level-1 OLI/TIRS Bands", "Landsat Collection-2 Level-1 OLI/TIRS Bands", 1),
}


def group_ids(level: int) -> list[str]:
    """The file group ids that hold files at ``level``."""
    return [g for g in _GROUPS if any(g in f.groups for f in layout.FILES[level])]


def file_groups(level: int) -> JSON:
    """The dataset-file-groups answer for a level (reference L1 sample, 2025 notebook L2)."""
    sec = SECONDARY[level]
    groups: JSON = {}
    for gid, (label, description, order) in _GROUPS.items():
        files = [f for f in layout.FILES[level] if gid in f.groups]
        if not files:
            continue
        groups[gid] = {
            "id": gid,
            "color": None,
            "description": description,
            "displayOrder": order,
            "icon": None,
            "label": label,
            "files": [
                {
                    "name": f.suffix,
                    "productIds": {sec.group_product_id: "ls_s3", sec.grouped_id: "dds"},
                    "productName": sec.name,
                    "displayOrder": i,
                }
                for i, f in enumerate(files, start=1)
            ],
        }
    return {"primary": [], "secondary": {datasets.DATASETS[sec.dataset].dataset_id: groups}}
