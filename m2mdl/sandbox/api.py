"""API endpoint handlers (everything except the download-* family) and the dispatch table.

Each handler takes the call context and the parsed JSON body and returns ``data`` or raises
:class:`~m2mdl.sandbox.app.ApiError`. Error codes and messages are the observed ones where
public issues record them; the rest are choices listed in docs/sandbox.md ("Choices where
the evidence is uncertain").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from m2mdl.sandbox import (
    catalog,
    datasets,
    downloads,
    filters,
    options,
    scene_api,
    search,
    service,
    wrs,
)
from m2mdl.sandbox.app import ApiError, Ctx, id_list, require, require_dataset
from m2mdl.sandbox.products import level_of
from m2mdl.sandbox.results import scene_result
from m2mdl.sandbox.state import PENDING_LIMIT, RECENT_LIMIT, UNATTEMPTED_LIMIT, parse_duration

from .jsontypes import JSON

#: A handler's result becomes the envelope's ``data`` and is only serialized (json.dumps):
#: any value json can write, so object.
Handler = Callable[[Ctx, JSON], object]


def login_token(ctx: Ctx, body: JSON) -> object:
    """``login-token``: an API key for username + application token."""
    username, token = str(require(body, "username")), str(require(body, "token"))
    key = ctx.app.state.login(username, token)
    if key is None:
        # UNCERTAIN: AUTH_INVALID is the most likely code for bad credentials (usgsxplore's tests)
        raise ApiError("AUTH_INVALID", "User credential verification failed")
    ctx.key = ctx.app.state.keys[key]  # the envelope carries the new session's id (reference page)
    return key


def logout(ctx: Ctx, body: JSON) -> object:
    """``logout``: destroy the key; data is null."""
    assert ctx.key is not None
    ctx.app.state.logout(ctx.key)
    return None


def permissions(ctx: Ctx, body: JSON) -> object:
    """``permissions``: the account's roles, e.g. ``["user","download","order"]``."""
    assert ctx.key is not None
    return list(ctx.key.user.permissions)


def notifications(ctx: Ctx, body: JSON) -> object:
    """``notifications``: the sandbox's notice and ``--notice`` (any systemId)."""
    require(body, "systemId")
    return service.notifications(ctx.app.config.service, ctx.app.state.clock())


def _scene_count(d: datasets.DatasetDef) -> int:
    return 3_714_007 if d.scenes else 0


def _last_day(ctx: Ctx) -> str:
    return dt.date.fromordinal(ctx.app.catalog.today).isoformat()


def dataset(ctx: Ctx, body: JSON) -> object:
    """``dataset``: one Dataset object by datasetName or datasetId."""
    if body.get("datasetId"):
        found = datasets.find(dataset_id=str(body["datasetId"]))
        if found is None:
            raise ApiError("DATASET_INVALID", f"Invalid dataset id: {body['datasetId']}")
    else:
        found = require_dataset(body)
    return datasets.record(found, _last_day(ctx), _scene_count(found))


def dataset_search(ctx: Ctx, body: JSON) -> object:
    """``dataset-search``: substring match on alias and collection name (reference page)."""
    term = str(body.get("datasetName") or "").lower()
    hits = [
        d
        for d in datasets.DATASETS.values()
        if term in d.alias.lower() or term in d.collection.lower() or term in d.long_name.lower()
    ]
    return [datasets.record(d, _last_day(ctx), _scene_count(d)) for d in hits]


def dataset_filters(ctx: Ctx, body: JSON) -> object:
    """``dataset-filters``: the metadata filter fields of a dataset."""
    return filters.records(require_dataset(body).alias)


def dataset_file_groups(ctx: Ctx, body: JSON) -> object:
    """``dataset-file-groups``: file groups of the band-files companion dataset."""
    level = level_of(require_dataset(body).alias)
    if level is None:
        return {"primary": [], "secondary": []}
    return options.file_groups(level)


def scene_search(ctx: Ctx, body: JSON) -> object:
    """``scene-search`` with paging; nextRecord = min(startingNumber + returned, totalHits)."""
    d = require_dataset(body)
    level = level_of(d.alias) if d.scenes else None
    start = max(1, int(body.get("startingNumber") or 1))
    keys: list[catalog.SceneKey] = []
    total, exact = 0, True
    if level is not None:
        try:
            keys, total, exact = search.page(body, d.alias, level, ctx.app.catalog, ctx.app.hits)
        except search.SearchError as exc:
            raise ApiError(exc.code, exc.message) from exc
    full = str(body.get("metadataType") or "summary").lower() == "full"
    results = [scene_result(k, level or 2, ctx.app.catalog, ctx.app.base_url, full) for k in keys]
    return {
        "results": results,
        "recordsReturned": len(results),
        "totalHits": total,
        "totalHitsAccuracy": "exact" if exact else "approximate",
        "isCustomized": False,
        "numExcluded": 0,
        "startingNumber": start,
        # UNCERTAIN rule inferred from the kapadia recording (docs/sandbox.md, "Search")
        "nextRecord": min(start + len(results), total),
    }


def _valid_entity(ctx: Ctx, alias: str, entity: str, id_field: str) -> str | None:
    level = level_of(alias)
    if level is None:
        return None
    if alias in (datasets.BAND_L1, datasets.BAND_L2):
        return entity if ctx.app.catalog.secondary_file(entity, level) else None
    key = scene_api.find_scene(ctx, level, entity, id_field)
    return None if key is None else catalog.entity_id(key)


def scene_list_add(ctx: Ctx, body: JSON) -> object:
    """``scene-list-add``: returns the list's resulting size (official notebook runs: 3, 88, 43)."""
    list_id = str(require(body, "listId"))
    d = require_dataset(body)
    ids = id_list(body.get("entityIds")) + id_list(body.get("entityId"))
    lst = ctx.app.state.scene_list(ctx.username, list_id, create=True)
    assert lst is not None
    ttl = body.get("timeToLive")
    if ttl:
        seconds = parse_duration(str(ttl))
        if seconds is None:
            raise ApiError("INPUT_PARAMETER_INVALID", f"Invalid timeToLive: {ttl}")
        lst.expires = ctx.app.state.clock() + seconds
    with ctx.app.state.lock:
        for raw in ids:
            # unknown ids are skipped silently (UNCERTAIN; the development branch lists them)
            entity = _valid_entity(ctx, d.alias, raw, str(body.get("idField") or "entityId"))
            if entity is not None:
                lst.entries[(d.alias, entity)] = None
        return len(lst.entries)


def scene_list_get(ctx: Ctx, body: JSON) -> object:
    """``scene-list-get``: ``[{entityId, datasetName}]``, optionally one dataset / a page."""
    lst = ctx.app.state.scene_list(ctx.username, str(require(body, "listId")))
    if lst is None:
        return []
    name = str(body.get("datasetName") or "").lower()
    rows = [
        {"entityId": e, "datasetName": ds} for ds, e in list(lst.entries) if not name or ds == name
    ]
    start = max(1, int(body.get("startingNumber") or 1)) - 1
    size = body.get("maxResults")
    return rows[start : start + int(size)] if size else rows[start:]


def scene_list_remove(ctx: Ctx, body: JSON) -> object:
    """``scene-list-remove``: whole list / one dataset / some ids, by the fields present."""
    list_id = str(require(body, "listId"))
    state = ctx.app.state
    lst = state.scene_list(ctx.username, list_id)
    if lst is None:
        return None
    name = str(body.get("datasetName") or "").lower()
    raw = id_list(body.get("entityIds")) + id_list(body.get("entityId"))
    ids = set(raw) | {i.upper() for i in raw}
    with state.lock:
        if not name:
            state.lists.pop((ctx.username, list_id), None)
        elif not ids:
            lst.entries = {k: None for k in lst.entries if k[0] != name}
        else:
            lst.entries = {k: None for k in lst.entries if not (k[0] == name and k[1] in ids)}
    return None


def rate_limit_summary(ctx: Ctx, body: JSON) -> object:
    """``rate-limit-summary``: initial and remaining download limits (reference page).

    ``ipAddress`` (a list) adds the ip limits of those addresses to ``remainingLimits``.
    """
    state = ctx.app.state
    extra = [str(ip) for ip in id_list(body.get("ipAddress")) if str(ip) != ctx.ip]
    remaining = state.limits(ctx.username, ctx.ip)
    remaining += [
        e for ip in extra for e in state.limits(ctx.username, ip) if e["limitType"] == "ip"
    ]
    counts = [{"status": "Available", "downloadCount": len(state.user_items(ctx.username))}]
    return {
        "initialLimits": [
            {
                "recentDownloadCount": RECENT_LIMIT,
                "pendingDownloadCount": PENDING_LIMIT,
                "unattemptedDownloadCount": UNATTEMPTED_LIMIT,
            }
        ],
        "remainingLimits": remaining,
        "recentDownloadCounts": [
            {"countType": "username", "username": ctx.username, "downloadCounts": counts},
            {"countType": "ip", "ipAddress": ctx.ip, "downloadCounts": counts},
        ],
    }


def grid2ll(ctx: Ctx, body: JSON) -> object:
    """``grid2ll``: WRS-2 path/row to a centre point or footprint polygon."""
    if str(require(body, "gridType")).upper() != "WRS2":
        raise ApiError("INPUT_PARAMETER_INVALID", "Only WRS2 is supported by the sandbox")
    try:
        path, row = int(require(body, "path")), int(require(body, "row"))
    except ValueError as exc:
        raise ApiError("INPUT_PARAMETER_INVALID", "path and row must be numbers") from exc
    if not (1 <= path <= wrs.PATHS and 1 <= row <= wrs.ROWS):
        raise ApiError("INPUT_PARAMETER_INVALID", "path/row outside the WRS-2 grid")
    return wrs.grid2ll(path, row, str(body.get("responseShape") or "point").lower())


HANDLERS: dict[str, Handler] = {
    "login-token": login_token,
    "logout": logout,
    "permissions": permissions,
    "notifications": notifications,
    "dataset": dataset,
    "dataset-search": dataset_search,
    "dataset-filters": dataset_filters,
    "dataset-file-groups": dataset_file_groups,
    "scene-search": scene_search,
    "scene-list-add": scene_list_add,
    "scene-list-get": scene_list_get,
    "scene-list-remove": scene_list_remove,
    "download-options": downloads.download_options,
    "download-request": downloads.download_request,
    "download-retrieve": downloads.download_retrieve,
    "download-search": downloads.download_search,
    "download-labels": downloads.download_labels,
    "download-remove": downloads.download_remove,
    "download-order-remove": downloads.download_order_remove,
    "scene-metadata": scene_api.scene_metadata,
    "scene-metadata-list": scene_api.scene_metadata_list,
    "scene-list-summary": scene_api.scene_list_summary,
    "dataset-download-options": scene_api.dataset_download_options,
    "rate-limit-summary": rate_limit_summary,
    "grid2ll": grid2ll,
}
NEEDS_DOWNLOAD_ROLE = {"download-options", "download-request"}
