"""Metadata filters: the dataset-filters answer, predicates and the key space they bound.

The filter fields and ids are the real ones where recorded (landsat_ot_c2_l2 2024,
landsat_ot_c2_l1 2025; docs/sandbox.md, "Metadata filters"); the TM/ETM datasets get the same
fields with generated ids. ``fieldConfig`` follows the recorded dataset-filters answer
(tests/data/m2m-real/kapadia-2021-dataset-fields.json): Text fields carry
``options {"size": "45"}`` and ``numElements "5"`` (a string), Select fields
``options {"size": "4", "multiple": true}``, Range fields ``options []``.

A metadataFilter tree becomes a predicate over scenes plus :class:`Bounds`, a superset of
the matching scenes (exact ids, path/row/satellite/date ranges) that lets scene-search
enumerate only what can match: a search by entity or display id touches one scene.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from m2mdl.sandbox import catalog, datasets, metadata
from m2mdl.sandbox.catalog import SceneKey

from .jsontypes import JSON

Predicate = Callable[[SceneKey], bool]


@dataclass(frozen=True)
class FilterDef:
    """One metadata filter field: id, label, type, the scene attribute it tests, SQL, anchor."""

    filter_id: str
    label: str
    kind: str  # "Text" | "Range" | "Select"
    attr: str  # a name metadata.attribute() knows
    sql: str
    anchor: str


_CLOUD = {"": "All", **{str(n): f"Less than {n}%" for n in range(10, 101, 10)}}
VALUE_LISTS: dict[str, JSON] = {
    "tier": {"": "All", "T1": "Tier 1", "T2": "Tier 2", "RT": "Real-Time"},
    "satellite": {"": "All", "8": "8", "9": "9"},
    "sensor": {"": "All", "OLI": "OLI", "OLI_TIRS": "OLI_TIRS", "TIRS": "TIRS"},
    "nadir": {"": "All", "NADIR": "Nadir", "OFFNADIR": "Off Nadir"},
    "day_night": {"": "All", "DAY": "Day", "NIGHT": "Night"},
    "data_type_l1": {"": "All", "L1TP": "Level 1TP", "L1GT": "Level 1GT", "L1GS": "Level 1GS"},
    "cloud": _CLOUD,
    "quality": {"": "All", **{str(n): str(n) for n in range(9, -1, -1)}},
}
#: Attributes every sandbox scene shares (OLI/TIRS, daytime, L1TP): other values match nothing.
CONSTANT = {"sensor": "OLI_TIRS", "day_night": "DAY", "data_type_l1": "L1TP"}
_DISPLAY_LISTS = {"tier": "2837", "sensor": "2773", "nadir": "2768", "day_night": "2836"}


def _f(fid: str, label: str, kind: str, attr: str, sql: str, anchor: str) -> FilterDef:
    return FilterDef(fid, label, kind, attr, sql, anchor)


def _ot_l2() -> tuple[FilterDef, ...]:
    return (
        _f("5e83d14f567d0086", "Landsat Product Identifier L2", "Text", "display_id",
           "EE_DISPLAY_ID like ?", "landsat_product_id"),
        _f("5e83d14f227b0d85", "Landsat Product Identifier L1", "Text", "display_id_l1",
           "L1_DISPLAY_ID like ?", "landsat_product_id"),
        _f("5e83d14fc84c9a78", "Landsat Scene Identifier", "Text", "entity_id",
           "ENTITY_ID like ?", "landsat_scene_id"),
        _f("5e83d14fb9436d88", "WRS Path", "Range", "path", "WRS_PATH between ?", "wrs_path"),
        _f("5e83d14ff1eda1b8", "WRS Row", "Range", "row", "WRS_ROW between ?", "wrs_row"),
        _f("61af9273566bb9a8", "Satellite", "Select", "satellite", "SATELLITE = ?", "satellite"),
        _f("5e83d14fc6e09eb6", "Sensor Identifier", "Select", "sensor", "SENSOR_ID = ?",
           "sensor_id"),
        _f("5f6aa429b870fd7f", "Nadir/Off Nadir", "Select", "nadir", "NADIR_OFFNADIR = ?",
           "nadir_offnadir"),
        _f("5f6a6fb2137a3c00", "Collection Category", "Select", "tier",
           "COLLECTION_CATEGORY = ?", "collection_category"),
        _f("5f6a6f82795f1b6c", "Date Product Generated L2", "Range", "date_l2",
           "to_char(DATE_L2_GENERATED,'YYYY/MM/DD') between ?", "date_product_generated"),
        _f("5e83d14fd1d0a167", "Date Product Generated L1", "Range", "date_l1",
           "to_char(DATE_L1_GENERATED,'YYYY/MM/DD') between ?", "date_product_generated"),
        _f("628541043da7b4c1", "Image Quality", "Select", "quality", "IMAGE_QUALITY = ?",
           "image_quality"),
    )  # fmt: skip


def _ot_l1() -> tuple[FilterDef, ...]:
    return (
        _f("5e81f14fe3c40983", "Landsat Product Identifier L1", "Text", "display_id",
           "EE_DISPLAY_ID like ?", "landsat_product_id"),
        _f("5e81f14fbba2e223", "Landsat Scene Identifier", "Text", "entity_id",
           "ENTITY_ID like ?", "landsat_scene_id"),
        _f("5e81f14f8faf8048", "WRS Path", "Range", "path", "WRS_PATH between ?", "wrs_path"),
        _f("5e81f14f8d2a7c24", "WRS Row", "Range", "row", "WRS_ROW between ?", "wrs_row"),
        _f("61af93b8fad2acf5", "Satellite", "Select", "satellite", "SATELLITE = ?", "satellite"),
        _f("5e81f14f85d499dc", "Sensor Identifier", "Select", "sensor", "SENSOR_ID = ?",
           "sensor_id"),
        _f("5e81f14f61bda7c4", "Day/Night Indicator", "Select", "day_night", "DAY_NIGHT = ?",
           "day_or_night"),
        _f("5e81f150e42bc489", "Nadir/Off Nadir", "Select", "nadir", "NADIR_OFFNADIR = ?",
           "nadir_offnadir"),
        _f("5e81f14fcf660794", "Data Type L1", "Select", "data_type_l1",
           "RIGHT(DATA_TYPE_L1, 4) = ?", "data_type_l1"),
        _f("5e81f14fff5055a3", "Collection Category", "Select", "tier",
           "COLLECTION_CATEGORY = ?", "collection_category"),
        _f("5f6aa1a4e0985d4c", "Land Cloud Cover", "Select", "cloud", "CLOUD_COVER_LAND <= ?",
           "cloud_cover_land"),
        _f("5e81f14f7ba8d2b5", "Date Product Generated L1", "Range", "date_l1",
           "to_char(DATE_L1_GENERATED,'YYYY/MM/DD') between ?", "date_product_generated"),
        _f("5e81f14f3b3a6e21", "Image Quality", "Select", "quality", "IMAGE_QUALITY = ?",
           "image_quality"),
    )  # fmt: skip


def _generated(alias: str, base: tuple[FilterDef, ...]) -> tuple[FilterDef, ...]:
    """The same fields for a dataset whose real ids are not recorded (UNCERTAIN ids)."""
    return tuple(
        replace(f, filter_id=f"{int(catalog.unit_hash('filter', alias, f.label) * 2**64):016x}")
        for f in base
    )


FILTERS: dict[str, tuple[FilterDef, ...]] = {
    datasets.L2: _ot_l2(),
    datasets.L1: _ot_l1(),
    "landsat_etm_c2_l2": _generated("landsat_etm_c2_l2", _ot_l2()),
    "landsat_etm_c2_l1": _generated("landsat_etm_c2_l1", _ot_l1()),
    "landsat_tm_c2_l2": _generated("landsat_tm_c2_l2", _ot_l2()),
    "landsat_tm_c2_l1": _generated("landsat_tm_c2_l1", _ot_l1()),
}
_SENSORS = {
    "landsat_etm_c2_l2": {"": "All", "ETM": "ETM"},
    "landsat_etm_c2_l1": {"": "All", "ETM": "ETM"},
    "landsat_tm_c2_l2": {"": "All", "TM": "TM"},
    "landsat_tm_c2_l1": {"": "All", "TM": "TM"},
}


def _field_config(f: FilterDef) -> JSON:
    if f.kind == "Text":
        return {
            "type": "Text",
            "filters": [
                {"type": "StringToUpper", "options": []},
                {"type": "Application\\Filter\\Like", "options": []},
            ],
            "options": {"size": "30" if f.attr == "entity_id" else "45"},
            "validators": [],
            "numElements": "5",
            "displayListId": None,
        }
    if f.kind == "Range":
        return {
            "type": "Range",
            "filters": [],
            "options": [],
            "validators": [],
            "numElements": 1,
            "displayListId": None,
        }
    if f.attr == "cloud":  # recorded without numElements and with empty options
        return {
            "type": "Select",
            "filters": [],
            "options": {},
            "validators": [],
            "displayListId": "2830",
        }
    upper = f.attr in ("sensor", "nadir", "day_night")
    return {
        "type": "Select",
        "filters": [{"type": "StringToUpper", "options": []}] if upper else [],
        "options": {"size": "4", "multiple": True},
        "validators": [],
        "numElements": 1,
        "displayListId": _DISPLAY_LISTS.get(f.attr, "2830"),
    }


def records(alias: str) -> list[JSON]:
    """The dataset-filters answer for a dataset (empty for datasets without filters)."""
    out: list[JSON] = []
    for f in FILTERS.get(alias, ()):
        rec: JSON = {
            "id": f.filter_id,
            "legacyFieldId": None,
            "dictionaryLink": f"{metadata.DICTIONARY}#{f.anchor}",
            "fieldConfig": _field_config(f),
            "fieldLabel": f.label,
            "searchSql": f.sql,
        }
        if f.attr in VALUE_LISTS:
            values = _SENSORS.get(alias) if f.attr == "sensor" else None
            rec["valueList"] = copy.deepcopy(values or VALUE_LISTS[f.attr])
        out.append(rec)
    return out


class FilterError(ValueError):
    """A metadataFilter the server rejects."""


Range = tuple[int, int]


@dataclass(frozen=True)
class Bounds:
    """A superset of the scenes a filter can match. ``None`` fields are unbounded."""

    keys: frozenset[SceneKey] | None = None
    sats: frozenset[int] | None = None
    paths: Range | None = None
    rows: Range | None = None
    days: Range | None = None


EVERYTHING = Bounds()


def _meet(a: Range | None, b: Range | None) -> Range | None:
    if a is None or b is None:
        return a or b
    return max(a[0], b[0]), min(a[1], b[1])


def _join(a: Range | None, b: Range | None) -> Range | None:
    if a is None or b is None:
        return None
    return min(a[0], b[0]), max(a[1], b[1])


def _hull(b: Bounds) -> Bounds:
    """Fill the ranges of ``b`` from its exact keys (so an "or" can join them)."""
    if b.keys is None or not b.keys:
        return b
    ks = b.keys
    return Bounds(
        ks,
        frozenset(k.sat for k in ks),
        (min(k.path for k in ks), max(k.path for k in ks)),
        (min(k.row for k in ks), max(k.row for k in ks)),
        (min(k.day for k in ks), max(k.day for k in ks)),
    )


def both(a: Bounds, b: Bounds) -> Bounds:
    """Scenes that can match both."""
    keys = a.keys if b.keys is None else b.keys if a.keys is None else a.keys & b.keys
    sats = a.sats if b.sats is None else b.sats if a.sats is None else a.sats & b.sats
    return Bounds(keys, sats, _meet(a.paths, b.paths), _meet(a.rows, b.rows), _meet(a.days, b.days))


def either(a: Bounds, b: Bounds) -> Bounds:
    """Scenes that can match one of them."""
    a, b = _hull(a), _hull(b)
    keys = None if a.keys is None or b.keys is None else a.keys | b.keys
    sats = None if a.sats is None or b.sats is None else a.sats | b.sats
    return Bounds(keys, sats, _join(a.paths, b.paths), _join(a.rows, b.rows), _join(a.days, b.days))


_ENTITY_ANY = re.compile(r"LC([89])(\d{3})(\d{3})(\d{4})(\d{3})")
_DISPLAY_ANY = re.compile(r"LC0([89])_L[12]\w\w_(\d{3})(\d{3})_(\d{8})")
_PATHROW_ANY = re.compile(r"_(\d{3})(\d{3})_")


def _day_of(year: int, doy: int) -> int | None:
    try:
        return dt.date(year, 1, 1).toordinal() + doy - 1
    except ValueError:
        return None


def _text_bounds(attr: str, pattern: str) -> Bounds:
    """Bounds implied by an id pattern: a whole id names one scene; a fragment a path/row."""
    text = pattern.upper()
    if attr == "entity_id":
        m = _ENTITY_ANY.search(text)
        if m:
            sat, path, row, year, doy = (int(g) for g in m.groups())
            day = _day_of(year, doy)
            if day is not None:
                return Bounds(frozenset({SceneKey(sat, path, row, day)}))
        return EVERYTHING
    m = _DISPLAY_ANY.search(text)
    if m:
        try:
            day = dt.datetime.strptime(m.group(4), "%Y%m%d").date().toordinal()
        except ValueError:
            return EVERYTHING
        return Bounds(frozenset({SceneKey(int(m.group(1)), int(m.group(2)), int(m.group(3)), day)}))
    m = _PATHROW_ANY.search(text)
    if m:
        path, row = int(m.group(1)), int(m.group(2))
        return Bounds(paths=(path, path), rows=(row, row))
    return EVERYTHING


def _processed_bounds(lo: str, hi: str) -> Bounds:
    """Acquisition days of products processed in [lo, hi] (YYYY/MM/DD).

    A product is processed on or after its acquisition, and at most ``catalog.MAX_LAG`` days
    later unless it was acquired before the Collection 2 reprocessing.
    """
    first = dt.datetime.strptime(lo, "%Y/%m/%d").date().toordinal()
    last = dt.datetime.strptime(hi, "%Y/%m/%d").date().toordinal()
    start = first - catalog.MAX_LAG if first > catalog.REPROCESSED_UNTIL else 0
    return Bounds(days=(start, last))


def _number(value: object) -> float:
    return float(str(value).strip())


def _numeric_bounds(attr: str, lo: float, hi: float) -> Bounds:
    rng = (int(lo) if lo == int(lo) else int(lo) + 1, int(hi))
    if attr == "path":
        return Bounds(paths=rng)
    if attr == "row":
        return Bounds(rows=rng)
    if attr == "satellite":
        return Bounds(sats=frozenset(s for s in (8, 9) if lo <= s <= hi))
    return EVERYTHING


def _date_text(value: object) -> str:
    """``2020/08/22`` from ``2020-08-22``, ``2020/08/22`` or ``2020-08-22 00:00:00``."""
    text = str(value).strip()[:10].replace("-", "/")
    try:
        dt.datetime.strptime(text, "%Y/%m/%d")
    except ValueError as exc:
        raise FilterError(f"invalid date {value!r}") from exc
    return text


def leaf(
    spec: JSON, defs: dict[str, FilterDef], attr_of: Callable[[SceneKey, str], str], today: int
) -> tuple[Predicate, Bounds]:
    """Predicate and bounds of one value/between filter."""
    fdef = defs.get(str(spec.get("filterId")))
    if fdef is None:
        # a foreign or unknown filterId matches nothing, without an error (metadata-filter
        # notebook)
        return (lambda key: False), Bounds(keys=frozenset())
    attr = fdef.attr
    kind = str(spec.get("filterType", "value")).lower()
    dates = attr.startswith("date_")
    if kind == "between":
        first, second = spec.get("firstValue"), spec.get("secondValue")
        if dates:
            lo_s, hi_s = _date_text(first), _date_text(second)
            return (lambda key: lo_s <= attr_of(key, attr) <= hi_s), _processed_bounds(lo_s, hi_s)
        lo, hi = _number(first), _number(second)
        return (lambda key: lo <= float(attr_of(key, attr)) <= hi), _numeric_bounds(attr, lo, hi)
    value = str(spec.get("value", "")).strip()
    if value == "":
        return (lambda key: True), EVERYTHING
    if dates:
        day_text = _date_text(value)
        bounds = _processed_bounds(day_text, day_text)
        return (lambda key: attr_of(key, attr) == day_text), bounds
    if attr == "tier" and value.upper() == "RT":
        return (lambda key: attr_of(key, attr) == "RT"), Bounds(
            days=(today - catalog.RT_DAYS, today)
        )
    if (
        fdef.kind == "Range" or attr == "satellite"
    ):  # a value on a Range field is equality (notebook)
        num = _number(value)
        return (lambda key: float(attr_of(key, attr)) == num), _numeric_bounds(attr, num, num)
    if attr == "cloud":  # "CLOUD_COVER_LAND <= ?"
        limit = _number(value)
        return (lambda key: float(attr_of(key, attr)) <= limit), EVERYTHING
    if fdef.kind == "Text" or str(spec.get("operand", "")).lower() == "like":
        pattern = value.upper().replace("%", "")
        return (lambda key: pattern in attr_of(key, attr).upper()), _text_bounds(attr, pattern)
    upper = value.upper()
    if attr in CONSTANT and CONSTANT[attr] != upper:
        return (lambda key: False), Bounds(keys=frozenset())  # no scene has that value
    return (lambda key: attr_of(key, attr).upper() == upper), EVERYTHING


def tree(
    spec: object, defs: dict[str, FilterDef], attr_of: Callable[[SceneKey, str], str], today: int
) -> tuple[Predicate, Bounds]:
    """Predicate and bounds of a metadataFilter tree (value / between / and / or)."""
    if not isinstance(spec, dict):
        raise FilterError("metadataFilter must be an object")
    kind = str(spec.get("filterType", "")).lower()
    if kind in ("and", "or"):
        children = [tree(c, defs, attr_of, today) for c in spec.get("childFilters") or []]
        preds = [p for p, _ in children]
        if not children:
            return (lambda key: True), EVERYTHING
        bounds = children[0][1]
        for _, b in children[1:]:
            bounds = both(bounds, b) if kind == "and" else either(bounds, b)
        if kind == "and":
            return (lambda key: all(p(key) for p in preds)), bounds
        return (lambda key: any(p(key) for p in preds)), bounds
    try:
        return leaf(spec, defs, attr_of, today)
    except (TypeError, ValueError) as exc:
        raise FilterError(f"invalid metadataFilter: {exc}") from exc


def predicate(alias: str, spec: object, level: int, today: int) -> tuple[Predicate, Bounds]:
    """The metadataFilter of a scene-search on ``alias`` as predicate + bounds."""
    defs = {f.filter_id: f for f in FILTERS.get(alias, ())}

    def attr_of(key: SceneKey, attr: str) -> str:
        return metadata.attribute(key, attr, level, today)

    return tree(spec, defs, attr_of, today)
