"""Find scenes: the query, the scene filter M2M takes, paging, and dataset suggestions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ..aoi import Aoi
from ..api import M2MClient
from ..errors import (
    ApiError,
    DatasetNotFound,
    DatasetUnavailable,
    InputError,
    ParameterError,
    literal,
)
from ..m2m_requests import (
    AcquisitionFilter,
    CloudCoverFilter,
    MetadataFilter,
    MetadataValue,
    SceneFilter,
    SpatialFilter,
    all_of,
)
from ..models import Scene

log = logging.getLogger("m2mdl.workflow")
SORT_KEYS = ("acquired", "-acquired", "cloud", "-cloud", "path_row")


@dataclass(frozen=True)
class SearchQuery:
    """Everything ``m2mdl search`` can ask for."""

    dataset: str
    aoi: Aoi | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    cloud_min: float | None = None
    cloud_max: float | None = None
    months: tuple[int, ...] = ()
    path: int | None = None
    row: int | None = None
    limit: int | None = None
    sort: str | None = None
    page_size: int = 1000

    def __post_init__(self) -> None:
        """Check the values; errors name the parameters (the CLI re-spells them as flags)."""
        if self.start and self.end and self.start > self.end:
            raise ParameterError(f"${{start}} {self.start} is after ${{end}} {self.end}")
        for name, value in (("cloud_min", self.cloud_min), ("cloud_max", self.cloud_max)):
            if value is not None and not 0 <= value <= 100:
                raise ParameterError(f"${{{name}}} {value:g} is outside 0..100")
        if (
            self.cloud_min is not None
            and self.cloud_max is not None
            and self.cloud_min > self.cloud_max
        ):
            raise ParameterError(
                f"${{cloud_min}} {self.cloud_min:g} is above ${{cloud_max}} {self.cloud_max:g}"
            )
        bad = [m for m in self.months if not 1 <= m <= 12]
        if bad:
            raise ParameterError(f"${{months}} {bad[0]} is not a month (1..12)")
        if self.path is not None and not 1 <= self.path <= 233:
            raise ParameterError(f"${{path}} {self.path} is outside WRS-2 paths 1..233")
        if self.row is not None and not 1 <= self.row <= 248:
            raise ParameterError(f"${{row}} {self.row} is outside WRS-2 rows 1..248")
        if self.limit is not None and self.limit < 1:
            raise ParameterError(f"${{limit}} {self.limit} must be at least 1")
        if self.sort is not None and self.sort not in SORT_KEYS:
            raise ParameterError(
                f"${{sort}} {literal(repr(self.sort))} is not one of {', '.join(SORT_KEYS)}"
            )
        if self.aoi is None and self.path is None:
            raise ParameterError("give an area (${aoi}) or a WRS ${path}/${row}")


@dataclass
class SearchResult:
    """Scenes found, with the server's count and the number of pages read."""

    scenes: list[Scene] = field(default_factory=list)
    total_hits: int = 0
    pages: int = 0


def scene_filter(
    query: SearchQuery, spatial: SpatialFilter | None, metadata: MetadataFilter | None
) -> SceneFilter:
    """The ``sceneFilter`` of a scene-search request (an open end is the mission's first day,
    or today)."""
    acquisition = None
    if query.start or query.end:
        acquisition = AcquisitionFilter(
            query.start or dt.date(1972, 7, 23), query.end or dt.date.today()
        )
    cloud = None
    if query.cloud_min is not None or query.cloud_max is not None:
        cloud = CloudCoverFilter(
            min=query.cloud_min or 0,
            max=query.cloud_max if query.cloud_max is not None else 100,
        )
    return SceneFilter(
        spatial=spatial,
        acquisition=acquisition,
        cloud_cover=cloud,
        months=query.months,
        metadata=metadata,
    )


def path_row_filter(client: M2MClient, query: SearchQuery) -> MetadataFilter | None:
    """A metadata filter on WRS path/row, with the field ids of this dataset (dataset-filters)."""
    if query.path is None and query.row is None:
        return None
    ids = client.dataset_filter_ids(query.dataset)
    children: list[MetadataFilter] = []
    for label, value in (("wrs path", query.path), ("wrs row", query.row)):
        if value is None:
            continue
        filter_id = ids.get(label)
        if filter_id is None:
            raise InputError(f"dataset {query.dataset} has no {label.upper()} filter")
        children.append(MetadataValue(filter_id, f"{value:03d}"))
    return all_of(children)


def iter_scenes(client: M2MClient, query: SearchQuery, result: SearchResult) -> Iterator[Scene]:
    """Scenes of every page of every spatial filter, de-duplicated, up to ``query.limit``.

    A MultiPolygon AOI of a few polygons is searched polygon by polygon (whether M2M accepts
    MultiPolygon geoJson is not documented) and merged by entity id. An AOI of more than
    ``m2mdl.aoi.MAX_SEPARATE_SEARCHES`` polygons is searched once over its bounding box, and
    only scenes whose footprint meets one of its polygons are kept: the number of calls no
    longer grows with the number of polygons. The limit is then applied here, after that
    filter, rather than sent to the server.
    """
    metadata = path_row_filter(client, query)
    aoi = query.aoi
    spatials: Sequence[SpatialFilter | None] = aoi.search_areas() if aoi else [None]
    filtered = aoi is not None and aoi.merged_search
    seen: set[str] = set()
    for spatial in spatials:
        remaining = None if query.limit is None else query.limit - len(seen)
        if remaining is not None and remaining <= 0:
            return
        pages = client.iter_search_pages(
            query.dataset,
            scene_filter(query, spatial, metadata),
            limit=None if filtered else remaining,
            page_size=query.page_size,
        )
        for page in pages:
            result.pages += 1
            result.total_hits += page.total_hits if page.starting_number == 1 else 0
            for scene in page.scenes:
                if scene.entity_id in seen or not _wanted(scene, query):
                    continue
                if filtered and aoi is not None and not aoi.intersects_footprint(scene.footprint):
                    continue
                seen.add(scene.entity_id)
                yield scene
                if query.limit is not None and len(seen) >= query.limit:
                    return


def _wanted(scene: Scene, query: SearchQuery) -> bool:
    """A client-side check of path/row, in case the server ignored the metadata filter."""
    path_row = scene.path_row()
    if path_row is None:
        return True
    return (query.path is None or path_row[0] == query.path) and (
        query.row is None or path_row[1] == query.row
    )


def search(client: M2MClient, query: SearchQuery) -> SearchResult:
    """Run a search and collect every scene (sorted if asked, then limited).

    Raises:
        DatasetNotFound: the dataset does not exist (the hint names close matches), or it is
            a retired Collection 1 dataset (the hint names its successor).
        DatasetUnavailable: the account may not use the dataset.
    """
    result = SearchResult()
    # --sort orders every match, then --limit keeps the first N: the limit cannot be sent to
    # the server, which would return N scenes in its own order and sort only those.
    paging = dataclasses.replace(query, limit=None) if query.sort else query
    try:
        result.scenes = list(iter_scenes(client, paging, result))
    except DatasetUnavailable as exc:
        successor = collection2_successor(query.dataset)
        if successor is None:
            raise
        # A name to correct (exit 2), not an account to fix (exit 3).
        raise DatasetNotFound(
            f"{query.dataset} is a retired Collection 1 dataset ({exc.code})",
            endpoint="scene-search",
            code=exc.code,
            hint=f"use its Collection 2 successor {successor} (Level-2; _l1 for Level-1)",
        ) from exc
    except ApiError as exc:
        if isinstance(exc, DatasetNotFound) or (exc.code or "").startswith("DATASET"):
            raise unknown_dataset(client, query.dataset, exc) from exc
        raise
    log.info(
        "search: %d scene(s) in %d page(s) of %s", len(result.scenes), result.pages, query.dataset
    )
    if query.sort:
        result.scenes.sort(key=_sort_key(query.sort), reverse=query.sort.startswith("-"))
        del result.scenes[query.limit or len(result.scenes) :]
    return result


def _sort_key(sort: str) -> Callable[[Scene], tuple[object, ...] | dt.date]:
    name = sort.lstrip("-")
    if name == "cloud":
        return lambda s: (s.cloud_cover is None, s.cloud_cover or 0.0)
    if name == "path_row":
        return lambda s: s.path_row() or (0, 0)
    return lambda s: s.acquired or dt.date.min


#: The sensor word of a Collection 1 alias -> its Collection 2 Level-2 dataset (MSS has no
#: Level-2: its Level-1). Only ``landsat_8_c1`` is recorded answering DATASET_AUTH
#: (docs/design.md, "datasets"); the other names follow the same pattern.
_C2_BY_SENSOR = {
    "8": "landsat_ot_c2_l2",
    "ot": "landsat_ot_c2_l2",
    "etm": "landsat_etm_c2_l2",
    "tm": "landsat_tm_c2_l2",
    "mss": "landsat_mss_c2_l1",
}
_C1_ALIAS = re.compile(r"landsat_(?P<sensor>[a-z0-9]+)_c1(?:_l[12])?")


def collection2_successor(name: str) -> str | None:
    """The Collection 2 dataset that replaced a retired Collection 1 alias, or None."""
    match = _C1_ALIAS.fullmatch(name.strip().lower())
    return _C2_BY_SENSOR.get(match["sensor"]) if match else None


def unknown_dataset(client: M2MClient, name: str, cause: ApiError) -> DatasetNotFound:
    """A DatasetNotFound whose hint lists close matches found through dataset-search."""
    term = name.split("_")[0] or name
    try:
        aliases = [d.alias for d in client.dataset_search(term) if d.alias]
    except ApiError:
        aliases = []
    close = difflib.get_close_matches(name, aliases, n=3, cutoff=0.5)
    hint = (
        f"did you mean {', '.join(close)}?"
        if close
        else "list datasets with the M2M dataset-search endpoint; Landsat 8-9 Level-2 "
        "is landsat_ot_c2_l2"
    )
    return DatasetNotFound(
        f"unknown dataset {name!r} ({cause.code or 'not found'})",
        endpoint=cause.endpoint,
        code=cause.code,
        hint=hint,
    )
