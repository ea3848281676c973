"""Scene ids given on the command line: display ids and entity ids, mixed, resolved to
scenes through M2M.

Two forms name a Landsat scene (docs/design.md, "Landsat naming"):

- the display id (product id) ``LC08_L2SP_068017_20200310_20200822_02_T1``: one product of
  one level, so it also says which dataset it belongs to;
- the entity id (scene id) ``LC80680172020070LGN00``: the same for the Level-1 and Level-2
  products of an acquisition.

How they are resolved: one ``dataset-filters`` call gives the ids of the dataset's
"Landsat Scene Identifier" and "Landsat Product Identifier L1/L2" fields, then one
``scene-search`` per acquisition date (both id forms carry the date) asks for the ids of
that date at once, with an ``or`` of value filters on those fields and an acquisition
filter of that day. The answer is a full search hit (footprint, cloud cover, dates), which
the manifest and the STAC catalog need, for every id M2M knows. M2M answers an unknown id
with an empty result, not an error; such ids, and ids that cannot exist (day 000, a
Level-1 product id given for a Level-2 dataset), come back as ``unavailable`` with the
reason. Cost: 1 + (distinct acquisition dates) calls, 100 ids per search at most.

Scene lists (``scene-list-add`` with ``idField: displayId``) would map display ids to entity
ids too, but they leave state on the server and give no metadata: a second call per id
would still be needed.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..bands import dataset_sensor_level, display_id_sensor_level
from ..errors import InputError, ParameterError, literal
from ..m2m_requests import AcquisitionFilter, MetadataFilter, MetadataValue, SceneFilter, any_of
from ..models import Product, Scene

if TYPE_CHECKING:
    from ..api import M2MClient

log = logging.getLogger("m2mdl.workflow")

#: ids per scene-search: keeps the request small; one date rarely has more.
SEARCH_BATCH = 100
DISPLAY_RE = re.compile(
    r"^L[COTEM]0[1-9]_L[12][A-Z]{2}_\d{6}_(\d{8})_\d{8}_\d{2}_(T1|T2|RT)$", re.IGNORECASE
)
ENTITY_RE = re.compile(r"^L[COTEM][1-9]\d{6}(\d{4})(\d{3})[A-Z]{3}\d{2}$", re.IGNORECASE)
#: Other datasets' entity ids: letters, digits, at most 64 (as ``options`` accepted before).
GENERIC_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")
#: A mistyped Landsat id must not pass as another dataset's id: it would be searched for
#: without a date, over the whole archive.
LANDSAT_LIKE = re.compile(r"^L[COTEM]\d", re.IGNORECASE)
_SENSOR_DATASET = {"oli-tirs": "ot", "etm": "etm", "tm": "tm", "mss": "mss"}
_ENTITY_LABEL = "landsat scene identifier"


@dataclass(frozen=True)
class SceneId:
    """One id as the user gave it, classified.

    Attributes:
        text: the id, upper-cased.
        kind: ``display`` or ``entity``.
        acquired: the acquisition date the id encodes, or None (a non-Landsat entity id).
        dataset: the dataset a display id belongs to (``landsat_ot_c2_l2``), else None.
        problem: why the id cannot name a scene although it is well-formed, or None.
    """

    text: str
    kind: Literal["display", "entity"]
    acquired: dt.date | None = None
    dataset: str | None = None
    problem: str | None = None


def _display_dataset(display_id: str) -> str | None:
    found = display_id_sensor_level(display_id)
    if found is None:
        return None
    sensor, level = found
    return f"landsat_{_SENSOR_DATASET[sensor]}_c2_l{level}"


def classify(text: str) -> SceneId:
    """Tell a display id from an entity id and read the acquisition date in it.

    Raises:
        InputError: neither form (the message shows both).
    """
    value = text.strip().upper()
    if match := DISPLAY_RE.match(value):
        day = match.group(1)
        try:
            acquired = dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))
        except ValueError:
            return SceneId(value, "display", problem=f"{day} is not a date")
        return SceneId(value, "display", acquired, _display_dataset(value))
    if match := ENTITY_RE.match(value):
        year, doy = int(match.group(1)), int(match.group(2))
        try:
            acquired = dt.date(year, 1, 1) + dt.timedelta(days=doy - 1)
            if year < 1972 or doy < 1 or acquired.year != year:
                raise ValueError
        except (ValueError, OverflowError):
            problem = f"no such scene: day {doy:03d} of {year:04d} is not a date"
            return SceneId(value, "entity", problem=problem)
        return SceneId(value, "entity", acquired)
    if GENERIC_RE.match(value) and not LANDSAT_LIKE.match(value):
        return SceneId(value, "entity")
    raise InputError(
        f"{text.strip()!r} is not a scene id: give display ids"
        " (LC08_L2SP_068017_20200310_20200822_02_T1) or entity ids (LC80680172020070LGN00)"
    )


def classify_all(texts: Iterable[str]) -> list[SceneId]:
    """Classify every id (commas separate ids too); duplicates are dropped, order kept.

    Raises:
        InputError: an id of neither form, or no id at all.
    """
    seen: dict[str, SceneId] = {}
    for text in texts:
        for part in text.split(","):
            if part.strip():
                found = classify(part)
                seen.setdefault(found.text, found)
    if not seen:
        raise InputError("give one or more scene ids")
    return list(seen.values())


def implied_dataset(ids: Sequence[SceneId]) -> str | None:
    """The one dataset the display ids belong to, for when ``dataset`` is not given.

    Raises:
        ParameterError: the display ids belong to different datasets (one run, one dataset).
    """
    datasets = sorted({i.dataset for i in ids if i.dataset})
    if len(datasets) > 1:
        raise ParameterError(
            f"these ids belong to different datasets ({literal(', '.join(datasets))});"
            " run once per dataset, with ${dataset}"
        )
    return datasets[0] if datasets else None


def choose_dataset(ids: Sequence[SceneId], flag: str | None, default: str) -> str:
    """The dataset to look ids up in: ``flag`` (the ``dataset`` given) if any, else the one the
    display ids belong to, else the configured default (an entity id alone does not say its
    level).

    Raises:
        ParameterError: the display ids belong to different datasets.
    """
    return flag or implied_dataset(ids) or default


@dataclass(frozen=True)
class Resolved:
    """Scenes found for the ids (in the order given, one per scene), and the ids M2M does
    not know, each with the reason."""

    scenes: tuple[Scene, ...]
    unavailable: tuple[tuple[str, str], ...]


def _mismatch(scene_id: SceneId, dataset: str) -> str | None:
    """Why a display id cannot be in ``dataset`` (another sensor or level), or None."""
    if scene_id.kind != "display" or scene_id.dataset is None:
        return None
    if dataset_sensor_level(dataset) is None or scene_id.dataset == dataset.lower():
        return None
    return f"a product of {scene_id.dataset}, not of {dataset}; use --dataset {scene_id.dataset}"


def _field_ids(client: M2MClient, dataset: str) -> dict[str, str]:
    """``display``/``entity`` -> metadata filter id for this dataset.

    Raises:
        ParameterError: the dataset has no scene identifier field.
    """
    labels = client.dataset_filter_ids(dataset)
    found = dataset_sensor_level(dataset)
    level = found[1] if found else 2
    fields = {
        "entity": labels.get(_ENTITY_LABEL),
        "display": labels.get(f"landsat product identifier l{level}"),
    }
    if fields["entity"] is None:
        raise ParameterError(
            f"dataset {literal(dataset)} has no Landsat Scene Identifier field: its scenes"
            " cannot be looked up by id; use ${from_file} with a saved search instead"
        )
    return {k: v for k, v in fields.items() if v}


def _search(
    client: M2MClient, dataset: str, ids: Sequence[SceneId], fields: dict[str, str]
) -> list[Scene]:
    """One scene-search for ids of one acquisition date (or none)."""
    metadata: MetadataFilter = any_of(
        [MetadataValue(fields["display" if i.kind == "display" else "entity"], i.text) for i in ids]
    )
    day = ids[0].acquired
    scene_filter = SceneFilter(
        metadata=metadata, acquisition=None if day is None else AcquisitionFilter(day, day)
    )
    scenes: list[Scene] = []
    for page in client.iter_search_pages(dataset, scene_filter, page_size=SEARCH_BATCH):
        scenes.extend(page.scenes)
    return scenes


def resolve_ids(client: M2MClient, dataset: str, texts: Iterable[str]) -> Resolved:
    """Resolve display and entity ids to scenes of ``dataset`` (module docstring).

    Raises:
        InputError: an id of neither form, or a dataset whose scenes cannot be looked up.
        ApiError, NetworkError, AuthError: from the API calls.
    """
    ids = classify_all(texts)
    reasons: dict[str, str] = {}
    for scene_id in ids:
        problem = scene_id.problem or _mismatch(scene_id, dataset)
        if problem:
            reasons[scene_id.text] = problem
    wanted = [i for i in ids if i.text not in reasons]
    found: dict[str, Scene] = {}
    if wanted:
        fields = _field_ids(client, dataset)
        by_day: dict[dt.date | None, list[SceneId]] = {}
        for scene_id in wanted:
            if scene_id.kind == "display" and "display" not in fields:
                reasons[scene_id.text] = f"{dataset} has no product identifier field"
                continue
            by_day.setdefault(scene_id.acquired, []).append(scene_id)
        for day_ids in by_day.values():
            for start in range(0, len(day_ids), SEARCH_BATCH):
                batch = day_ids[start : start + SEARCH_BATCH]
                for scene in _search(client, dataset, batch, fields):
                    found.setdefault(scene.entity_id.upper(), scene)
                    found.setdefault(scene.display_id.upper(), scene)
    return _collect(ids, found, reasons, dataset)


def _collect(
    ids: Sequence[SceneId], found: dict[str, Scene], reasons: dict[str, str], dataset: str
) -> Resolved:
    scenes: dict[str, Scene] = {}
    unavailable: list[tuple[str, str]] = []
    for scene_id in ids:
        scene = found.get(scene_id.text)
        if scene is not None:
            scenes.setdefault(scene.entity_id, scene)
        else:
            reason = reasons.get(scene_id.text) or f"M2M knows no such scene in {dataset}"
            unavailable.append((scene_id.text, reason))
    log.info("ids: %d scene(s) found, %d unavailable", len(scenes), len(unavailable))
    return Resolved(tuple(scenes.values()), tuple(unavailable))


def without_options(scenes: Sequence[Scene], products: Sequence[Product]) -> list[tuple[str, str]]:
    """(display id, reason) for scenes download-options offered nothing for.

    download-options simply leaves such scenes out, so a run that only looks at the
    products would drop them silently.
    """
    offered = {p.entity_id for p in products}
    return [
        (s.display_id or s.entity_id, "M2M offers no download options for this scene")
        for s in scenes
        if s.entity_id not in offered
    ]
