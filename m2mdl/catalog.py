"""A local STAC catalog of what is on disk: ``OUT/catalog.json`` and one item per scene.

Layout (STAC 1.0.0, a "self-contained" catalog: relative links only, no ``self`` links, so
the directory can be moved or copied and still opens)::

    OUT/catalog.json                     Catalog, one ``item`` link per scene
    OUT/<display id>/<display id>.json   Item, next to the scene's files
    OUT/<display id>/<display id>_SR_B4.TIF ...

Each item is based on USGS's STAC item(s) for the product when the caller has them
(Level-2 products have two, ``..._SR`` and ``..._ST``; they are merged): geometry, bbox,
properties (``datetime``, ``eo:cloud_cover``, ``proj:*``, ``view:*``, ``landsat:*``) and per
asset ``eo:bands``, ``file:checksum``, title, type and roles. Without one it is built from
M2M's metadata: the scene's footprint and its bbox, the acquisition date (M2M gives no time of
day: ``T00:00:00Z``), cloud cover, and platform, instruments, WRS path/row, correction level
and tier parsed from the display id.

Assets are the scene's files that exist locally, keyed as USGS keys them (``red``,
``nir08``, ``qa_pixel``, ``MTL.txt``; see :mod:`m2mdl.bands`), with hrefs relative to the
item (``./<file>``, or ``../<file>`` for files of the flat layout) and ``file:size``.
``file:checksum`` is USGS's where published, else the SHA-512 m2mdl computed while writing
the file when the caller passes it.

Runs merge: an existing item keeps the assets of files still on disk and its properties
(USGS-based properties replace M2M-based ones, never the other way round); the catalog keeps
every item link whose item still exists, and picks up items a killed run wrote but did not
link yet. Every file is written atomically (temporary file, fsync, rename, directory fsync),
items first and the catalog last, so after a kill or a full disk both stay valid JSON.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .bands import asset_key, bands_for_display_id
from .layout import check_display_id
from .stac import file_name, format_multihash
from .util.fs import atomic_write_bytes
from .util.jsontypes import JsonMapping, JsonObject, JsonValue

if TYPE_CHECKING:
    from .models import Scene

log = logging.getLogger("m2mdl.catalog")

CATALOG_NAME = "catalog.json"
STAC_VERSION = "1.0.0"
CATALOG_ID = "m2mdl"
EXT = {
    "eo": "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
    "file": "https://stac-extensions.github.io/file/v1.0.0/schema.json",
    "proj": "https://stac-extensions.github.io/projection/v1.0.0/schema.json",
    "view": "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "landsat": "https://landsat.usgs.gov/stac/landsat-extension/v1.1.1/schema.json",
}
#: USGS asset fields copied into local items (hrefs and S3 alternates are not: they point
#: at the remote copy).
ASSET_FIELDS = (
    *("title", "description", "type", "roles", "eo:bands", "file:checksum"),
    *("classification:bitfields", "proj:shape", "proj:transform", "proj:epsg"),
)
_COMMON_NAMES = frozenset(
    {"coastal", "blue", "green", "red", "nir08", "nir09", "swir16", "swir22", "pan"}
    | {"cirrus", "lwir", "lwir11", "lwir12"}
)
_SKIP_SUFFIXES = ("stac.json", ".m2mdl-tmp", ".part", ".part.json")


@dataclass(frozen=True)
class SceneFiles:
    """One scene's local files and what is known about it.

    Attributes:
        display_id: the product id (``LC08_L2SP_068017_20200310_20200822_02_T1``).
        files: paths of its files on disk (any layout).
        usgs_items: USGS STAC items or sidecars of the product (SR and ST for Level-2).
        scene: the M2M scene (search hit), used when there is no USGS item.
        sha512: file name -> SHA-512 hex m2mdl computed, for files USGS gives none for.
    """

    display_id: str
    files: Sequence[Path]
    usgs_items: Sequence[JsonMapping] = ()
    scene: Scene | None = None
    sha512: Mapping[str, str] = field(default_factory=dict)


def item_path(out_dir: Path, display_id: str) -> Path:
    """``OUT/<display id>/<display id>.json``.

    Raises:
        InputError: the display id cannot be a folder name.
    """
    name = check_display_id(display_id)
    return out_dir / name / f"{name}.json"


def _dumps(document: JsonMapping) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _load(path: Path) -> JsonObject | None:
    """A JSON object from ``path``, or None when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- the grid of a local GeoTIFF --------------------------------------------------------------

_TIFF_TYPES = {3: ("H", 2), 4: ("I", 4), 12: ("d", 8), 16: ("Q", 8)}
_WANTED_TAGS = {256, 257, 33550, 33922, 34264, 34735}
_MAX_VALUES = 4096  # far more than any wanted tag holds; bounds reads of hostile files


def _tiff_tags(handle: BinaryIO) -> dict[int, tuple[float, ...]]:
    """The wanted tags of the first IFD of a classic or BigTIFF file (numbers only)."""
    head = handle.read(16)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 16:
        return {}
    (magic,) = struct.unpack(order + "H", head[2:4])
    big = magic == 43
    if magic not in (42, 43):
        return {}
    offset = struct.unpack(order + ("Q" if big else "I"), head[8:16] if big else head[4:8])[0]
    handle.seek(offset)
    count_fmt, entry_fmt, entry_size = ("Q", "HHQ8s", 20) if big else ("H", "HHI4s", 12)
    raw_count = handle.read(8 if big else 2)
    (count,) = struct.unpack(order + count_fmt, raw_count)
    tags: dict[int, tuple[float, ...]] = {}
    for _ in range(min(count, _MAX_VALUES)):
        tag, kind, n, value = struct.unpack(order + entry_fmt, handle.read(entry_size))
        if tag not in _WANTED_TAGS or kind not in _TIFF_TYPES or n > _MAX_VALUES:
            continue
        code, size = _TIFF_TYPES[kind]
        data = value
        if n * size > len(value):
            here = handle.tell()
            handle.seek(struct.unpack(order + ("Q" if big else "I"), value)[0])
            data = handle.read(n * size)
            handle.seek(here)
        tags[tag] = struct.unpack(f"{order}{n}{code}", data[: n * size])
    return tags


def geotiff_grid(path: Path) -> JsonObject:
    """``proj:epsg``, ``proj:shape`` and ``proj:transform`` read from a GeoTIFF's header.

    The local file is the truth for its own grid (USGS's item describes USGS's copy), so
    these go on each TIFF asset. Empty when the file is not a GeoTIFF m2mdl can read.
    """
    try:
        with path.open("rb") as handle:
            tags = _tiff_tags(handle)
    except (OSError, struct.error):
        return {}
    if 256 not in tags or 257 not in tags:
        return {}
    grid: JsonObject = {"proj:shape": [int(tags[257][0]), int(tags[256][0])]}
    keys = tags.get(34735, ())
    geokeys = {
        int(keys[i]): int(keys[i + 3])
        for i in range(4, len(keys) - 3, 4)
        if int(keys[i + 1]) == 0  # the value is inline
    }
    epsg = geokeys.get(3072) or geokeys.get(2048)
    if epsg and epsg != 32767:  # 32767: user-defined, no EPSG code
        grid["proj:epsg"] = epsg
    if 34264 in tags and len(tags[34264]) >= 8:
        m = tags[34264]
        grid["proj:transform"] = [m[0], m[1], m[3], m[4], m[5], m[7]]
    elif 33550 in tags and 33922 in tags and len(tags[33922]) >= 6:
        sx, sy = tags[33550][0], tags[33550][1]
        i, j, _, x, y, _ = tags[33922][:6]
        x0, y0 = x - i * sx, y + j * sy
        if geokeys.get(1025) == 2:  # PixelIsPoint: the tie point is a pixel centre (as GDAL)
            x0, y0 = x0 - sx / 2, y0 + sy / 2
        grid["proj:transform"] = [sx, 0.0, x0, 0.0, -sy, y0]
    return grid if "proj:transform" in grid else {}


# --- building items ---------------------------------------------------------------------------


def _bbox(geometry: JsonMapping | None) -> list[float] | None:
    """[west, south, east, north] of a GeoJSON geometry's coordinates."""
    points: list[tuple[float, float]] = []

    def walk(value: JsonValue) -> None:
        if (
            isinstance(value, (list, tuple))
            and len(value) >= 2
            and all(isinstance(v, (int, float)) for v in value[:2])
        ):
            points.append((float(value[0]), float(value[1])))
        elif isinstance(value, (list, tuple)):
            for child in value:
                walk(child)

    walk((geometry or {}).get("coordinates"))
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [min(xs), min(ys), max(xs), max(ys)]


def _instruments(sensor: str, satellite: str) -> list[str] | None:
    """USGS's ``instruments`` for the sensor letter of a product id (``T`` is TM on
    Landsat 4-5 and TIRS on Landsat 8-9)."""
    if sensor == "T":
        return ["TIRS"] if satellite in {"08", "09"} else ["TM"]
    known = {"C": ["OLI", "TIRS"], "O": ["OLI"], "E": ["ETM"], "M": ["MSS"]}
    return known.get(sensor)


def m2m_properties(display_id: str, scene: Scene | None) -> JsonObject:
    """Item properties from M2M's metadata and the display id (no USGS item at hand)."""
    parts = display_id.split("_")
    props: JsonObject = {}
    if scene is not None and scene.acquired is not None:
        props["datetime"] = f"{scene.acquired.isoformat()}T00:00:00Z"
    elif len(parts) >= 4 and len(parts[3]) == 8 and parts[3].isdigit():
        d = parts[3]
        props["datetime"] = f"{d[:4]}-{d[4:6]}-{d[6:]}T00:00:00Z"
    else:
        props["datetime"] = None
    if scene is not None and scene.cloud_cover is not None:
        props["eo:cloud_cover"] = scene.cloud_cover
    if len(parts) >= 7 and len(parts[0]) == 4:
        sat = parts[0][2:]
        props["platform"] = f"LANDSAT_{int(sat)}" if sat.isdigit() else None
        props["instruments"] = _instruments(parts[0][1], sat)
        props["landsat:correction"] = parts[1]
        props["landsat:wrs_path"], props["landsat:wrs_row"] = parts[2][:3], parts[2][3:]
        props["landsat:collection_number"] = parts[5]
        props["landsat:collection_category"] = parts[6]
    if scene is not None and scene.entity_id:
        props["landsat:scene_id"] = scene.entity_id
    return {k: v for k, v in props.items() if v is not None or k == "datetime"}


def _usgs_assets(items: Iterable[JsonMapping]) -> dict[str, JsonMapping]:
    """File name -> USGS asset, over all the product's items (first one wins)."""
    out: dict[str, JsonMapping] = {}
    for item in items:
        assets = item.get("assets")
        for asset in assets.values() if isinstance(assets, Mapping) else ():
            name = file_name(asset.get("href")) if isinstance(asset, Mapping) else None
            if name:
                out.setdefault(name, asset)
    return out


def _media_type(name: str) -> tuple[str, list[str]]:
    lower = name.lower()
    if lower.endswith((".tif", ".tiff")):
        return "image/tiff; application=geotiff", ["data"]
    if lower.endswith(".jpeg") or lower.endswith(".jpg"):
        role = "thumbnail" if "thumb_small" in lower else "overview"
        return "image/jpeg", [role]
    if lower.endswith(".xml"):
        return "application/xml", ["metadata"]
    if lower.endswith(".json"):
        return "application/json", ["metadata"]
    return "text/plain", ["metadata"]


def _asset(
    display_id: str,
    path: Path,
    item_dir: Path,
    usgs: JsonMapping | None,
    sha512: str | None,
) -> JsonObject:
    """One local asset: USGS's description of the file, our href and size."""
    asset: JsonObject = {}
    if usgs is not None:
        asset.update({k: usgs[k] for k in ASSET_FIELDS if k in usgs})
    if "type" not in asset or "roles" not in asset:
        media, roles = _media_type(path.name)
        asset.setdefault("type", media)
        asset.setdefault("roles", roles)
    key = asset_key(display_id, path.name)
    if "eo:bands" not in asset and key in _COMMON_NAMES:
        band = next((b for b in bands_for_display_id(display_id) if b.key == key), None)
        asset["eo:bands"] = [{"name": (band.short if band else None) or key, "common_name": key}]
    if path.name.lower().endswith((".tif", ".tiff")):
        asset.update(geotiff_grid(path))
    if "file:checksum" not in asset and sha512:
        asset["file:checksum"] = format_multihash(sha512)
    asset["href"] = Path(os.path.relpath(path, item_dir)).as_posix()
    if not asset["href"].startswith("../"):
        asset["href"] = "./" + asset["href"]
    asset["file:size"] = path.stat().st_size
    return asset


def _base_item(display_id: str, files: SceneFiles) -> JsonObject:
    """Geometry, bbox and properties from USGS when possible, else from M2M."""
    usgs = next((i for i in files.usgs_items if isinstance(i.get("properties"), Mapping)), None)
    props = m2m_properties(display_id, files.scene)
    geometry: JsonMapping | None = files.scene.footprint if files.scene else None
    extensions = {EXT["eo"], EXT["file"], EXT["landsat"]}
    if usgs is not None:
        props.update(usgs["properties"])
        geometry = usgs.get("geometry") or geometry
        extensions.update(
            e for e in usgs.get("stac_extensions") or [] if isinstance(e, str) and "://" in e
        )
    for key in props:
        prefix = key.split(":", 1)[0]
        if prefix in EXT:
            extensions.add(EXT[prefix])
    for gone in ("created", "updated"):  # they describe USGS's record, not this one
        props.pop(gone, None)
    item: JsonObject = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": sorted(extensions),
        "id": display_id,
        "geometry": dict(geometry) if geometry else None,
        "properties": props,
        "links": [],
        "assets": {},
    }
    bbox = (usgs or {}).get("bbox") or _bbox(geometry)
    if geometry and bbox:
        item["bbox"] = list(bbox)
    return item


def sidecars(paths: Iterable[Path]) -> list[JsonObject]:
    """The STAC 1.0.0 sidecars (``*_stac.json``) among a scene's files, e.g. from an
    extracted bundle; older sidecar versions use another vocabulary and are left out."""
    found = []
    for path in sorted(paths, key=lambda p: p.name):
        if path.name.endswith("stac.json"):
            document = _load(path)
            if document and document.get("stac_version") == STAC_VERSION:
                found.append(document)
    return found


def build_item(out_dir: Path, files: SceneFiles) -> JsonObject:
    """The STAC item of one scene's local files (not merged with an earlier one).

    Without USGS items from the caller, the scene's own sidecars on disk are used.
    """
    display_id = files.display_id
    item_dir = item_path(out_dir, display_id).parent
    if not files.usgs_items:
        files = replace(files, usgs_items=sidecars(files.files))
    item = _base_item(display_id, files)
    usgs_assets = _usgs_assets(files.usgs_items)
    for path in sorted(files.files, key=lambda p: p.name):
        if path.name.endswith(_SKIP_SUFFIXES) or not path.is_file():
            continue
        key = asset_key(display_id, path.name)
        item["assets"][key] = _asset(
            display_id, path, item_dir, usgs_assets.get(path.name), files.sha512.get(path.name)
        )
    if any(k.startswith("proj:") for a in item["assets"].values() for k in a):
        item["stac_extensions"] = sorted({*item["stac_extensions"], EXT["proj"]})
    item["links"] = [
        {"rel": "root", "href": f"../{CATALOG_NAME}", "type": "application/json"},
        {"rel": "parent", "href": f"../{CATALOG_NAME}", "type": "application/json"},
    ]
    return item


def _present(item_dir: Path, asset: JsonMapping) -> bool:
    href = asset.get("href")
    return isinstance(href, str) and (item_dir / href).is_file()


def merge_items(old: JsonMapping | None, new: JsonObject, item_dir: Path) -> JsonObject:
    """``new`` plus what ``old`` had that still holds (assets of files still on disk).

    Properties: USGS-based (new or old) beat M2M-based; between two USGS-based ones, the
    newer wins.
    """
    if not old:
        return new
    old_props = old.get("properties") if isinstance(old.get("properties"), Mapping) else {}
    assert isinstance(old_props, Mapping)
    new_props = new["properties"]
    new_is_usgs = "proj:epsg" in new_props or "view:sun_azimuth" in new_props
    new["properties"] = {**old_props, **new_props} if new_is_usgs else {**new_props, **old_props}
    if not new.get("geometry") and old.get("geometry"):
        new["geometry"], new["bbox"] = old["geometry"], old.get("bbox")
    extensions = set(new["stac_extensions"]) | set(old.get("stac_extensions") or [])
    new["stac_extensions"] = sorted(e for e in extensions if isinstance(e, str))
    old_assets = old.get("assets") if isinstance(old.get("assets"), Mapping) else {}
    assert isinstance(old_assets, Mapping)
    for key, asset in old_assets.items():
        if key not in new["assets"] and isinstance(asset, Mapping) and _present(item_dir, asset):
            new["assets"][key] = dict(asset)
    new["assets"] = dict(sorted(new["assets"].items()))
    return new


# --- writing ----------------------------------------------------------------------------------


def write_item(out_dir: Path, files: SceneFiles) -> Path:
    """Build, merge with the existing item, and write it atomically; return its path.

    Raises:
        DiskFull: the disk is full (the previous item file stays as it was).
    """
    path = item_path(out_dir, files.display_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    item = merge_items(_load(path), build_item(out_dir, files), path.parent)
    atomic_write_bytes(path, _dumps(item))
    return path


def _is_item(path: Path) -> bool:
    data = _load(path)
    return data is not None and data.get("type") == "Feature" and data.get("id") == path.stem


def _scan_items(out_dir: Path, known: Iterable[str]) -> list[str]:
    """Item hrefs (``./<id>/<id>.json``) on disk but not in ``known``, e.g. written by a
    killed run (only those are parsed, so a large catalog costs one directory listing)."""
    skip = set(known)
    found = []
    for child in out_dir.iterdir() if out_dir.is_dir() else ():
        href = f"./{child.name}/{child.name}.json"
        if href in skip or not child.is_dir():
            continue
        candidate = child / f"{child.name}.json"
        if candidate.is_file() and _is_item(candidate):
            found.append(href)
    return found


def write_catalog(out_dir: Path, display_ids: Iterable[str] = ()) -> Path:
    """Write ``OUT/catalog.json`` linking every item on disk; never drops an earlier link
    whose item still exists.

    Raises:
        DiskFull: the disk is full (the previous catalog stays as it was).
    """
    path = out_dir / CATALOG_NAME
    old = _load(path) or {}
    hrefs: dict[str, None] = {}
    other_links: list[JsonObject] = []
    for link in old.get("links") or []:
        if not isinstance(link, dict):
            continue
        if link.get("rel") == "item":
            href = str(link.get("href") or "")
            if (out_dir / href).is_file():
                hrefs[href] = None
        elif link.get("rel") not in {"root", "self"}:
            other_links.append(link)
    for href in _scan_items(out_dir, hrefs) + [f"./{d}/{d}.json" for d in display_ids]:
        if (out_dir / href).is_file():
            hrefs[href] = None
    catalog = {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": str(old.get("id") or CATALOG_ID),
        "title": str(old.get("title") or "Landsat scenes downloaded by m2mdl"),
        "description": str(
            old.get("description")
            or "Landsat Collection 2 scenes downloaded with m2mdl; one item per scene, "
            "next to its files."
        ),
        "links": [
            {"rel": "root", "href": f"./{CATALOG_NAME}", "type": "application/json"},
            *other_links,
            *(
                {"rel": "item", "href": href, "type": "application/geo+json"}
                for href in sorted(hrefs)
            ),
        ],
    }
    atomic_write_bytes(path, _dumps(catalog))
    return path


def update_catalog(out_dir: Path, scenes: Iterable[SceneFiles]) -> Path:
    """Write (merge) every scene's item, then the catalog; return the catalog's path.

    Raises:
        DiskFull: the disk is full; what was written before stays valid.
    """
    written = []
    for files in scenes:
        if files.files:  # an item describes local files; a scene without any gets none
            write_item(out_dir, files)
            written.append(files.display_id)
    return write_catalog(out_dir, written)
