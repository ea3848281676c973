"""Scene objects as scene-search returns them (2025 notebook run, kapadia, reference)."""

from __future__ import annotations

import datetime as dt

from m2mdl.sandbox import catalog, datasets, metadata
from m2mdl.sandbox.catalog import SceneKey
from m2mdl.sandbox.products import Catalog

from .jsontypes import JSON


def _polygon(points: list[tuple[float, float]]) -> JSON:
    ring = [[round(x, 5), round(y, 5)] for x, y in points]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def normalized(points: tuple[tuple[float, float], ...]) -> list[tuple[float, float]]:
    """A footprint shifted so that its first corner lies in [-180, 180)."""
    # footprints may leave [-180, 180) near the antimeridian; shift the whole ring back so
    # its first corner is in range (like the real "east > 180" quirk of dataset bounds)
    shift = 360.0 if points[0][0] < -180 else -360.0 if points[0][0] >= 180 else 0.0
    return [(x + shift, y) for x, y in points]


def bounds_polygon(points: list[tuple[float, float]]) -> JSON:
    """The MBR polygon (spatialBounds), starting at the south-west corner like the 2025 notebook."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    w, e, s, n = min(xs), max(xs), min(ys), max(ys)
    return _polygon([(w, s), (w, n), (e, n), (e, s)])


def coverage_polygon(points: list[tuple[float, float]]) -> JSON:
    """The footprint polygon (spatialCoverage), from the west corner like the 2025 notebook."""
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


def scene_result(key: SceneKey, level: int, cat: Catalog, base_url: str, full: bool) -> JSON:
    """One ``results[]`` entry of scene-search."""
    points = normalized(catalog.footprint(key.path, key.row))
    day = dt.date.fromordinal(key.day).isoformat()
    meta = metadata.full(key, level, cat.today) if full else metadata.summary(key, level, cat.today)
    return {
        "browse": _browse(cat.display_id(key, 1), base_url),
        "cloudCover": catalog.cloud_cover(key),
        "entityId": catalog.entity_id(key),
        "displayId": cat.display_id(key, level),
        "orderingId": None,
        "metadata": meta,
        "hasCustomizedMetadata": None,
        "options": {"bulk": True, "download": True, "order": False, "secondary": False},
        "selected": {"bulk": False, "compare": False, "order": False},
        "spatialBounds": bounds_polygon(points),
        "spatialCoverage": coverage_polygon(points),
        "temporalCoverage": {"endDate": f"{day} 00:00:00", "startDate": f"{day} 00:00:00"},
        "publishDate": catalog.publish_date(key, cat.today, level),
    }


def dataset_alias(level: int) -> str:
    """Primary dataset alias of a level."""
    return datasets.L2 if level == 2 else datasets.L1
