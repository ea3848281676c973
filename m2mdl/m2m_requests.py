"""Typed M2M request bodies: Python names in, the service's camelCase JSON out (``to_json``).

Each class is one request body (or one part of one) as docs/design.md, "M2M API", describes
it; :class:`m2mdl.api.M2MClient` sends ``to_json()``. Callers build these instead of dicts, so a
misspelt key is a TypeError at the call site rather than a field the service silently ignores;
this module is the one place that spells the service's keys (the workflow and :mod:`m2mdl.aoi`
never do). Only what m2mdl sends is modelled. Standard library only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .util.jsontypes import JsonMapping, JsonObject


@dataclass(frozen=True)
class AcquisitionFilter:
    """Acquisition dates, both inclusive."""

    start: dt.date
    end: dt.date

    def to_json(self) -> JsonObject:
        """``{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}``."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True)
class CloudCoverFilter:
    """Scene cloud cover in percent; scenes of unknown cover are left out."""

    min: float = 0
    max: float = 100
    include_unknown: bool = False

    def to_json(self) -> JsonObject:
        """``{"min", "max", "includeUnknown"}``."""
        return {"min": self.min, "max": self.max, "includeUnknown": self.include_unknown}


@dataclass(frozen=True)
class GeoJsonFilter:
    """A ``geojson`` spatial filter: one GeoJSON Polygon.

    One polygon per filter: whether scene-search takes a MultiPolygon is not documented
    (docs/design.md, "M2M API"), so an AOI of several polygons is searched one by one.

    Attributes:
        rings: closed rings of (lon, lat), the outer ring first, then its holes.
    """

    rings: Sequence[Sequence[tuple[float, float]]]

    def to_json(self) -> JsonObject:
        """``{"filterType": "geojson", "geoJson": {"type": "Polygon", "coordinates"}}``."""
        coordinates = [[[lon, lat] for lon, lat in ring] for ring in self.rings]
        return {"filterType": "geojson", "geoJson": {"type": "Polygon", "coordinates": coordinates}}


@dataclass(frozen=True)
class MbrFilter:
    """An ``mbr`` spatial filter: the box from (west, south) to (east, north), in degrees.

    One box cannot cross the antimeridian: west must not be greater than east.
    """

    west: float
    south: float
    east: float
    north: float

    def to_json(self) -> JsonObject:
        """``{"filterType": "mbr", "lowerLeft", "upperRight"}``, corners as latitude/longitude."""
        return {
            "filterType": "mbr",
            "lowerLeft": {"latitude": self.south, "longitude": self.west},
            "upperRight": {"latitude": self.north, "longitude": self.east},
        }


#: scene-search's ``spatialFilter``.
SpatialFilter = GeoJsonFilter | MbrFilter


@dataclass(frozen=True)
class MetadataValue:
    """A ``value`` metadata filter: the field ``filter_id`` (an id from dataset-filters, which
    differs by dataset) compared with ``value``."""

    filter_id: str
    value: str
    operand: str = "="

    def to_json(self) -> JsonObject:
        """``{"filterType": "value", "filterId", "value", "operand"}``."""
        return {
            "filterType": "value",
            "filterId": self.filter_id,
            "value": self.value,
            "operand": self.operand,
        }


@dataclass(frozen=True)
class MetadataGroup:
    """An ``and`` or an ``or`` of metadata filters."""

    operator: Literal["and", "or"]
    children: Sequence[MetadataFilter]

    def to_json(self) -> JsonObject:
        """``{"filterType": "and" | "or", "childFilters": [...]}``."""
        return {"filterType": self.operator, "childFilters": [c.to_json() for c in self.children]}


#: scene-search's ``metadataFilter``.
MetadataFilter = MetadataValue | MetadataGroup


def all_of(filters: Sequence[MetadataFilter]) -> MetadataFilter:
    """Scenes that pass every filter: one filter as it is, more in an ``and``.

    Raises:
        ValueError: no filter.
    """
    return _group("and", filters)


def any_of(filters: Sequence[MetadataFilter]) -> MetadataFilter:
    """Scenes that pass one of the filters: one filter as it is, more in an ``or``.

    Raises:
        ValueError: no filter.
    """
    return _group("or", filters)


def _group(operator: Literal["and", "or"], filters: Sequence[MetadataFilter]) -> MetadataFilter:
    if not filters:
        raise ValueError(f"an {operator!r} of no metadata filter")
    return filters[0] if len(filters) == 1 else MetadataGroup(operator, tuple(filters))


@dataclass(frozen=True)
class SceneFilter:
    """scene-search's ``sceneFilter``: every part optional.

    ``spatial`` and ``metadata`` are typed filters (:data:`SpatialFilter`,
    :data:`MetadataFilter`) or, for a caller that has them, M2M filter JSON sent as it is.
    """

    spatial: SpatialFilter | JsonObject | None = None
    acquisition: AcquisitionFilter | None = None
    cloud_cover: CloudCoverFilter | None = None
    months: tuple[int, ...] = ()
    metadata: MetadataFilter | JsonObject | None = None

    def to_json(self) -> JsonObject:
        """The ``sceneFilter`` object, without the parts that are not set."""
        out: JsonObject = {}
        if self.spatial is not None:
            out["spatialFilter"] = _as_json(self.spatial)
        if self.acquisition is not None:
            out["acquisitionFilter"] = self.acquisition.to_json()
        if self.cloud_cover is not None:
            out["cloudCoverFilter"] = self.cloud_cover.to_json()
        if self.months:
            out["seasonalFilter"] = sorted(set(self.months))
        if self.metadata is not None:
            out["metadataFilter"] = _as_json(self.metadata)
        return out


def _as_json(part: SpatialFilter | MetadataFilter | JsonObject) -> JsonObject:
    return part if isinstance(part, dict) else part.to_json()


@dataclass(frozen=True)
class SceneSearch:
    """One page of ``scene-search``."""

    dataset: str
    scene_filter: SceneFilter | JsonObject = field(default_factory=SceneFilter)
    starting_number: int = 1
    max_results: int = 100
    sort_field: str | None = None
    sort_direction: str | None = None
    metadata_type: str = "summary"

    def to_json(self) -> JsonObject:
        """The request body; a sort direction defaults to ascending."""
        scene_filter = self.scene_filter
        body: JsonObject = {
            "datasetName": self.dataset,
            "sceneFilter": (
                scene_filter.to_json() if isinstance(scene_filter, SceneFilter) else scene_filter
            ),
            "startingNumber": self.starting_number,
            "maxResults": self.max_results,
            "metadataType": self.metadata_type,
        }
        if self.sort_field:
            body["sortField"] = self.sort_field
            body["sortDirection"] = self.sort_direction or "ASC"
        return body


@dataclass(frozen=True)
class SceneListAdd:
    """``scene-list-add`` by entity id, with a time to live (ISO 8601 duration)."""

    list_id: str
    dataset: str
    entity_ids: Sequence[str]
    ttl: str = "P1D"

    def to_json(self) -> JsonObject:
        """The request body."""
        return {
            "listId": self.list_id,
            "datasetName": self.dataset,
            "idField": "entityId",
            "entityIds": list(self.entity_ids),
            "timeToLive": self.ttl,
        }


@dataclass(frozen=True)
class DownloadOptions:
    """``download-options`` for a scene list or for entity ids."""

    dataset: str
    list_id: str | None = None
    entity_ids: Sequence[str] = ()
    file_groups: bool = False

    def to_json(self) -> JsonObject:
        """The request body: ``listId`` when given, else ``entityIds``."""
        body: JsonObject = {"datasetName": self.dataset}
        if self.list_id:
            body["listId"] = self.list_id
        else:
            body["entityIds"] = list(self.entity_ids)
        if self.file_groups:
            body["includeSecondaryFileGroups"] = True
        return body


@dataclass(frozen=True)
class DownloadItem:
    """One product of one scene in a ``download-request``."""

    entity_id: str
    product_id: str

    @classmethod
    def from_json(cls, item: Mapping[str, str]) -> DownloadItem:
        """From ``{"entityId", "productId"}`` (any other key, ``label`` included, is dropped)."""
        return cls(str(item["entityId"]), str(item["productId"]))

    def to_json(self, label: str) -> JsonObject:
        """``{"entityId", "productId", "label"}``."""
        return {"entityId": self.entity_id, "productId": self.product_id, "label": label}


@dataclass(frozen=True)
class DataGroup:
    """Band groups of the scenes in a (secondary dataset's) scene list, in a download-request."""

    dataset: str
    file_groups: Sequence[str]
    list_id: str

    @classmethod
    def from_json(cls, group: JsonMapping) -> DataGroup:
        """From ``{"datasetName", "fileGroups", "listId"}`` (other keys are dropped)."""
        return cls(str(group["datasetName"]), list(group["fileGroups"]), str(group["listId"]))

    def to_json(self, label: str) -> JsonObject:
        """``{"datasetName", "fileGroups", "listId", "label"}``."""
        return {
            "datasetName": self.dataset,
            "fileGroups": list(self.file_groups),
            "listId": self.list_id,
            "label": label,
        }


@dataclass(frozen=True)
class DownloadRequest:
    """``download-request``: products and/or data groups, all under one label."""

    label: str
    downloads: Sequence[DownloadItem] = ()
    data_groups: Sequence[DataGroup] = ()

    def to_json(self) -> JsonObject:
        """The request body; every item carries the label too."""
        body: JsonObject = {"label": self.label}
        if self.downloads:
            body["downloads"] = [d.to_json(self.label) for d in self.downloads]
        if self.data_groups:
            body["dataGroups"] = [g.to_json(self.label) for g in self.data_groups]
        return body


@dataclass(frozen=True)
class Grid2ll:
    """``grid2ll``: the polygon of one WRS-2 path/row."""

    path: int
    row: int

    def to_json(self) -> JsonObject:
        """The request body (path and row are strings on the wire)."""
        return {
            "gridType": "WRS2",
            "responseShape": "polygon",
            "path": str(self.path),
            "row": str(self.row),
        }


@dataclass(frozen=True)
class Notifications:
    """``notifications``: the current notices of one system (``M2M``, ``EE``, ...)."""

    system_id: str

    def to_json(self) -> JsonObject:
        """``{"systemId"}``."""
        return {"systemId": self.system_id}


@dataclass(frozen=True)
class RateLimitSummary:
    """``rate-limit-summary`` for the caller's own IP address (the service's default)."""

    def to_json(self) -> JsonObject:
        """The empty body."""
        return {}
