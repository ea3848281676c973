"""GeoJSON input: :func:`parse_geojson` and :func:`load_aoi`, and the GeoJSON structure checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from m2mdl.errors import AoiError
from m2mdl.util.jsontypes import JsonMapping, JsonValue

from . import limits
from .base import _NOT_AN_AREA, _SIMPLIFY_HINT, _context, _Labeled, _not_an_area, _short
from .model import Aoi
from .validate import _finish, _parse_polygon


def parse_geojson(text: str, source: str = "<string>") -> Aoi:
    """Parse GeoJSON text into a validated AOI.

    Accepts a Polygon, MultiPolygon, GeometryCollection of those, Feature, or FeatureCollection
    (all polygonal features merged). Every error message starts with ``source``.

    Args:
        text: the GeoJSON text.
        source: a name for the text (a file path), used in messages and kept in ``Aoi.source``.

    Raises:
        AoiError: the text is not JSON, not GeoJSON, not polygonal, or not a valid area.
    """
    with _context(f"{source}: "):
        data = _load_json(text)
        return _finish(_top_level_polygons(data), source)


def load_aoi(path: str | Path) -> Aoi:
    """Read and validate a GeoJSON AOI file ("-" reads standard input).

    Raises:
        AoiError: the file is missing, unreadable, too big, not UTF-8, or not a valid AOI.
    """
    name = "<stdin>" if str(path) == "-" else str(path)
    try:
        if name == "<stdin>":
            data = sys.stdin.buffer.read(limits.MAX_FILE_BYTES + 1)
        else:
            with Path(path).open("rb") as stream:
                data = stream.read(limits.MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise AoiError(f"cannot read AOI file {name}: {exc.strerror or exc}") from None
    if len(data) > limits.MAX_FILE_BYTES:
        raise AoiError(
            f"AOI file {name} is larger than {limits.MAX_FILE_BYTES // 2**20} MiB",
            hint=_SIMPLIFY_HINT,
        )
    try:
        # utf-8-sig: editors on Windows like to prepend a BOM, which is harmless here.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AoiError(
            f"AOI file {name} is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}",
            hint="save it as UTF-8, which JSON requires (RFC 8259)",
        ) from None
    return parse_geojson(text, source=name)


def _load_json(text: str) -> JsonValue:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AoiError(
            f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): {_short(text[:60])}"
        ) from None
    except (ValueError, RecursionError) as exc:
        # Python refuses integers over 4,300 digits and very deep nesting: still not an AOI.
        raise AoiError(f"not usable JSON ({_short(str(exc))}): {_short(text[:60])}") from None


def _type_of(obj: JsonValue, what: str) -> str:
    """Return a GeoJSON object's "type", or raise: JSON that is not GeoJSON."""
    kind = obj.get("type") if isinstance(obj, dict) else None
    if not isinstance(kind, str):
        raise AoiError(
            f'{what} is JSON but not GeoJSON: expected an object with a "type", got {_short(obj)}'
        )
    return kind


def _top_level_polygons(data: JsonValue) -> list[_Labeled]:
    kind = _type_of(data, "the top level")
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise AoiError(f'FeatureCollection has no "features" list: {_short(features)}')
        if not features:
            raise AoiError('FeatureCollection has no features ("features": [])')
        labeled: list[_Labeled] = []
        for i, feature in enumerate(features, 1):
            prefix = f"feature {i} of {len(features)}: "
            with _context(prefix):
                feature_kind = _type_of(feature, "the feature")
                if feature_kind != "Feature":
                    raise AoiError(f"the feature is a {feature_kind}, not a Feature")
                labeled += [(prefix + p, n, poly) for p, n, poly in _feature_polygons(feature)]
        return labeled
    if kind == "Feature":
        return _feature_polygons(data)
    return _geometry_polygons(data)


def _feature_polygons(feature: JsonMapping) -> list[_Labeled]:
    if "geometry" not in feature:
        raise AoiError('the Feature has no "geometry" member')
    if feature["geometry"] is None:
        raise AoiError("the Feature has a null geometry")
    return _geometry_polygons(feature["geometry"])


def _geometry_polygons(geom: JsonValue, nested: bool = False) -> list[_Labeled]:
    """Return the polygons of a geometry; only polygonal geometries are areas."""
    kind = _type_of(geom, "the geometry")
    if kind == "Polygon":
        return [("", 1, _parse_polygon(_coordinates(geom, kind), 1))]
    if kind == "MultiPolygon":
        raws = _coordinates(geom, kind)
        return [("", n, _parse_polygon(raw, n)) for n, raw in enumerate(raws, 1)]
    if kind == "GeometryCollection":
        if nested:
            raise AoiError("a GeometryCollection inside a GeometryCollection is not supported")
        geometries = geom.get("geometries")
        if not isinstance(geometries, list) or not geometries:
            raise AoiError(f'GeometryCollection has no "geometries": {_short(geometries)}')
        labeled: list[_Labeled] = []
        for i, member in enumerate(geometries, 1):
            prefix = f"geometry {i} of {len(geometries)}: "
            with _context(prefix):
                inner = _geometry_polygons(member, nested=True)
                labeled += [(prefix + p, n, poly) for p, n, poly in inner]
        return labeled
    if kind in _NOT_AN_AREA:
        raise _not_an_area(kind)
    raise AoiError(
        f"unsupported GeoJSON type {kind!r}; expected Polygon, MultiPolygon,"
        " GeometryCollection, Feature or FeatureCollection"
    )


def _coordinates(geom: JsonMapping, kind: str) -> list[JsonValue]:
    coordinates = geom.get("coordinates")
    if not isinstance(coordinates, list) or not coordinates:
        raise AoiError(f'the {kind} has empty or missing "coordinates": {_short(coordinates)}')
    return coordinates
