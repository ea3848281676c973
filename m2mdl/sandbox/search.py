"""scene-search: filters, ordering, paging and the result objects.

Hits are computed lazily from the grid: the spatial filter picks path/rows, the
acquisition filter bounds 16-day arithmetic progressions, and the remaining filters are
evaluated per scene. The sorted hit list (a list of small tuples) is cached per filter,
so paging through 20,000+ hits costs one evaluation. Searches with more than
``_MATERIALIZE_LIMIT`` candidates (e.g. the whole Earth over years) are walked day by day
in date order instead and report an estimated ``totalHits`` with
``totalHitsAccuracy: "approximate"`` (the real API also approximates, m2m-api.md §2.10).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from m2mdl.sandbox import catalog, datasets, geo, wrs
from m2mdl.sandbox.catalog import SceneKey
from m2mdl.sandbox.products import Catalog

JSON = dict[str, Any]
MAX_RESULTS = 50_000  # "50,000 scene limit" (REF)
_MATERIALIZE_LIMIT = 300_000


class SearchError(ValueError):
    """A scene-search request the server rejects (errorCode, message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Query:
    """A parsed scene-search filter (everything except paging)."""

    level: int
    pathrows: tuple[tuple[int, int], ...]
    first: int
    last: int
    cloud_min: float
    cloud_max: float
    months: frozenset[int]
    meta: Callable[[SceneKey], bool] | None
    sort: str  # "date" | "cloud" | "id"
    descending: bool


_ALL_PATHROWS: tuple[tuple[int, int], ...] = tuple(
    (p, r) for p in range(1, wrs.PATHS + 1) for r in wrs.DAY_ROWS
)


@lru_cache(maxsize=1)
def _footprint_boxes() -> tuple[tuple[float, float, float, float], ...]:
    return tuple(geo.bbox(catalog.footprint(*pr)) for pr in _ALL_PATHROWS)


def _near(box: tuple[float, float, float, float], qbox: tuple[float, float, float, float]) -> bool:
    if box[1] > qbox[3] or qbox[1] > box[3]:
        return False
    return any(box[0] + dx <= qbox[2] and qbox[0] <= box[2] + dx for dx in (0.0, -360.0, 360.0))


@lru_cache(maxsize=64)
def _pathrows_of(spec_json: str) -> tuple[tuple[int, int], ...]:
    try:
        rings = geo.parse_spatial(json.loads(spec_json))
    except geo.SpatialFilterError as exc:
        raise SearchError("INPUT_PARAMETER_INVALID", str(exc)) from exc
    if rings is None:
        return _ALL_PATHROWS
    qboxes = [geo.bbox(r) for r in rings]
    return tuple(
        pr
        for pr, box in zip(_ALL_PATHROWS, _footprint_boxes(), strict=True)
        if any(_near(box, q) for q in qboxes) and geo.footprint_hits(catalog.footprint(*pr), rings)
    )


def _pathrows(spec: Any) -> tuple[tuple[int, int], ...]:
    return _pathrows_of(json.dumps(spec, sort_keys=True))


def _day(text: Any, field: str) -> int:
    try:
        return dt.date.fromisoformat(str(text).strip()[:10]).toordinal()
    except ValueError as exc:
        raise SearchError("INPUT_PARAMETER_INVALID", f"Invalid date for {field}: {text}") from exc


def _sort(body: JSON) -> tuple[str, bool]:
    # sortField values are undocumented (m2m-api.md §2.10). Default: newest first (NB25).
    # A sortField without sortDirection sorts ascending (the documented default). UNCERTAIN.
    field = str(body.get("sortField") or "").lower().replace(" ", "").replace("_", "")
    direction = str(body.get("sortDirection") or "").upper()
    if field in ("cloudcover", "cloud"):
        return "cloud", direction == "DESC"
    if field in ("displayid", "entityid"):
        return "id", direction == "DESC"
    if field in ("acquisitiondate", "acquisitionstart", "dateacquired", "startdate"):
        return "date", direction == "DESC"
    return "date", direction != "ASC"  # no (or an unknown) sortField: newest first


def parse_query(body: JSON, level: int, cat: Catalog) -> Query:
    """Turn a scene-search body into a :class:`Query`; raise SearchError when invalid."""
    flt = body.get("sceneFilter") or {}
    if not isinstance(flt, dict):
        raise SearchError("INPUT_PARAMETER_INVALID", "sceneFilter must be an object")
    acq = flt.get("acquisitionFilter") or {}
    first = _day(acq["start"], "acquisitionFilter.start") if acq.get("start") else 0
    last = _day(acq["end"], "acquisitionFilter.end") if acq.get("end") else cat.today
    cloud = flt.get("cloudCoverFilter") or {}
    months = frozenset(int(m) for m in (flt.get("seasonalFilter") or []))
    meta = (
        metadata_predicate(flt.get("metadataFilter"), level, cat)
        if flt.get("metadataFilter")
        else None
    )
    sort, descending = _sort(body)
    cloud_min = float(cloud.get("min") or 0)
    cloud_max = float(100 if cloud.get("max") is None else cloud["max"])
    return Query(
        level,
        _pathrows(flt.get("spatialFilter")),
        first,
        min(last, cat.today),
        cloud_min,
        cloud_max,
        months,
        meta,
        sort,
        descending,
    )


def _attr(key: SceneKey, name: str, level: int, cat: Catalog) -> str:
    values: dict[str, Callable[[], str]] = {
        "display_id": lambda: cat.display_id(key, level),
        "display_id_l1": lambda: cat.display_id(key, 1),
        "entity_id": lambda: catalog.entity_id(key),
        "path": lambda: str(key.path),
        "row": lambda: str(key.row),
        "satellite": lambda: str(key.sat),
        "tier": lambda: catalog.tier(key),
    }
    return values[name]()


def _leaf(spec: JSON, level: int, cat: Catalog) -> Callable[[SceneKey], bool]:
    alias = datasets.L2 if level == 2 else datasets.L1
    defs = {f.filter_id: f for f in datasets.FILTERS[alias]}
    fdef = defs.get(str(spec.get("filterId")))
    if fdef is None:
        return lambda key: False  # a foreign/unknown filterId matches nothing (NBMF)
    kind = str(spec.get("filterType", "value")).lower()
    if kind == "between":
        lo, hi = float(spec.get("firstValue", 0)), float(spec.get("secondValue", 0))
        return lambda key: lo <= float(_attr(key, fdef.attr, level, cat)) <= hi
    value = str(spec.get("value", "")).strip()
    if fdef.kind == "Range":  # a value filter on a Range field acts as equality (NBMF)
        num = float(value or "nan")
        return lambda key: float(_attr(key, fdef.attr, level, cat)) == num
    if fdef.kind == "Text" or str(spec.get("operand", "")).lower() == "like":
        pattern = value.upper().replace("%", "")
        return lambda key: pattern in _attr(key, fdef.attr, level, cat).upper()
    return lambda key: value == "" or _attr(key, fdef.attr, level, cat) == value


def metadata_predicate(spec: Any, level: int, cat: Catalog) -> Callable[[SceneKey], bool]:
    """A predicate for a metadataFilter tree (value / between / and / or)."""
    if not isinstance(spec, dict):
        raise SearchError("INPUT_PARAMETER_INVALID", "metadataFilter must be an object")
    kind = str(spec.get("filterType", "")).lower()
    if kind in ("and", "or"):
        children = [metadata_predicate(c, level, cat) for c in spec.get("childFilters") or []]
        if kind == "and":
            return lambda key: all(c(key) for c in children)
        return lambda key: any(c(key) for c in children)
    try:
        return _leaf(spec, level, cat)
    except (TypeError, ValueError) as exc:
        raise SearchError("INPUT_PARAMETER_INVALID", f"invalid metadataFilter: {exc}") from exc


def _passes(q: Query, key: SceneKey) -> bool:
    cloud = catalog.cloud_cover(key)
    if not q.cloud_min <= cloud <= q.cloud_max:
        return False
    if q.months and dt.date.fromordinal(key.day).month not in q.months:
        return False
    return q.meta is None or q.meta(key)


def _candidates(q: Query) -> int:
    return sum(
        len(catalog.pass_days(sat, p, q.first, q.last))
        for sat in catalog.SATELLITES
        for p, _ in q.pathrows
    )


def _sort_key(q: Query, cat: Catalog) -> Callable[[SceneKey], Any]:
    if q.sort == "cloud":
        return lambda k: (catalog.cloud_cover(k), -k.day if q.descending else k.day)
    if q.sort == "id":
        return lambda k: catalog.entity_id(k)
    sign = -1 if q.descending else 1
    return lambda k: (sign * k.day, k.path, k.row, k.sat)


def materialize(q: Query, cat: Catalog) -> list[SceneKey]:
    """Every hit of ``q``, sorted."""
    hits = [
        SceneKey(sat, p, r, day)
        for sat in catalog.SATELLITES
        for p, r in q.pathrows
        for day in catalog.pass_days(sat, p, q.first, q.last)
        if _passes(q, SceneKey(sat, p, r, day))
    ]
    key = _sort_key(q, cat)
    if q.sort == "date":
        hits.sort(key=key)
    else:
        hits.sort(key=key, reverse=q.descending)
    return hits


def _walk_days(q: Query) -> Iterator[SceneKey]:
    """Hits in date order without materializing (ties: path, row, satellite)."""
    rows: dict[int, list[int]] = {}
    for p, r in q.pathrows:
        rows.setdefault(p, []).append(r)
    days = range(q.last, q.first - 1, -1) if q.descending else range(q.first, q.last + 1)
    for day in days:
        for p in sorted(rows):
            for r in rows[p]:
                for sat in catalog.SATELLITES:
                    key = SceneKey(sat, p, r, day)
                    if day in catalog.pass_days(sat, p, day, day) and _passes(q, key):
                        yield key


class HitCache:
    """Sorted hit lists of recent queries (searches page through the same filter)."""

    def __init__(self, size: int = 8) -> None:
        self._items: OrderedDict[str, list[SceneKey]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, token: str, make: Callable[[], list[SceneKey]]) -> list[SceneKey]:
        """The cached list for ``token``, computing it with ``make`` on a miss."""
        with self._lock:
            if token in self._items:
                self._items.move_to_end(token)
                return self._items[token]
        hits = make()
        with self._lock:
            self._items[token] = hits
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return hits


def page(body: JSON, level: int, cat: Catalog, cache: HitCache) -> tuple[list[SceneKey], int, bool]:
    """(hits on this page, totalHits, exact?) for a scene-search body."""
    start = max(1, int(body.get("startingNumber") or 1))
    raw_size = body.get("maxResults")
    size = 100 if raw_size is None else int(raw_size)
    if size > MAX_RESULTS or size < 0:
        raise SearchError(
            "INPUT_PARAMETER_INVALID", f"maxResults must be between 0 and {MAX_RESULTS}"
        )
    q = parse_query(body, level, cat)
    if _candidates(q) <= _MATERIALIZE_LIMIT or q.sort != "date":
        token = json.dumps(
            [
                body.get("datasetName"),
                body.get("sceneFilter"),
                body.get("sortField"),
                body.get("sortDirection"),
                cat.today,
            ],
            sort_keys=True,
            default=str,
        )
        hits = cache.get(token, lambda: materialize(q, cat))
        return hits[start - 1 : start - 1 + size], len(hits), True
    found: list[SceneKey] = []
    walker = _walk_days(q)
    for n, key in enumerate(walker, start=1):
        if n >= start:
            found.append(key)
        if len(found) >= size:
            break
    total = max(start - 1 + len(found), int(_candidates(q) * 0.6))  # estimate
    return found, total, False
