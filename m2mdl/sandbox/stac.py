"""The STAC API under ``/stac-server``, shaped like USGS LandsatLook's stac-server.

Endpoints: the root catalog, ``/conformance``, ``/collections``, ``/collections/{c}``,
``/collections/{c}/items`` (OGC API Features: a GET search of that one collection, paged
with next links to the same path), ``/collections/{c}/items/{id}`` and ``/search`` (GET
and POST) with ``ids``,
``collections``, ``bbox``, ``intersects`` (filtered by its bounding box), ``datetime`` and
``limit`` (default 10, at most 10000; larger values are clamped, UNCERTAIN); ``query``,
``sortby`` and ``fields`` are accepted and ignored. Results are sorted newest first; paging follows
``rel: next`` links carrying an opaque ``next`` token ``<datetime>,<item id>,<collection>``
(the 2023 recorded form). As in stac-server, every non-empty page has a next link, also
the last one; following it yields an empty page without one. A next link of a POST search
is ``{"method": "POST", "merge": false, "body": {...}}``. Errors are stac-server's
``{"code": ..., "description": ...}`` objects. Searches without ``ids`` must be bounded by
``bbox`` and/or ``datetime`` so that the sandbox can list them (the real API can page
through the whole archive; the sandbox answers 400 for searches it cannot enumerate).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode

from m2mdl.sandbox import catalog, datasets, geo, search
from m2mdl.sandbox.catalog import SceneKey
from m2mdl.sandbox.stac_docs import (
    COLLECTION_OF,
    COLLECTIONS,
    StacDocs,
    acquired,
    collection,
    kind_level,
)
from m2mdl.sandbox.stac_docs import item_id as make_item_id

from .jsontypes import JSON, JsonValue

Answer = tuple[int, bytes, str]
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
_MAX_CANDIDATES = 200_000
_GEOJSON = "application/geo+json"
_CONFORMS = [
    "https://api.stacspec.org/v1.0.0-beta.5/core",
    "https://api.stacspec.org/v1.0.0-beta.5/collections",
    "https://api.stacspec.org/v1.0.0-beta.5/ogcapi-features",
    "https://api.stacspec.org/v1.0.0-beta.5/item-search",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
#: one search hit: (sort key, scene, product id, kind)
Hit = tuple[tuple[int, str, str], SceneKey, str, str]


class StacError(Exception):
    """An error answer: HTTP status, stac-server code and description."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def _dump(status: int, doc: object, ctype: str = "application/json") -> Answer:
    return status, json.dumps(doc).encode(), ctype


class StacApi:
    """Routes STAC requests; ``root`` returns the STAC root URL (``<base>/stac-server``)."""

    def __init__(self, docs: StacDocs, root: Callable[[], str]) -> None:
        self.docs = docs
        self._root = root

    def handle(self, method: str, sub: str, query: str, body: bytes) -> Answer:
        """Answer one request for the path ``sub`` below the STAC prefix."""
        try:
            return self._route(method, sub.strip("/"), query, body)
        except StacError as err:
            return _dump(err.status, {"code": err.code, "description": err.description})

    def _route(self, method: str, sub: str, query: str, body: bytes) -> Answer:
        parts = sub.split("/") if sub else []
        if parts == ["search"]:
            if method == "POST":
                return self._search(_json_body(body), "POST")
            return self._search(_query_params(query), "GET")
        if method not in ("GET", "HEAD"):
            raise StacError(405, "MethodNotAllowed", f"{method} is not allowed here")
        if not parts:
            return _dump(200, self._catalog())
        if parts == ["conformance"]:
            return _dump(200, {"conformsTo": _CONFORMS})
        if parts == ["collections"]:
            root = self._root()
            docs = [collection(cid, root) for cid in COLLECTIONS]
            return _dump(
                200, {"collections": docs, "links": [_link("self", root + "/collections")]}
            )
        if len(parts) == 2 and parts[0] == "collections" and parts[1] in COLLECTIONS:
            return _dump(200, collection(parts[1], self._root()))
        if len(parts) == 3 and parts[0] == "collections" and parts[2] == "items":
            if parts[1] not in COLLECTIONS:
                raise StacError(404, "NotFound", "Not Found")
            params = _query_params(query) | {"collections": [parts[1]]}
            return self._search(params, "GET", path=f"/collections/{parts[1]}/items")
        if len(parts) == 4 and parts[0] == "collections" and parts[2] == "items":
            return self._item(parts[1], parts[3])
        raise StacError(404, "NotFound", "Not Found")

    def _catalog(self) -> JSON:
        root = self._root()
        links = [
            _link("self", root + "/", "application/json"),
            _link("root", root + "/", "application/json"),
            _link("conformance", root + "/conformance", "application/json"),
            _link("data", root + "/collections", "application/json"),
            _link("search", root + "/search", _GEOJSON) | {"method": "GET"},
            _link("search", root + "/search", _GEOJSON) | {"method": "POST"},
            _link("docs", "https://stac-utils.github.io/stac-server/"),
        ]
        links += [_link("child", f"{root}/collections/{cid}") for cid in COLLECTIONS]
        return {
            "stac_version": "1.0.0",
            "type": "Catalog",
            "id": "stac-server",
            "title": "STAC API",
            "description": "Production STAC API using stac-server (m2mdl sandbox)",
            "conformsTo": _CONFORMS,
            "links": links,
        }

    def _item(self, cid: str, item: str) -> Answer:
        found = self.docs.lookup(item) if cid in COLLECTIONS else None
        if found is None or COLLECTION_OF[found[2]] != cid:
            raise StacError(404, "NotFound", "Item not found")
        return _dump(200, self.docs.item(*found), _GEOJSON)

    def _search(self, params: JSON, method: str, path: str = "/search") -> Answer:
        """A page of hits; ``path`` is where the next link points (``/search`` or a
        collection's ``/items``, whose links carry no ``collections`` parameter)."""
        limit = _limit(params.get("limit"))
        collections = _strings(params.get("collections"), "collections")
        unknown = [c for c in collections if c not in COLLECTIONS]
        if unknown:
            raise StacError(400, "BadRequest", f"unknown collection(s): {', '.join(unknown)}")
        hits = self._hits(params, collections or list(COLLECTIONS))
        start = _after(hits, params.get("next"))
        page = hits[start : start + limit]
        features = [self.docs.item(key, display, kind) for _, key, display, kind in page]
        links: list[JSON] = []
        if page:
            token = ",".join(page[-1][0][1:]) if page else ""
            token = f"{features[-1]['properties']['datetime']},{token}"
            links.append(self._next_link(params, method, token, path))
        doc = {
            "type": "FeatureCollection",
            "stac_version": "1.0.0",
            "stac_extensions": [],
            "context": {"limit": limit, "matched": len(hits), "returned": len(page)},
            "numberMatched": len(hits),
            "numberReturned": len(page),
            "features": features,
            "links": links,
        }
        return _dump(200, doc, _GEOJSON)

    def _next_link(self, params: JSON, method: str, token: str, path: str) -> JSON:
        href = self._root() + path
        link = {"rel": "next", "title": "Next page of Items", "method": method}
        if method == "POST":
            return link | {"href": href, "merge": False, "body": params | {"next": token}}
        dropped = {"next"} if path == "/search" else {"next", "collections"}
        query = {k: v for k, v in params.items() if k not in dropped}
        flat = {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in query.items()}
        return link | {"href": href + "?" + urlencode(flat | {"next": token})}

    def _hits(self, params: JSON, collections: list[str]) -> list[Hit]:
        kinds = [COLLECTIONS[c][0] for c in collections]
        bbox = _bbox(params.get("bbox")) or _intersects_bbox(params.get("intersects"))
        window = _datetime(params.get("datetime"))
        ids = _strings(params.get("ids"), "ids")
        if ids:
            found = [self.docs.lookup(i) for i in ids]
            pairs = [(f[0], f[1], f[2]) for f in found if f is not None and f[2] in kinds]
        else:
            if bbox is None and window is None:
                raise StacError(400, "BadRequest", "the sandbox needs ids, bbox or datetime")
            today = self.docs.cat.today
            pairs = [
                (key, catalog.display_id(key, level, today), k)
                for key in self._scenes(bbox, window)
                for k in kinds
                for level in [kind_level(k)]
                if catalog.exists(key, level, today)  # Level-2 lags acquisition by days
            ]
        hits = [
            (_sort_key(key, display, kind), key, display, kind)
            for key, display, kind in pairs
            if _in_window(key, window) and _in_bbox(key, bbox)
        ]
        hits.sort(key=lambda h: h[0])
        return list({(h[2], h[3]): h for h in hits}.values())

    def _scenes(
        self, bbox: list[float] | None, window: tuple[dt.datetime, dt.datetime] | None
    ) -> list[SceneKey]:
        flt: JSON = {}
        if bbox is not None:
            flt["spatialFilter"] = {
                "filterType": "mbr",
                "lowerLeft": {"longitude": bbox[0], "latitude": bbox[1]},
                "upperRight": {"longitude": bbox[2], "latitude": bbox[3]},
            }
        if window is not None:
            flt["acquisitionFilter"] = {
                "start": window[0].date().isoformat(),
                "end": window[1].date().isoformat(),
            }
        try:
            # every scene has a Level-1 product; _hits drops Level-2 items not made yet
            query = search.parse_query({"sceneFilter": flt}, datasets.L1, 1, self.docs.cat)
        except search.SearchError as exc:
            raise StacError(400, "BadRequest", exc.message) from exc
        days = max(0, query.last - query.first) // 16 + 1
        if len(query.pathrows) * days * len(query.sats) > _MAX_CANDIDATES:
            raise StacError(400, "BadRequest", "search too broad for the sandbox; narrow it")
        return search.materialize(query)


def _link(rel: str, href: str, ctype: str | None = None) -> JSON:
    link: JSON = {"rel": rel, "href": href}
    if ctype:
        link["type"] = ctype
    return link


def _sort_key(key: SceneKey, display: str, kind: str) -> tuple[int, str, str]:
    moment = acquired(key)
    stamp = -int(moment.timestamp() * 1_000_000)
    return stamp, make_item_id(display, kind), COLLECTION_OF[kind]


def _after(hits: list[Hit], token: object) -> int:
    if token in (None, ""):
        return 0
    parts = str(token).split(",")
    if len(parts) != 3:
        raise StacError(400, "BadRequest", "invalid next token")
    for i, hit in enumerate(hits):
        if hit[0][1:] == (parts[1], parts[2]):
            return i + 1
    raise StacError(400, "BadRequest", "invalid next token")


def _json_body(raw: bytes) -> JSON:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise StacError(400, "BadRequest", "request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise StacError(400, "BadRequest", "request body must be a JSON object")
    return body


def _query_params(query: str) -> JSON:
    out: JSON = {}
    for name, values in parse_qs(query, keep_blank_values=True).items():
        out[name.removesuffix("[]")] = values[-1]
    return out


def _strings(value: object, name: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise StacError(400, "BadRequest", f"{name} must be a list of strings")


def _limit(value: JsonValue) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except (TypeError, ValueError) as exc:
        raise StacError(400, "BadRequest", "limit must be an integer") from exc
    if limit < 1:
        raise StacError(400, "BadRequest", "limit must be at least 1")
    return min(limit, MAX_LIMIT)


def _bbox(value: JsonValue) -> list[float] | None:
    if value is None or value == "":
        return None
    try:
        raw = value.split(",") if isinstance(value, str) else list(value)
        box = [float(v) for v in raw]
    except (TypeError, ValueError) as exc:
        raise StacError(400, "BadRequest", "bbox must be four numbers") from exc
    if len(box) == 6:
        box = [box[0], box[1], box[3], box[4]]
    if len(box) != 4 or box[1] > box[3]:
        raise StacError(400, "BadRequest", "bbox must be minx,miny,maxx,maxy")
    return box


def _intersects_bbox(geometry: object) -> list[float] | None:
    """The bounding box of an ``intersects`` GeoJSON geometry (the sandbox filters by it)."""
    if geometry in (None, ""):
        return None
    if isinstance(geometry, str):
        try:
            geometry = json.loads(geometry)
        except ValueError as exc:
            raise StacError(400, "BadRequest", "intersects is not GeoJSON") from exc
    points: list[tuple[float, float]] = []

    def walk(node: object) -> None:
        if (
            isinstance(node, list)
            and len(node) >= 2
            and all(isinstance(v, int | float) for v in node[:2])
        ):
            points.append((float(node[0]), float(node[1])))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(geometry.get("coordinates") if isinstance(geometry, dict) else None)
    if not points:
        raise StacError(400, "BadRequest", "intersects has no coordinates")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [min(xs), min(ys), max(xs), max(ys)]


def _parse_moment(text: str, end: bool) -> dt.datetime:
    text = text.strip()
    if text in ("", ".."):
        limit = dt.datetime.max if end else dt.datetime.min
        return limit.replace(tzinfo=dt.timezone.utc)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise StacError(400, "BadRequest", f"invalid datetime {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    if end and len(text) == 10:
        moment += dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    return moment


def _datetime(value: object) -> tuple[dt.datetime, dt.datetime] | None:
    if value is None or value == "":
        return None
    text = str(value)
    if "/" in text:
        first, _, last = text.partition("/")
        return _parse_moment(first, False), _parse_moment(last, True)
    return _parse_moment(text, False), _parse_moment(text, True)


def _in_window(key: SceneKey, window: tuple[dt.datetime, dt.datetime] | None) -> bool:
    return window is None or window[0] <= acquired(key) <= window[1]


def _in_bbox(key: SceneKey, bbox: list[float] | None) -> bool:
    if bbox is None:
        return True
    x1, y1, x2, y2 = bbox
    rings = [[(x1, y1), (x2, y1), (x2, y2), (x1, y2)]]
    if x1 > x2:
        rings = [[(x1, y1), (180.0, y1), (180.0, y2), (x1, y2)]]
        rings.append([(-180.0, y1), (x2, y1), (x2, y2), (-180.0, y2)])
    return geo.footprint_hits(catalog.footprint(key.path, key.row), rings)
