"""Typed views of M2M JSON, parsed once at the API boundary.

M2M's camelCase names appear only in the ``from_json`` constructors here. Parsing is
deliberately tolerant: recorded responses from 2020 to 2025 differ in which keys exist, whether
``cloudCover`` is a string, number or null, and whether ``duplicateProducts`` is a list or an
object (docs/design.md, "M2M API"). A missing optional field becomes None, never a crash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from .util.jsontypes import JsonMapping, JsonObject, JsonValue


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _float(value: object) -> float | None:
    """Parse a number that M2M may send as a number, a string ("44.79") or null."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    # Some datasets report -1 for "unknown cloud cover".
    return None if number < 0 else number


def _bool(value: object) -> bool:
    """M2M's datatype page documents "Y"/"N" strings; real responses send booleans."""
    if isinstance(value, str):
        return value.strip().upper() in {"Y", "YES", "TRUE", "1"}
    return bool(value)


def _date(value: object) -> dt.date | None:
    """Dates arrive as "2020-03-10 00:00:00", "2020-03-10T13:39:39" or "2020-03-10"."""
    text = _str(value)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class Dataset:
    """A dataset as returned by ``dataset`` and ``dataset-search``."""

    dataset_id: str
    alias: str
    collection_name: str
    category: str | None = None
    acquisition_start: str | None = None
    acquisition_end: str | None = None
    scene_count: int | None = None
    supports_cloud_cover: bool = False

    @classmethod
    def from_json(cls, raw: JsonMapping) -> Dataset:
        """Build from one M2M Dataset object."""
        return cls(
            dataset_id=str(raw.get("datasetId") or ""),
            alias=str(raw.get("datasetAlias") or ""),
            collection_name=str(raw.get("collectionName") or ""),
            category=_str(raw.get("datasetCategoryName")),
            acquisition_start=_str(raw.get("acquisitionStart")),
            acquisition_end=_str(raw.get("acquisitionEnd")),
            scene_count=_int(raw.get("sceneCount")),
            supports_cloud_cover=_bool(raw.get("supportCloudCover")),
        )


def _metadata_value(metadata: object, field_name: str) -> object:
    """The value of the ``fieldName`` entry of a scene-search hit's ``metadata`` list."""
    for entry in metadata if isinstance(metadata, list) else []:
        if isinstance(entry, Mapping) and entry.get("fieldName") == field_name:
            return entry.get("value")
    return None


@dataclass(frozen=True)
class Scene:
    """One scene-search hit."""

    entity_id: str
    display_id: str
    dataset: str
    cloud_cover: float | None
    acquired: dt.date | None
    publish_date: str | None
    footprint: JsonMapping | None  # GeoJSON geometry of spatialCoverage (or spatialBounds)
    bulk: bool = True
    download: bool = True
    browse_url: str | None = None
    #: percent of the land in the scene under cloud ("Land Cloud Cover" in the hit's
    #: metadata); None when the hit carries no such field
    land_cloud_cover: float | None = None

    @classmethod
    def from_json(cls, raw: JsonMapping, dataset: str) -> Scene:
        """Build from one element of scene-search ``results``."""
        temporal = raw.get("temporalCoverage") or {}
        options = raw.get("options")
        options = options if isinstance(options, Mapping) else {}
        browse = raw.get("browse") or []
        first_browse = browse[0] if isinstance(browse, list) and browse else None
        footprint = raw.get("spatialCoverage") or raw.get("spatialBounds")
        return cls(
            entity_id=str(raw.get("entityId") or ""),
            display_id=str(raw.get("displayId") or ""),
            dataset=dataset,
            cloud_cover=_float(raw.get("cloudCover")),
            acquired=_date(temporal.get("startDate") if isinstance(temporal, Mapping) else None),
            publish_date=_str(raw.get("publishDate")),
            footprint=footprint if isinstance(footprint, Mapping) else None,
            bulk=_bool(options.get("bulk", True)),
            download=_bool(options.get("download", True)),
            browse_url=_str(first_browse.get("browsePath"))
            if isinstance(first_browse, Mapping)
            else None,
            land_cloud_cover=_float(_metadata_value(raw.get("metadata"), "Land Cloud Cover")),
        )

    def path_row(self) -> tuple[int, int] | None:
        """WRS path and row parsed from a Landsat displayId (``LC08_L2SP_068017_...``)."""
        parts = self.display_id.split("_")
        if len(parts) >= 3 and len(parts[2]) == 6 and parts[2].isdigit():
            return int(parts[2][:3]), int(parts[2][3:])
        return None

    def to_json(self) -> JsonObject:
        """A stable, documented JSON form (schema "scene/1")."""
        path_row = self.path_row()
        return {
            "entity_id": self.entity_id,
            "display_id": self.display_id,
            "dataset": self.dataset,
            "acquired": self.acquired.isoformat() if self.acquired else None,
            "cloud_cover": self.cloud_cover,
            "wrs_path": path_row[0] if path_row else None,
            "wrs_row": path_row[1] if path_row else None,
            "publish_date": self.publish_date,
            "footprint": dict(self.footprint) if self.footprint else None,
        }

    @classmethod
    def from_output(cls, raw: JsonMapping) -> Scene:
        """Inverse of :meth:`to_json`, for ``download --from FILE``."""
        acquired = raw.get("acquired")
        return cls(
            entity_id=str(raw["entity_id"]),
            display_id=str(raw.get("display_id") or ""),
            dataset=str(raw.get("dataset") or ""),
            cloud_cover=_float(raw.get("cloud_cover")),
            acquired=_date(acquired),
            publish_date=_str(raw.get("publish_date")),
            footprint=raw.get("footprint") if isinstance(raw.get("footprint"), Mapping) else None,
        )


@dataclass(frozen=True)
class SearchPage:
    """One page of scene-search."""

    scenes: tuple[Scene, ...]
    total_hits: int
    records_returned: int
    starting_number: int
    next_record: int | None

    @classmethod
    def from_json(cls, raw: JsonMapping, dataset: str) -> SearchPage:
        """Build from scene-search ``data``."""
        results = raw.get("results") or []
        scenes = tuple(Scene.from_json(r, dataset) for r in results if isinstance(r, Mapping))
        return cls(
            scenes=scenes,
            total_hits=_int(raw.get("totalHits")) or 0,
            records_returned=_int(raw.get("recordsReturned")) or len(scenes),
            starting_number=_int(raw.get("startingNumber")) or 1,
            next_record=_int(raw.get("nextRecord")),
        )


@dataclass(frozen=True)
class Product:
    """A download-options product (a bundle, a folder of files, or one secondary file)."""

    product_id: str
    entity_id: str
    display_id: str
    dataset_id: str | None
    product_code: str | None
    product_name: str | None
    download_system: str | None
    download_name: str | None
    filesize: int | None
    available: bool
    bulk_available: bool
    file_groups: tuple[str, ...] = ()
    secondary: tuple[Product, ...] = field(default=(), repr=False)
    checksum: str | None = None  # M2M's ``checksum`` (null in every recorded response)

    @classmethod
    def from_json(cls, raw: JsonMapping) -> Product:
        """Build from one download-options entry (recursing into secondaryDownloads)."""
        secondary = raw.get("secondaryDownloads") or []
        groups = raw.get("fileGroups") or []
        return cls(
            product_id=str(raw.get("id") or raw.get("productId") or ""),
            entity_id=str(raw.get("entityId") or ""),
            display_id=str(raw.get("displayId") or ""),
            dataset_id=_str(raw.get("datasetId")),
            product_code=_str(raw.get("productCode")),
            product_name=_str(raw.get("productName")),
            download_system=_str(raw.get("downloadSystem")),
            download_name=_str(raw.get("downloadName")) or None,
            filesize=_int(raw.get("filesize")),
            available=_bool(raw.get("available")),
            bulk_available=_bool(raw.get("bulkAvailable")),
            file_groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
            secondary=tuple(Product.from_json(s) for s in secondary if isinstance(s, Mapping)),
            checksum=_str(raw.get("checksum")) or None,
        )

    @property
    def is_folder(self) -> bool:
        """Folder products stand for "the individual files"; they have filesize 0."""
        return self.download_system == "folder"

    @property
    def file_name(self) -> str:
        """The file a secondary product downloads as (``<displayId>_SR_B4.TIF``)."""
        return self.display_id


def band_of(file_name: str) -> str:
    """The band token of a Landsat file name: ``SR_B4`` for ``<productId>_SR_B4.TIF``.

    A Collection 2 product id has seven ``_``-separated parts
    (``LC08_L2SP_068017_20200310_20200822_02_T1``); the file suffix follows. TIF suffixes lose
    their extension (users say ``SR_B4``); text files keep it (``MTL.txt`` vs ``MTL.xml``).
    """
    parts = file_name.split("_", 7)
    suffix = parts[7] if len(parts) == 8 and len(parts[0]) == 4 else file_name
    stem, dot, ext = suffix.rpartition(".")
    return stem if dot and ext.upper() in {"TIF", "TIFF"} else suffix


@dataclass(frozen=True)
class FileGroup:
    """A band group from dataset-file-groups (``ls_c2l2_sr_band`` and its files)."""

    group_id: str
    label: str
    description: str | None
    dataset_id: str
    files: tuple[str, ...]

    @classmethod
    def from_json(cls, group_id: str, dataset_id: str, raw: JsonMapping) -> FileGroup:
        """Build from one group object inside dataset-file-groups ``secondary``."""
        files = raw.get("files") or []
        return cls(
            group_id=str(raw.get("id") or group_id),
            label=str(raw.get("label") or group_id),
            description=_str(raw.get("description")),
            dataset_id=dataset_id,
            files=tuple(str(f.get("name")) for f in files if isinstance(f, Mapping)),
        )


@dataclass(frozen=True)
class DownloadItem:
    """A download M2M has queued: from download-request or download-retrieve."""

    download_id: int
    url: str | None = field(repr=False)  # signed; never logged or stored with its query
    entity_id: str | None = None
    display_id: str | None = None
    label: str | None = None
    status_code: str | None = None
    filesize: int | None = None
    product_code: str | None = None
    checksum: str | None = None  # M2M's ``checksum`` (null in every recorded response)

    @classmethod
    def from_json(cls, raw: JsonMapping) -> DownloadItem:
        """Build from an availableDownloads/preparingDownloads/available/requested item."""
        return cls(
            download_id=_int(raw.get("downloadId")) or 0,
            url=_str(raw.get("url")) or None,
            entity_id=_str(raw.get("entityId")),
            display_id=_str(raw.get("displayId")),
            label=_str(raw.get("label")),
            status_code=_str(raw.get("statusCode")),
            filesize=_int(raw.get("filesize")),
            product_code=_str(raw.get("productCode")),
            checksum=_str(raw.get("checksum")) or None,
        )


def _id_map(raw: object) -> dict[int, str]:
    """``newRecords``/``duplicateProducts``: ``[]`` when empty, ``{"id": "label"}`` otherwise."""
    if not isinstance(raw, Mapping):
        return {}
    out: dict[int, str] = {}
    for key, value in raw.items():
        number = _int(key)
        if number is not None:
            out[number] = str(value)
    return out


def _items(raw: object) -> tuple[DownloadItem, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(DownloadItem.from_json(i) for i in raw if isinstance(i, Mapping))


@dataclass(frozen=True)
class RequestResult:
    """What download-request answered."""

    available: tuple[DownloadItem, ...]
    preparing: tuple[DownloadItem, ...]
    duplicates: dict[int, str]
    new_records: dict[int, str]
    failed: tuple[JsonValue, ...]
    num_invalid_scenes: int

    @classmethod
    def from_json(cls, raw: JsonMapping) -> RequestResult:
        """Build from download-request ``data``."""
        failed = raw.get("failed") or []
        return cls(
            available=_items(raw.get("availableDownloads")),
            preparing=_items(raw.get("preparingDownloads")),
            duplicates=_id_map(raw.get("duplicateProducts")),
            new_records=_id_map(raw.get("newRecords")),
            failed=tuple(failed) if isinstance(failed, list) else (),
            num_invalid_scenes=_int(raw.get("numInvalidScenes")) or 0,
        )


@dataclass(frozen=True)
class RetrieveResult:
    """What download-retrieve answered. The same item may be in both lists (a real quirk)."""

    available: tuple[DownloadItem, ...]
    requested: tuple[DownloadItem, ...]
    queue_size: int

    @classmethod
    def from_json(cls, raw: JsonMapping) -> RetrieveResult:
        """Build from download-retrieve ``data``."""
        return cls(
            available=_items(raw.get("available")),
            requested=_items(raw.get("requested")),
            queue_size=_int(raw.get("queueSize")) or 0,
        )

    def ready(self) -> dict[int, DownloadItem]:
        """Items with a usable URL, de-duplicated by downloadId (available wins)."""
        ready: dict[int, DownloadItem] = {}
        for item in (*self.requested, *self.available):
            status = (item.status_code or "A").upper()
            if item.url and status in {"A", "C", "P"} and "download-staging" not in item.url:
                ready[item.download_id] = item
        return ready


@dataclass(frozen=True)
class OrderLabel:
    """One entry of download-labels."""

    label: str
    date_entered: int | None
    download_count: int | None
    download_size: int | None

    @classmethod
    def from_json(cls, raw: JsonMapping) -> OrderLabel:
        """Build from one download-labels element."""
        return cls(
            label=str(raw.get("label") or ""),
            date_entered=_int(raw.get("dateEntered")),
            download_count=_int(raw.get("downloadCount")),
            download_size=_int(raw.get("downloadSize")),
        )
