"""Machine-readable output: JSON, JSON lines, CSV and GeoJSON, and reading them back.

Schemas (docs/output.md and docs/schemas/, versioned by ``schema_version``):
- ``search --output json``: ``{"schema_version": 1, "kind": "scenes", "dataset", "count",
  "total_hits", "scenes": [scene, ...]}``;
- ``jsonl``: one scene object per line; ``csv``: a header row then one row per scene, the
  footprint as a GeoJSON string; ``geojson``: a FeatureCollection of footprints whose
  properties are the scene without its footprint.
A scene object is ``Scene.to_json()``. ``download --from FILE`` reads any of the four back.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .errors import InputError
from .models import Scene
from .util.jsontypes import JsonMapping, JsonObject

SCHEMA_VERSION = 1
FORMATS = ("table", "json", "jsonl", "csv", "geojson")
CSV_FIELDS = (
    "entity_id",
    "display_id",
    "dataset",
    "acquired",
    "cloud_cover",
    "wrs_path",
    "wrs_row",
    "publish_date",
    "footprint",
)


def envelope(kind: str, payload: JsonMapping) -> JsonObject:
    """Wrap a command's JSON output with its schema version and kind."""
    return {"schema_version": SCHEMA_VERSION, "kind": kind, **payload}


def scenes_json(scenes: Sequence[Scene], *, dataset: str, total_hits: int) -> str:
    """``search --output json``."""
    doc = envelope(
        "scenes",
        {
            "dataset": dataset,
            "count": len(scenes),
            "total_hits": total_hits,
            "scenes": [s.to_json() for s in scenes],
        },
    )
    return json.dumps(doc, indent=2)


def scenes_jsonl(scenes: Iterable[Scene]) -> str:
    """``search --output jsonl``: one compact object per line."""
    return "".join(json.dumps(s.to_json(), separators=(",", ":")) + "\n" for s in scenes)


def scenes_csv(scenes: Iterable[Scene]) -> str:
    """``search --output csv`` with a header row."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for scene in scenes:
        row = scene.to_json()
        row["footprint"] = json.dumps(row["footprint"]) if row["footprint"] else ""
        writer.writerow({k: "" if row[k] is None else row[k] for k in CSV_FIELDS})
    return buffer.getvalue()


def scenes_geojson(scenes: Iterable[Scene]) -> str:
    """``search --output geojson``: a FeatureCollection ready for QGIS."""
    features = []
    for scene in scenes:
        props = scene.to_json()
        geometry = props.pop("footprint")
        features.append(
            {"type": "Feature", "id": scene.entity_id, "geometry": geometry, "properties": props}
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=2)


def render_scenes(fmt: str, scenes: Sequence[Scene], *, dataset: str, total_hits: int) -> str:
    """Render scenes in one of the machine formats.

    Raises:
        InputError: an unknown format.
    """
    if fmt == "json":
        return scenes_json(scenes, dataset=dataset, total_hits=total_hits) + "\n"
    if fmt == "jsonl":
        return scenes_jsonl(scenes)
    if fmt == "csv":
        return scenes_csv(scenes)
    if fmt == "geojson":
        return scenes_geojson(scenes) + "\n"
    raise InputError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _scene_from_csv(row: Mapping[str, str]) -> JsonObject:
    data: JsonObject = {k: (v if v != "" else None) for k, v in row.items()}
    if data.get("footprint"):
        data["footprint"] = json.loads(str(data["footprint"]))
    return data


def _records(text: str, source: str) -> list[JsonMapping]:
    stripped = text.lstrip()
    if stripped.startswith("entity_id,") or stripped.startswith('"entity_id"'):
        return [_scene_from_csv(r) for r in csv.DictReader(io.StringIO(text))]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{source}: not a saved search (JSON, JSON lines, CSV or "
                f"GeoJSON): line {exc.lineno}: {exc.msg}"
            ) from exc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        return [
            dict(f.get("properties") or {}, footprint=f.get("geometry"))
            for f in doc.get("features", [])
            if isinstance(f, dict)
        ]
    if isinstance(doc, dict) and isinstance(doc.get("scenes"), list):
        return list(doc["scenes"])
    if isinstance(doc, dict):
        return [doc]
    if isinstance(doc, list):
        return list(doc)
    raise InputError(f"{source}: not a saved search")


def read_scenes(path: Path) -> list[Scene]:
    """Read scenes saved by ``search --output json|jsonl|csv|geojson`` (``-`` is not allowed).

    Raises:
        InputError: unreadable file, unknown format, or a record without ``entity_id``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    scenes = []
    for number, record in enumerate(_records(text, str(path)), start=1):
        if not isinstance(record, Mapping) or not record.get("entity_id"):
            raise InputError(f"{path}: record {number} has no entity_id")
        scenes.append(Scene.from_output(record))
    if not scenes:
        raise InputError(f"{path}: no scenes in the file")
    datasets = {s.dataset for s in scenes if s.dataset}
    if len(datasets) > 1:
        raise InputError(f"{path}: scenes of several datasets ({', '.join(sorted(datasets))})")
    return scenes
