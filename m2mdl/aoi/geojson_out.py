"""GeoJSON output: :func:`dumps`, the text ``m2mdl aoi`` writes."""

from __future__ import annotations

import json
import re

import geojson

from .model import Aoi


def dumps(aoi: Aoi) -> str:
    """Return the AOI as pretty GeoJSON FeatureCollection text (positions kept on one line).

    Coordinates are written with full float precision (``geojson.dumps`` would round to
    6 decimals), and the text is checked with the ``geojson`` package before it is returned.
    """
    text = json.dumps(aoi.feature_collection(), indent=2, ensure_ascii=False)
    # json puts each number of a position on its own line; JSON strings cannot hold a raw
    # newline, so this only ever matches positions.
    text = re.sub(r"\[\n\s*([-+0-9.eE]+),\n\s*([-+0-9.eE]+)\n\s*\]", r"[\1, \2]", text)
    checked = geojson.loads(text)
    if not checked.is_valid:  # an m2mdl bug, never bad user input
        raise RuntimeError(f"m2mdl produced invalid GeoJSON: {checked.errors()}")
    return text + "\n"
