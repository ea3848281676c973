"""download-options, download-request and the download queue endpoints.

Choices where the record is silent (UNCERTAIN, docs/sandbox.md):
* A product the user already has in the queue is reported in ``duplicateProducts``
  (``{downloadId: label}``) and is *also* listed again in available/preparing downloads with
  its original downloadId and a fresh URL, so a client can always get a URL.
* ``duplicateProducts`` and ``newRecords`` are ``[]`` when empty (PHP style), objects otherwise.
* Folder products (filesize 0) and unavailable bundles cannot be requested: they go to
  ``failed`` as ``{entityId, productId, errorMessage}`` and count in ``numInvalidScenes``.
* Items not yet ready are listed by download-retrieve in ``requested`` only, with statusCode
  "R" / "Requested" and the same ``download-staging`` URL download-request gave them in
  ``preparingDownloads`` (no recording shows a not-ready item; a null URL breaks clients that
  fetch every ``requested`` URL, and the staging URL answers 404 until the item is ready,
  then redirects). Ready items appear in both ``available`` and ``requested`` with
  "A" / "Available" (the recorded castuofa download-retrieve quirk).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from m2mdl.sandbox import catalog, datasets, layout, options, signing
from m2mdl.sandbox.app import ApiError, App, Ctx, id_list, require, require_dataset
from m2mdl.sandbox.catalog import SceneKey
from m2mdl.sandbox.products import level_of
from m2mdl.sandbox.state import RECENT_LIMIT, OrderItem

from .jsontypes import JSON


def download_options(ctx: Ctx, body: JSON) -> object:
    """``download-options`` for entityIds (list or comma string) or a listId."""
    d = require_dataset(body)
    level = level_of(d.alias) if d.scenes else None
    ids = id_list(body.get("entityIds"))
    if body.get("listId"):
        lst = ctx.app.state.scene_list(ctx.username, str(body["listId"]))
        ids += [e for ds, e in list(lst.entries)] if lst is not None else []
    if level is None:
        return []
    today = ctx.app.catalog.today
    keys = {
        k
        for k in (ctx.app.catalog.scene(i) for i in ids)
        if k is not None and catalog.exists(k, level, today)
    }
    grouped = bool(body.get("includeSecondaryFileGroups"))
    out: list[JSON] = []
    for key in sorted(
        keys, key=catalog.entity_id
    ):  # the 2025 notebook run lists scenes by entityId
        out += options.scene_options(ctx.app.catalog, key, level, grouped)
    return out


@dataclass(frozen=True)
class Wanted:
    """A resolved, requestable product: what to create in the queue."""

    product_id: str
    entity_id: str
    file_name: str
    display_id: str
    dataset: str
    product_code: str
    product_name: str
    filesize: int
    system: str


def _bundle(app: App, product_id: str, entity: str) -> Wanted | str:
    level, product = options.PRODUCTS[product_id]
    key = app.catalog.scene(entity)
    if key is None or not catalog.exists(key, level, app.catalog.today):
        return "Invalid entity id"
    if product.system == "folder":
        return "Folder products cannot be downloaded; request their secondary files"
    if not options.available(app.catalog, key, product):
        return "Product is not available for download"
    display = app.catalog.display_id(key, level)
    return Wanted(
        product_id,
        catalog.entity_id(key),
        f"{display}.tar",
        display,
        datasets.L2 if level == 2 else datasets.L1,
        product.code,
        product.name,
        app.catalog.layout(key, level).tar_size,
        product.system,
    )


def _file(app: App, product_id: str, entity: str, level: int) -> Wanted | str:
    found = app.catalog.secondary_file(entity, level)
    if found is None:
        return "Invalid entity id"
    key, fdef = found
    return _file_wanted(app, product_id, key, level, fdef)


def _file_wanted(app: App, pid: str, key: SceneKey, level: int, fdef: layout.FileDef) -> Wanted:
    sec = options.SECONDARY[level]
    display = app.catalog.display_id(key, level)
    name = f"{display}_{fdef.suffix}"
    return Wanted(
        pid,
        layout.secondary_entity_id(display, fdef),
        name,
        name,
        sec.dataset,
        sec.code,
        sec.name,
        app.catalog.file_size(key, level, fdef.suffix),
        "ls_s3",
    )


def _resolve(app: App, product_id: str, entity: str) -> Wanted | str:
    if product_id in options.PRODUCTS:
        return _bundle(app, product_id, entity)
    if product_id in options.SECONDARY_IDS:
        return _file(app, product_id, entity, options.SECONDARY_IDS[product_id])
    return "Invalid product id"


def _group_files(ctx: Ctx, group: JSON) -> list[Wanted]:
    """The files a dataGroups entry names: list entries x fileGroups."""
    alias = str(require(group, "datasetName")).lower()
    level = level_of(alias)
    wanted_groups = set(id_list(group.get("fileGroups")))
    lst = ctx.app.state.scene_list(ctx.username, str(group.get("listId") or ""))
    if level is None or lst is None:
        return []
    pid = options.SECONDARY[level].grouped_id
    out: list[Wanted] = []
    for ds, entity in list(lst.entries):
        if ds != alias:
            continue
        found = ctx.app.catalog.secondary_file(entity, level)
        if found is not None and wanted_groups & set(found[1].groups):
            out.append(_file_wanted(ctx.app, pid, found[0], level, found[1]))
    return out


def _collect(ctx: Ctx, body: JSON) -> tuple[list[tuple[Wanted, str | None]], list[JSON]]:
    """De-duplicated wanted products (with per-item labels) and the failed entries."""
    seen: set[tuple[str, str]] = set()
    wanted: list[tuple[Wanted, str | None]] = []
    failed: list[JSON] = []
    for item in body.get("downloads") or []:
        if not isinstance(item, dict):
            failed.append(
                {
                    "entityId": None,
                    "productId": None,
                    "errorMessage": "Each download must be an object",
                }
            )
            continue
        pid, entity = str(item.get("productId", "")), str(item.get("entityId", ""))
        got = _resolve(ctx.app, pid, entity)
        if isinstance(got, str):
            failed.append({"entityId": entity, "productId": pid, "errorMessage": got})
        elif (got.product_id, got.entity_id) not in seen:
            seen.add((got.product_id, got.entity_id))
            label = item.get("label")
            wanted.append((got, str(label) if label else None))
    for group in body.get("dataGroups") or []:
        for got in _group_files(ctx, group):
            if (got.product_id, got.entity_id) not in seen:
                seen.add((got.product_id, got.entity_id))
                label = group.get("label")
                wanted.append((got, str(label) if label else None))
    return wanted, failed


def item_url(app: App, item: OrderItem) -> str:
    """The URL of a queue item: staging while preparing, then the file's real-form URL."""
    token = signing.dds_token(item.download_id, _contact(app, item))
    now = app.state.clock()
    if item.ready_at > now:
        return f"{app.base_url}/download-staging/{token}"
    served = app.catalog.served_file(item.file_name)
    assert served is not None
    app.write_static(served)
    base = app.url_base()
    path = served.static_path if app.config.files_url else served.rel_path
    if item.system.startswith("dds") and not app.config.files_url:
        return f"{base}/download/{token}"
    file_id = served.display_id if served.is_bundle else served.name
    sig = signing.sign(app.config.secret, _contact(app, item), item.download_id, file_id, now)
    sep = "&" if "?" in path else "?"
    return f"{base}/{path}{sep}requestSignature={sig}"


def _contact(app: App, item: OrderItem) -> int:
    user = app.state.users.get(item.username)
    return user.contact_id if user else 0


def _enqueue(ctx: Ctx, w: Wanted, label: str) -> OrderItem:
    app = ctx.app
    now = app.state.clock()
    delay = app.config.faults.preparing_seconds or 0.0
    d = datasets.DATASETS[w.dataset]
    item = OrderItem(
        app.state.new_download_id(),
        ctx.username,
        ctx.ip,
        label,
        w.product_id,
        w.entity_id,
        w.file_name,
        w.display_id,
        d.dataset_id,
        d.collection,
        w.product_code,
        w.product_name,
        w.filesize,
        "dds" if delay > 0 else w.system,
        now,
        now + delay,
    )
    with app.state.lock:
        app.state.orders[item.download_id] = item
        app.state.by_product[(ctx.username, w.product_id, w.entity_id)] = item.download_id
    return item


def _default_label(ctx: Ctx) -> str:
    stamp = dt.datetime.fromtimestamp(ctx.app.state.clock()).strftime("%Y%m%d%H%M%S")
    return f"m2m_{ctx.request_id}_{stamp}"  # kapadia recording: m2m_225951215_20210309131939


def download_request(ctx: Ctx, body: JSON) -> object:
    """``download-request``: queue products and files, answer URLs."""
    wanted, failed = _collect(ctx, body)
    state = ctx.app.state
    default = str(body.get("label") or "") or _default_label(ctx)
    with state.lock:
        known = [state.by_product.get((ctx.username, w.product_id, w.entity_id)) for w, _ in wanted]
        fresh = sum(k is None or k not in state.orders for k in known)
        if state.recent_count(username=ctx.username) + fresh > RECENT_LIMIT:
            raise ApiError(
                "RATE_LIMIT_USER_DL",
                "User has reached the download request rate limit (15000 per 15 "
                "minutes); try again later",
            )
        state.note_requested(ctx.username, ctx.ip, fresh)
    available: list[JSON] = []
    preparing: list[JSON] = []
    new_records: dict[str, str] = {}
    duplicates: dict[str, str] = {}
    for (w, item_label), old in zip(wanted, known, strict=True):
        item = state.orders.get(old) if old is not None else None
        if item is not None:
            duplicates[str(item.download_id)] = item.label
        else:
            label = str(body.get("label") or item_label or default)
            item = _enqueue(ctx, w, label)
            new_records[str(item.download_id)] = item.label
        entry = {
            "downloadId": item.download_id,
            "eulaCode": None,
            "entityId": item.entity_id,
            "url": item_url(ctx.app, item),
        }
        (available if item.ready_at <= state.clock() else preparing).append(entry)
    return {
        "availableDownloads": available,
        "duplicateProducts": duplicates or [],
        "preparingDownloads": preparing,
        "failed": failed,
        "newRecords": new_records or [],
        "numInvalidScenes": len(failed),
        "remainingLimits": state.limits(ctx.username, ctx.ip),
    }


def queue_entry(app: App, item: OrderItem, with_url: bool) -> JSON:
    """A DownloadQueueDownload object (castuofa download-retrieve recording)."""
    ready = item.ready_at <= app.state.clock()
    entry: JSON = {
        "downloadId": item.download_id,
        "collectionName": item.collection,
        "datasetId": item.dataset_id,
        "displayId": item.display_id,
        "entityId": item.entity_id,
        "eulaCode": None,
        "filesize": item.filesize,
        "label": item.label,
        "productCode": item.product_code,
        "productName": item.product_name,
        "statusCode": "A" if ready else "R",
        "statusText": "Available" if ready else "Requested",
    }
    if with_url:
        entry["url"] = item_url(app, item)
    return entry


def download_retrieve(ctx: Ctx, body: JSON) -> object:
    """``download-retrieve``: ready items in both ``available`` and ``requested``."""
    label = str(body["label"]) if body.get("label") else None
    items = ctx.app.state.user_items(ctx.username, label)
    entries = [queue_entry(ctx.app, i, True) for i in items]
    return {
        "available": [e for e in entries if e["statusCode"] == "A"],
        "requested": entries,
        "queueSize": sum(e["statusCode"] != "A" for e in entries),
        "eulas": [],
    }


def download_search(ctx: Ctx, body: JSON) -> object:
    """``download-search``: queue items (no URL), optionally for one label."""
    label = str(body["label"]) if body.get("label") else None
    return [queue_entry(ctx.app, i, False) for i in ctx.app.state.user_items(ctx.username, label)]


def download_labels(ctx: Ctx, body: JSON) -> object:
    """``download-labels``: one summary per label."""
    groups: dict[str, list[OrderItem]] = {}
    for item in ctx.app.state.user_items(ctx.username):
        groups.setdefault(item.label, []).append(item)
    return [
        {
            "label": label,
            "dateEntered": int(min(i.created for i in items) * 1000),
            "downloadSize": sum(i.filesize for i in items),
            "downloadCount": len(items),
            "totalComplete": sum(i.attempted for i in items),
        }
        for label, items in groups.items()
    ]


def download_remove(ctx: Ctx, body: JSON) -> object:
    """``download-remove``: true when the item was in the user's queue (else false)."""
    try:
        download_id = int(require(body, "downloadId"))
    except ValueError as exc:
        raise ApiError("INPUT_PARAMETER_INVALID", "downloadId must be a number") from exc
    item = ctx.app.state.orders.get(download_id)
    if item is None or item.username != ctx.username:
        return False
    ctx.app.state.remove(item)
    return True


def download_order_remove(ctx: Ctx, body: JSON) -> object:
    """``download-order-remove``: remove every item of a label; returns the count."""
    items = ctx.app.state.user_items(ctx.username, str(require(body, "label")))
    for item in items:
        ctx.app.state.remove(item)
    return len(items)
