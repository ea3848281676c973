"""scene-search: filters, ordering and paging, bounded by the page size.

Scenes are never stored, so the work of a search is the number of scenes it looks at. Three
strategies keep that proportional to the page, not to the catalogue (docs/sandbox.md,
"Search"):

* **Exact ids.** A metadata filter that names entity or display ids (alone or under
  ``and``/``or``) decodes them into path/row/date: the search looks at those scenes only.
* **Small candidate sets** (at most ``MATERIALIZE_LIMIT`` scenes after the spatial filter,
  the acquisition range and the path/row/satellite bounds of the metadata filter) are
  evaluated at once, sorted and cached, so paging through them costs one evaluation.
* **Large sets** are walked in date order (newest first by default) until the page is full:
  each day only the paths imaged that day are visited. ``totalHits`` is then an estimate
  from the share of matching scenes and ``totalHitsAccuracy`` is ``"approximate"``, as the
  real service reports for large searches. Other orders over large sets sort the first
  ``SORT_LIMIT`` hits in date order (also "approximate").

Every walk stops after ``TIME_LIMIT`` seconds, so a search can never hold the per-IP API
slot for long; a page cut short this way is returned as is, with an approximate total.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from m2mdl.sandbox import catalog, filters, geo, wrs
from m2mdl.sandbox.catalog import SceneKey
from m2mdl.sandbox.products import Catalog

from .jsontypes import JSON

MAX_RESULTS = 50_000  # "50,000 scene limit" (reference page)
MATERIALIZE_LIMIT = 60_000
SORT_LIMIT = 5_000
TIME_LIMIT = 2.0  # seconds of walking before a search answers with what it has
_CLOCK_EVERY = 2048  # look at the clock every this many scenes


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
    sats: tuple[int, ...]
    first: int
    last: int
    cloud_min: float
    cloud_max: float
    months: frozenset[int]
    meta: Callable[[SceneKey], bool] | None
    keys: frozenset[SceneKey] | None  # exact candidates from the metadata filter
    sort: str  # "date" | "cloud" | "id"
    descending: bool
    today: int


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


def _pathrows(spec: object, bounds: filters.Bounds) -> tuple[tuple[int, int], ...]:
    found = _pathrows_of(json.dumps(spec, sort_keys=True))
    if bounds.paths is None and bounds.rows is None:
        return found
    plo, phi = bounds.paths or (1, wrs.PATHS)
    rlo, rhi = bounds.rows or (1, wrs.ROWS)
    return tuple((p, r) for p, r in found if plo <= p <= phi and rlo <= r <= rhi)


def _day(text: object, field: str) -> int:
    try:
        return dt.date.fromisoformat(str(text).strip()[:10]).toordinal()
    except ValueError as exc:
        raise SearchError("INPUT_PARAMETER_INVALID", f"Invalid date for {field}: {text}") from exc


def _sort(body: JSON) -> tuple[str, bool]:
    # sortField values are undocumented. Default: newest first (as the official notebook
    # shows). A sortField without sortDirection sorts ascending (the documented default).
    field = str(body.get("sortField") or "").lower().replace(" ", "").replace("_", "")
    direction = str(body.get("sortDirection") or "").upper()
    if field in ("cloudcover", "cloud"):
        return "cloud", direction == "DESC"
    if field in ("displayid", "entityid"):
        return "id", direction == "DESC"
    if field in ("acquisitiondate", "acquisitionstart", "dateacquired", "startdate"):
        return "date", direction == "DESC"
    return "date", direction != "ASC"  # no (or an unknown) sortField: newest first


def _object(value: object, name: str) -> JSON:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SearchError("INPUT_PARAMETER_INVALID", f"{name} must be an object")
    return value


def parse_query(body: JSON, alias: str, level: int, cat: Catalog) -> Query:
    """Turn a scene-search body into a :class:`Query`; raise SearchError when invalid."""
    flt = _object(body.get("sceneFilter"), "sceneFilter")
    acq = _object(flt.get("acquisitionFilter"), "acquisitionFilter")
    first = _day(acq["start"], "acquisitionFilter.start") if acq.get("start") else 0
    first = max(first, min(catalog.SATELLITES.values()))
    last = _day(acq["end"], "acquisitionFilter.end") if acq.get("end") else cat.today
    cloud = _object(flt.get("cloudCoverFilter"), "cloudCoverFilter")
    try:
        months = frozenset(int(m) for m in (flt.get("seasonalFilter") or []))
        cloud_min = float(cloud.get("min") or 0)
        cloud_max = float(100 if cloud.get("max") is None else cloud["max"])
    except (TypeError, ValueError) as exc:
        raise SearchError("INPUT_PARAMETER_INVALID", f"invalid sceneFilter: {exc}") from exc
    meta: Callable[[SceneKey], bool] | None = None
    bounds = filters.EVERYTHING
    if flt.get("metadataFilter"):
        try:
            meta, bounds = filters.predicate(alias, flt["metadataFilter"], level, cat.today)
        except filters.FilterError as exc:
            raise SearchError("INPUT_PARAMETER_INVALID", str(exc)) from exc
    if bounds.days is not None:
        first, last = max(first, bounds.days[0]), min(last, bounds.days[1])
    sats = tuple(s for s in catalog.SATELLITES if bounds.sats is None or s in bounds.sats)
    sort, descending = _sort(body)
    return Query(
        level,
        _pathrows(flt.get("spatialFilter"), bounds),
        sats,
        first,
        min(last, cat.today),
        cloud_min,
        cloud_max,
        months,
        meta,
        bounds.keys,
        sort,
        descending,
        cat.today,
    )


def _passes(q: Query, key: SceneKey) -> bool:
    if (q.cloud_min > 0 or q.cloud_max < 100) and not (
        q.cloud_min <= catalog.cloud_cover(key) <= q.cloud_max
    ):
        return False
    if q.months and dt.date.fromordinal(key.day).month not in q.months:
        return False
    if q.meta is not None and not q.meta(key):
        return False
    # Level-2 is made days after acquisition (keys here are scenes already)
    return not (
        q.level == 2
        and key.day > q.today - catalog.MAX_LAG - 1
        and catalog.l2_visible_day(key) > q.today + 1
    )


def _candidates(q: Query) -> int:
    if q.keys is not None:
        return len(q.keys)
    rows: dict[int, int] = {}
    for p, _ in q.pathrows:
        rows[p] = rows.get(p, 0) + 1
    return sum(
        len(catalog.pass_days(s, p, q.first, q.last)) * n for s in q.sats for p, n in rows.items()
    )


def _sort_key(q: Query) -> Callable[[SceneKey], tuple[int, ...] | str]:
    if q.sort == "cloud":
        return lambda k: (catalog.cloud_cover(k), -k.day if q.descending else k.day)
    if q.sort == "id":
        return lambda k: catalog.entity_id(k)
    sign = -1 if q.descending else 1
    return lambda k: (sign * k.day, k.path, k.row, k.sat)


def _sorted(q: Query, hits: list[SceneKey]) -> list[SceneKey]:
    hits.sort(key=_sort_key(q), reverse=q.descending and q.sort != "date")
    return hits


def _exact(q: Query) -> list[SceneKey]:
    """Hits among the decoded ids of the metadata filter."""
    assert q.keys is not None
    allowed = set(q.pathrows)
    hits = [
        k
        for k in q.keys
        if k.sat in q.sats
        and (k.path, k.row) in allowed
        and q.first <= k.day <= q.last
        and catalog.is_scene(k, q.today)
        and _passes(q, k)
    ]
    return _sorted(q, hits)


def materialize(q: Query) -> list[SceneKey]:
    """Every hit of ``q``, sorted (for candidate sets up to MATERIALIZE_LIMIT)."""
    if q.keys is not None:
        return _exact(q)
    hits = [
        SceneKey(sat, p, r, day)
        for sat in q.sats
        for p, r in q.pathrows
        for day in catalog.pass_days(sat, p, q.first, q.last)
        if _passes(q, SceneKey(sat, p, r, day))
    ]
    return _sorted(q, hits)


@dataclass
class Walk:
    """Progress of a date-order walk: scenes looked at, hits, and whether it ran out of time."""

    seen: int = 0
    hits: int = 0
    timed_out: bool = False
    done: bool = False


def _by_phase(q: Query) -> dict[int, list[tuple[int, list[tuple[int, int]]]]]:
    """For each day mod 16: (satellite, path/rows) imaged on such days."""
    rows: dict[int, list[tuple[int, int]]] = {}
    for p, r in q.pathrows:
        rows.setdefault(p, []).append((p, r))
    table: dict[int, list[tuple[int, list[tuple[int, int]]]]] = {}
    for sat in q.sats:
        for path, prs in rows.items():
            phase = catalog.pass_days(sat, path, 16, 31).start % 16
            table.setdefault(phase, []).append((sat, prs))
    return table


def walk(q: Query, progress: Walk, deadline: float) -> Iterator[SceneKey]:
    """Hits in date order without materializing (ties: path, row, satellite)."""
    table = _by_phase(q)
    days = range(q.last, q.first - 1, -1) if q.descending else range(q.first, q.last + 1)
    for day in days:
        if q.months and dt.date.fromordinal(day).month not in q.months:
            continue  # a seasonal filter skips whole days
        todays = [
            SceneKey(sat, p, r, day)
            for sat, prs in table.get(day % 16, ())
            if day >= catalog.SATELLITES[sat]
            for p, r in prs
        ]
        todays.sort(key=lambda k: (k.path, k.row, k.sat))
        for key in todays:
            progress.seen += 1
            if progress.seen % _CLOCK_EVERY == 0 and time.monotonic() > deadline:
                progress.timed_out = True
                return
            if _passes(q, key):
                progress.hits += 1
                yield key
    progress.done = True


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


def _share(q: Query, samples: int = 800) -> float:
    """The share of candidates that match, from a fixed pseudo-random sample of them."""
    rng = random.Random(0)
    hits = tried = 0
    for _ in range(samples):
        sat = q.sats[rng.randrange(len(q.sats))]
        path, row = q.pathrows[rng.randrange(len(q.pathrows))]
        days = catalog.pass_days(sat, path, q.first, q.last)
        if days:
            tried += 1
            hits += _passes(q, SceneKey(sat, path, row, days[rng.randrange(len(days))]))
    return hits / tried if tried else 0.0


def _estimate(q: Query, progress: Walk, found: int) -> int:
    if progress.done:
        return progress.hits
    return max(found, int(_candidates(q) * _share(q)))


def _walk_page(q: Query, start: int, size: int) -> tuple[list[SceneKey], int, bool]:
    progress = Walk()
    deadline = time.monotonic() + TIME_LIMIT
    if q.sort != "date":  # sort the first SORT_LIMIT hits of the date walk
        ordered = replace(q, sort="date", descending=True)
        hits = []
        for key in walk(ordered, progress, deadline):
            hits.append(key)
            if len(hits) >= SORT_LIMIT:
                break
        page = _sorted(q, hits)[start - 1 : start - 1 + size]
        return page, _estimate(q, progress, len(hits)), progress.done
    found: list[SceneKey] = []
    for n, key in enumerate(walk(q, progress, deadline), start=1):
        if n >= start:
            found.append(key)
        if len(found) >= size:
            break
    return found, _estimate(q, progress, start - 1 + len(found)), progress.done


def page(
    body: JSON, alias: str, level: int, cat: Catalog, cache: HitCache
) -> tuple[list[SceneKey], int, bool]:
    """(hits on this page, totalHits, exact?) for a scene-search body."""
    try:
        start = max(1, int(body.get("startingNumber") or 1))
        raw_size = body.get("maxResults")
        size = 100 if raw_size is None else int(raw_size)
    except (TypeError, ValueError) as exc:
        raise SearchError("INPUT_PARAMETER_INVALID", f"invalid paging: {exc}") from exc
    if size > MAX_RESULTS or size < 0:
        raise SearchError(
            "INPUT_PARAMETER_INVALID", f"maxResults must be between 0 and {MAX_RESULTS}"
        )
    q = parse_query(body, alias, level, cat)
    if _candidates(q) > MATERIALIZE_LIMIT:
        return _walk_page(q, start, size)
    token = json.dumps(
        [alias, body.get("sceneFilter"), body.get("sortField"), body.get("sortDirection"), q.today],
        sort_keys=True,
        default=str,
    )
    hits = cache.get(token, lambda: materialize(q))
    return hits[start - 1 : start - 1 + size], len(hits), True
