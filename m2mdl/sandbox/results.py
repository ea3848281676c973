"""Scene objects as scene-search returns them (shape of NB25, kapadia and the reference)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from m2mdl.sandbox import catalog, datasets
from m2mdl.sandbox.catalog import SceneKey
from m2mdl.sandbox.products import Catalog

JSON = dict[str, Any]
_DICT = "https://www.usgs.gov/centers/eros/science/landsat-collection-2-data-dictionary"


def _polygon(points: list[tuple[float, float]]) -> JSON:
    ring = [[round(x, 5), round(y, 5)] for x, y in points]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _normalized(points: tuple[tuple[float, float], ...]) -> list[tuple[float, float]]:
    # footprints may leave [-180, 180) near the antimeridian; shift the whole ring back so
    # its first corner is in range (like the real "east > 180" quirk, m2m-api.md §2.6)
    shift = 360.0 if points[0][0] < -180 else -360.0 if points[0][0] >= 180 else 0.0
    return [(x + shift, y) for x, y in points]


def bounds_polygon(points: list[tuple[float, float]]) -> JSON:
    """The MBR polygon (spatialBounds), starting at the south-west corner like NB25."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    w, e, s, n = min(xs), max(xs), min(ys), max(ys)
    return _polygon([(w, s), (w, n), (e, n), (e, s)])


def coverage_polygon(points: list[tuple[float, float]]) -> JSON:
    """The footprint polygon (spatialCoverage), starting at the west corner like NB25."""
    start = min(range(len(points)), key=lambda i: points[i][0])
    return _polygon(points[start:] + points[:start])


def _browse(l1_display: str, base_url: str) -> list[JSON]:
    return [
        {
            "id": "5fb4ba12d7ec307f",
            "browseRotationEnabled": None,
            "browseName": "Reflective Browse",
            "browsePath": f"{base_url}/gen-browse?size=rrb&type=refl&product_id={l1_display}",
            "overlayPath": f"{base_url}/dynamic-tiler/scenes/{l1_display}/tiles/{{z}}/{{x}}/{{y}}"
            ".png?layer=natural_color",
            "overlayType": "ls_chs",
            "thumbnailPath": f"{base_url}/gen-browse?size=thumb&type=refl&product_id={l1_display}",
        }
    ]


def _field(fid: str, name: str, value: Any) -> JSON:
    return {"id": fid, "fieldName": name, "dictionaryLink": _DICT, "value": value}


def metadata(key: SceneKey, level: int, cat: Catalog) -> list[JSON]:
    """Summary metadata fields (ids from dataset-filters where known, else invented)."""
    date = dt.date.fromordinal(key.day)
    cloud = f"{catalog.cloud_cover(key):.2f}"
    fields = [
        _field("5e83d1508031a4a3", "ID", catalog.entity_id(key)),
        _field("5e83d14f567d0086", "Landsat Product Identifier L2", cat.display_id(key, 2)),
        _field("5e83d14f227b0d85", "Landsat Product Identifier L1", cat.display_id(key, 1)),
        _field("5e83d14fc84c9a78", "Landsat Scene Identifier", catalog.entity_id(key)),
        _field("5e83d14f30ea90a9", "Date Acquired", date.strftime("%Y/%m/%d")),
        _field("5f6a6fb2137a3c00", "Collection Category", catalog.tier(key)),
        _field("5e83d14f2d0ff4c8", "Collection Number", 2),
        _field("5e83d14fb9436d88", "WRS Path", f" {key.path:03d}"),  # leading space: KAP
        _field("5e83d14ff1eda1b8", "WRS Row", f" {key.row:03d}"),
        _field("61af9273566bb9a8", "Satellite", key.sat),
        _field("5e83d14fc6e09eb6", "Sensor Identifier", "OLI_TIRS"),
        _field("5e83d14f2ab7a0d8", "Land Cloud Cover", cloud),
        _field("5e83d14f9e2d1a49", "Scene Cloud Cover L1", cloud),
        _field("5e83d14f1a7bd7b1", "Day/Night Indicator", "DAY"),
    ]
    if level == 1:
        fields = [f for f in fields if f["fieldName"] != "Landsat Product Identifier L2"]
    return fields


def scene_result(key: SceneKey, level: int, cat: Catalog, base_url: str, full: bool) -> JSON:
    """One ``results[]`` entry of scene-search."""
    points = _normalized(catalog.footprint(key.path, key.row))
    day = dt.date.fromordinal(key.day).isoformat()
    meta = metadata(key, level, cat)
    return {
        "browse": _browse(cat.display_id(key, 1), base_url),
        "cloudCover": catalog.cloud_cover(key),
        "entityId": catalog.entity_id(key),
        "displayId": cat.display_id(key, level),
        "orderingId": None,
        "metadata": meta if full else meta[:12],
        "hasCustomizedMetadata": None,
        "options": {"bulk": True, "download": True, "order": False, "secondary": False},
        "selected": {"bulk": False, "compare": False, "order": False},
        "spatialBounds": bounds_polygon(points),
        "spatialCoverage": coverage_polygon(points),
        "temporalCoverage": {"endDate": f"{day} 00:00:00", "startDate": f"{day} 00:00:00"},
        "publishDate": catalog.publish_date(key, cat.today),
    }


def dataset_alias(level: int) -> str:
    """Primary dataset alias of a level."""
    return datasets.L2 if level == 2 else datasets.L1
