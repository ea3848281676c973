"""STAC documents of the sandbox catalogue: API items, bundle sidecars, collections.

Items are built on demand from a product identifier; nothing is stored. Hrefs are the
download host's paths (``<host>/data/collection02/...``), the same paths the signed M2M
URLs use, without the signature (docs/design.md, "STAC and checksums"); ``alternate.s3``
swaps ``<host>/data/`` for ``s3://usgs-landsat/`` as in every recorded document.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable

from m2mdl.sandbox import catalog, grid
from m2mdl.sandbox.catalog import SceneKey
from m2mdl.sandbox.checksums import Checksums
from m2mdl.sandbox.config import Faults
from m2mdl.sandbox.products import Catalog
from m2mdl.sandbox.stac_assets import ASSETS, OLI_BANDS, AssetDef

from .jsontypes import JSON

STAC_VERSION = "1.0.0"
FILE_EXTENSION = "https://stac-extensions.github.io/file/v1.0.0/schema.json"
_EXTENSIONS = (
    "https://landsat.usgs.gov/stac/landsat-extension/v1.1.1/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.0.0/schema.json",
    FILE_EXTENSION,
    "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
    "https://stac-extensions.github.io/alternate-assets/v1.1.0/schema.json",
    "https://stac-extensions.github.io/storage/v1.0.0/schema.json",
)
#: collection id → (STAC kind, title)
COLLECTIONS: dict[str, tuple[str, str]] = {
    "landsat-c2l1": ("L1", "Landsat Collection 2 Level-1 Product"),
    "landsat-c2l2-sr": (
        "SR",
        "Landsat Collection 2 Level-2 UTM Surface Reflectance (SR) Product",
    ),
    "landsat-c2l2-st": (
        "ST",
        "Landsat Collection 2 Level-2 UTM Surface Temperature (ST) Product",
    ),
}
COLLECTION_OF = {kind: cid for cid, (kind, _) in COLLECTIONS.items()}
_PRODUCT = {
    "SR": ("Level-2", "Surface Reflectance"),
    "ST": ("Level-2", "Surface Temperature"),
    "L1": ("Level-1", "Top of Atmosphere Radiance"),
}
_REFERENCE = {"SR": "SR_B4.TIF", "ST": "ST_B10.TIF", "L1": "B4.TIF"}


def item_id(display_id: str, kind: str) -> str:
    """``<product id>_SR`` / ``_ST`` for Level-2, the bare product id for Level-1."""
    return display_id if kind == "L1" else f"{display_id}_{kind}"


def kind_level(kind: str) -> int:
    """The M2M product level of a STAC kind: 1 for ``L1``, 2 for ``SR`` and ``ST``."""
    return 1 if kind == "L1" else 2


def parse_item_id(text: str) -> tuple[str, str]:
    """(product id, kind) of an item id (not checked against the catalogue)."""
    if text.endswith(("_SR", "_ST")):
        return text[:-3], text[-2:]
    return text, "L1"


def sidecar_kind(file_name: str) -> str | None:
    """The kind of a ``*_stac.json`` bundle member, or None for other files."""
    if file_name.endswith("_SR_stac.json"):
        return "SR"
    if file_name.endswith("_ST_stac.json"):
        return "ST"
    return "L1" if file_name.endswith("_stac.json") else None


def sidecar_name(display_id: str, kind: str) -> str:
    """``<id>_SR_stac.json`` / ``<id>_ST_stac.json`` / ``<id>_stac.json``."""
    return f"{item_id(display_id, kind)}_stac.json"


def acquired(key: SceneKey) -> dt.datetime:
    """Scene centre time: about 10:10 local solar time (UTC date kept as acquired)."""
    center_lon = catalog.footprint(key.path, key.row)
    lon = sum(p[0] for p in center_lon) / len(center_lon)
    hours = (10.17 - lon / 15.0 + catalog.unit_hash("t", *key) * 0.05) % 24.0
    return dt.datetime.combine(
        dt.date.fromordinal(key.day), dt.time(), dt.timezone.utc
    ) + dt.timedelta(hours=hours)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class StacDocs:
    """Builds items and sidecars; ``base`` returns the download host's URL base."""

    def __init__(
        self,
        cat: Catalog,
        checksums: Checksums,
        faults: Faults,
        base: Callable[[], str],
        stac_base: Callable[[], str],
    ) -> None:
        self.cat = cat
        self.checksums = checksums
        self.faults = faults
        self._base = base
        self._stac_base = stac_base

    def lookup(self, item: str) -> tuple[SceneKey, str, str] | None:
        """(scene, product id, kind) of an item id in the catalogue, or None."""
        display, kind = parse_item_id(item)
        parsed = catalog.parse_display_id(display, self.cat.today)
        if parsed is None or parsed[1] != kind_level(kind):
            return None
        return parsed[0], display, kind

    def checksum(self, name: str) -> str | None:
        """The published ``file:checksum`` of a file, after the checksum faults."""
        if self.faults.stac_no_checksums:
            return None
        value = self.checksums.get(name)
        pattern = self.faults.wrong_checksum
        if value is not None and pattern is not None and fnmatch.fnmatchcase(name, pattern):
            value = value[:-1] + ("0" if value[-1] != "0" else "1")
        return value

    def _asset(self, a: AssetDef, key: SceneKey, display: str, kind: str) -> JSON:
        level = kind_level(kind)
        base = self._base().rstrip("/")
        folder = self.cat.folder(key, level, display)
        lvl, what = _PRODUCT[kind]
        out: JSON = {"title": a.title}
        if a.suffix is None:
            path = folder.replace("data/", "stac-browser/", 1) + "/" + display
            out.update(type=a.media_type, roles=list(a.roles), href=f"{base}/{path}")
            return out
        name = f"{display}_{a.suffix}"
        if a.media_type != "image/jpeg":  # recorded thumbnails have no description
            out["description"] = f"Collection 2 {lvl} {a.title}" + (
                f" {what}" if a.media_type.startswith("image/vnd") else ""
            )
        out.update(type=a.media_type, roles=list(a.roles))
        if a.band is not None:
            band, wavelength, _ = OLI_BANDS[a.band]
            gsd = 15 if band == "B8" else 100 if band in ("B10", "B11") else 30
            out["eo:bands"] = [
                {"name": band, "common_name": a.band, "gsd": gsd, "center_wavelength": wavelength}
            ]
        if a.suffix.endswith(".TIF"):
            sizes = dict(self.cat.layout(key, level).members)
            g = grid.grid(key.path, key.row, name, sizes)
            if g.pixel != 30.0:  # the item's proj:* describe the 30 m grid; pan differs
                out.update({"proj:shape": g.shape, "proj:transform": g.transform})
        out["href"] = f"{base}/{folder}/{name}"
        out["alternate"] = {
            "s3": {
                "storage:platform": "AWS",
                "storage:requester_pays": True,
                "href": "s3://usgs-landsat/" + folder.removeprefix("data/") + "/" + name,
            }
        }
        checksum = self.checksum(name)
        if checksum is not None:
            out["file:checksum"] = checksum
        return out

    def _properties(self, key: SceneKey, display: str, kind: str) -> JSON:
        level = kind_level(kind)
        ref = f"{display}_{_REFERENCE[kind]}"
        g = grid.grid(key.path, key.row, ref, dict(self.cat.layout(key, level).members))
        cloud = float(catalog.cloud_cover(key))
        sun = catalog.unit_hash("sun", *key)
        return {
            "datetime": _iso(acquired(key)),
            "eo:cloud_cover": cloud,
            "view:sun_azimuth": round(120.0 + 60.0 * sun, 8),
            "view:sun_elevation": round(15.0 + 50.0 * catalog.unit_hash("elev", *key), 8),
            "platform": f"LANDSAT_{key.sat}",
            "instruments": ["OLI", "TIRS"],
            "view:off_nadir": 0,
            "landsat:cloud_cover_land": cloud,
            "landsat:wrs_type": "2",
            "landsat:wrs_path": f"{key.path:03d}",
            "landsat:wrs_row": f"{key.row:03d}",
            "landsat:scene_id": catalog.entity_id(key),
            "landsat:collection_category": catalog.tier(key, level, self.cat.today),
            "landsat:collection_number": "02",
            "landsat:correction": display[5:9],
            "proj:epsg": g.epsg,
            "proj:shape": g.shape,
            "proj:transform": g.transform,
        }

    def _document(self, key: SceneKey, display: str, kind: str) -> JSON:
        ring = [list(p) for p in catalog.footprint(key.path, key.row)]
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        lvl, what = _PRODUCT[kind]
        extensions = [
            e for e in _EXTENSIONS if e != FILE_EXTENSION or not self.faults.stac_no_checksums
        ]
        return {
            "type": "Feature",
            "stac_version": STAC_VERSION,
            "stac_extensions": extensions,
            "id": item_id(display, kind),
            "description": f"Landsat Collection 2 {lvl} {what} Product",
            "bbox": [min(xs), min(ys), max(xs), max(ys)],
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            "properties": self._properties(key, display, kind),
            "assets": {a.key: self._asset(a, key, display, kind) for a in ASSETS[kind]},
        }

    def item(self, key: SceneKey, display: str, kind: str) -> JSON:
        """The STAC API item (with ``created``/``updated`` and API links)."""
        doc = self._document(key, display, kind)
        made = dt.datetime.combine(
            dt.date.fromordinal(catalog.processed_day(key, self.cat.today, kind_level(kind))),
            dt.time(6, 31, 22, 870000),
            dt.timezone.utc,
        )
        stamp = made.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        doc["properties"].update(created=stamp, updated=stamp)
        root = self._stac_base().rstrip("/")
        cid = COLLECTION_OF[kind]
        doc["links"] = [
            {"rel": "self", "href": f"{root}/collections/{cid}/items/{doc['id']}"},
            {"rel": "parent", "href": f"{root}/collections/{cid}"},
            {"rel": "collection", "href": f"{root}/collections/{cid}"},
            {"rel": "root", "href": f"{root}/"},
        ]
        doc["collection"] = cid
        return doc

    def sidecar(self, key: SceneKey, display: str, kind: str) -> JSON:
        """The ``*_stac.json`` file shipped in the bundle (data-host links, no created)."""
        doc = self._document(key, display, kind)
        level = kind_level(kind)
        base = self._base().rstrip("/")
        folder = self.cat.folder(key, level, display)
        cid = COLLECTION_OF[kind]
        doc["links"] = [
            {"rel": "root", "href": f"{base}/data/catalog.json"},
            {"rel": "parent", "href": f"{base}/{folder.rsplit('/', 1)[0]}/catalog.json"},
            {"rel": "collection", "href": f"{base}/data/collection02/{cid}.json"},
            {"rel": "self", "href": f"{base}/{folder}/{sidecar_name(display, kind)}"},
        ]
        doc["collection"] = cid
        return doc


def collection(cid: str, root: str) -> JSON:
    """The collection document of ``cid`` (links under the STAC root ``root``)."""
    kind, title = COLLECTIONS[cid]
    lvl, what = _PRODUCT[kind]
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [
            "https://stac-extensions.github.io/view/v1.0.0/schema.json",
            "https://stac-extensions.github.io/item-assets/v1.0.0/schema.json",
        ],
        "id": cid,
        "title": title,
        "description": f"Landsat Collection 2 {lvl} {what} Product (m2mdl sandbox: "
        "Landsat 8 and 9 OLI/TIRS scenes only)",
        "license": "PDDL-1.0",
        "extent": {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [["2013-03-18T00:00:00.000Z", None]]},
        },
        "summaries": {"platform": ["LANDSAT_8", "LANDSAT_9"]},
        "item_assets": {},
        "links": [
            {"rel": "self", "href": f"{root}/collections/{cid}"},
            {"rel": "parent", "href": f"{root}/"},
            {"rel": "root", "href": f"{root}/"},
            {"rel": "items", "href": f"{root}/collections/{cid}/items"},
        ],
    }
