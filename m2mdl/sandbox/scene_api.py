"""Endpoints about single scenes and lists: scene-metadata, scene-metadata-list,
scene-list-summary, and the product list of a dataset (dataset-download-options).

Shapes follow the reference page and the recorded answers (tests/data/m2m-real/
kapadia-2021-scene-metadata.json, kapadia-2021-dataset-download-options.json); the choices
where they are silent are listed in docs/sandbox.md ("Endpoints").
"""

from __future__ import annotations

import datetime as dt

from m2mdl.sandbox import catalog, options, results
from m2mdl.sandbox.app import ApiError, Ctx, require, require_dataset
from m2mdl.sandbox.catalog import SceneKey
from m2mdl.sandbox.products import level_of

from .jsontypes import JSON


def _full(body: JSON) -> bool:
    kind = str(body.get("metadataType") or "summary").lower()
    if kind not in ("summary", "full", "fgdc", "iso"):
        raise ApiError("INPUT_PARAMETER_INVALID", f"Invalid metadataType: {kind}")
    return kind != "summary"  # fgdc/iso answer the full field list (XML is not simulated)


def find_scene(ctx: Ctx, level: int, ident: str, id_type: str) -> SceneKey | None:
    """The scene an entityId, displayId or orderingId names, if its product exists."""
    today = ctx.app.catalog.today
    if id_type.lower() == "displayid":
        found = catalog.parse_display_id(ident.strip(), today)
        return found[0] if found and found[1] == level else None
    key = ctx.app.catalog.scene(ident.strip())
    if key is None or not catalog.exists(key, level, today):
        return None
    return key


def scene_object(ctx: Ctx, key: SceneKey, level: int, full: bool) -> JSON:
    """A scene as scene-metadata returns it (a search hit with ``orderingId`` and ``selected``)."""
    scene = results.scene_result(key, level, ctx.app.catalog, ctx.app.base_url, full)
    scene.update(orderingId=scene["entityId"], hasCustomizedMetadata=False, selected=None)
    for browse in scene["browse"]:
        browse["browseRotationEnabled"] = False  # as recorded (2021) and on the reference page
    return scene


def scene_metadata(ctx: Ctx, body: JSON) -> object:
    """``scene-metadata``: one scene by entityId (or displayId/orderingId via ``idType``).

    An id that names no scene answers ``data: null`` without an error (UNCERTAIN).
    """
    d = require_dataset(body)
    ident = str(require(body, "entityId"))
    full = _full(body)
    level = level_of(d.alias) if d.scenes else None
    if level is None:
        return None
    key = find_scene(ctx, level, ident, str(body.get("idType") or "entityId"))
    return None if key is None else scene_object(ctx, key, level, full)


def _list_entries(ctx: Ctx, list_id: str, alias: str) -> dict[str, list[SceneKey]]:
    lst = ctx.app.state.scene_list(ctx.username, list_id)
    out: dict[str, list[SceneKey]] = {}
    for ds, entity in list(lst.entries) if lst is not None else []:
        level = level_of(ds)
        if (alias and ds != alias) or level is None:
            continue
        key = ctx.app.catalog.scene(entity)
        if key is None:  # a band file of the list names its scene through its display id
            found = ctx.app.catalog.secondary_file(entity, level)
            key = found[0] if found else None
        if key is not None:
            out.setdefault(ds, []).append(key)
    return out


def scene_metadata_list(ctx: Ctx, body: JSON) -> object:
    """``scene-metadata-list``: ``{datasetName: [scene, ...]}`` for the scenes of a list.

    Band-file datasets answer with the scene of each file. An empty answer is ``[]`` (the
    PHP-style empty object the service uses elsewhere, UNCERTAIN here).
    """
    list_id = str(require(body, "listId"))
    full = _full(body)
    alias = str(body.get("datasetName") or "").lower()
    out: JSON = {}
    for ds, keys in _list_entries(ctx, list_id, alias).items():
        level = level_of(ds) or 2
        unique = list(dict.fromkeys(keys))
        out[ds] = [scene_object(ctx, k, level, full) for k in unique]
    return out or []


def _stamp(day: int) -> str:
    return f"{dt.date.fromordinal(day).isoformat()} 00:00:00-05"


def _extent(keys: list[SceneKey]) -> tuple[JSON | None, JSON | None]:
    if not keys:
        return None, None
    points = [pt for k in keys for pt in results.normalized(catalog.footprint(k.path, k.row))]
    days = [k.day for k in keys]
    return results.bounds_polygon(points), {"max": _stamp(max(days)), "min": _stamp(min(days))}


def scene_list_summary(ctx: Ctx, body: JSON) -> object:
    """``scene-list-summary``: scene counts, bounds and time range of a list, per dataset.

    ``summary.sceneCount`` is a string and ``datasets[].sceneCount`` an int, as on the
    reference page; ``listTimeout`` is the list's remaining lifetime in seconds (null when
    it has no timeToLive; unit UNCERTAIN).
    """
    list_id = str(require(body, "listId"))
    alias = str(body.get("datasetName") or "").lower()
    lst = ctx.app.state.scene_list(ctx.username, list_id)
    timeout = None
    if lst is not None and lst.expires is not None:
        timeout = max(0, int(lst.expires - ctx.app.state.clock()))
    per_dataset = _list_entries(ctx, list_id, alias)
    datasets_out: list[JSON] = []
    everything: list[SceneKey] = []
    total = 0
    for ds, keys in per_dataset.items():
        count = sum(1 for e in (lst.entries if lst else {}) if e[0] == ds)
        total += count
        bounds, extent = _extent(keys)
        everything += keys
        datasets_out.append(
            {
                "sceneCount": count,
                "datasetName": ds,
                "listTimeout": timeout,
                "spatialBounds": bounds,
                "temporalExtent": extent,
            }
        )
    bounds, extent = _extent(everything)
    return {
        "summary": {"sceneCount": str(total), "spatialBounds": bounds, "temporalExtent": extent},
        "datasets": datasets_out,
    }


def dataset_download_options(ctx: Ctx, body: JSON) -> object:
    """``dataset-download-options``: the products a dataset offers, without scenes.

    ``sceneFilter`` is accepted and ignored: the list does not depend on the scenes (the
    reference page: "this does not guarantee scene availability").
    """
    d = require_dataset(body)
    level = level_of(d.alias)
    if level is None:
        return []
    if d.scenes:
        return [
            {
                "productId": p.product_id,
                "productCode": p.code,
                "productName": p.name,
                "downloadName": p.download_name,
                "downloadSystem": p.system,
                "fileGroups": None,
            }
            for p in options.PRIMARY[level]
        ]
    sec = options.SECONDARY[level]
    groups = sorted(options.group_ids(level))
    return [
        {
            "productId": sec.plain_id,
            "productCode": sec.code,
            "productName": sec.name,
            "downloadName": sec.plain_name,
            "downloadSystem": "ls_s3",
            "fileGroups": None,
        },
        {
            "productId": sec.grouped_id,
            "productCode": sec.code,
            "productName": sec.name,
            "downloadName": None,
            "downloadSystem": "dds",
            "fileGroups": groups,
        },
    ]
