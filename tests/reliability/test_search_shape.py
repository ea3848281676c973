"""Search: many polygons cost one search, not one per polygon; --sort applies before --limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from m2mdl.sandbox import Sandbox

from ..cli_helpers import NOTEBOOK_QUERY
from .helpers import api_calls, cli_env, run_cli

pytestmark = pytest.mark.reliability

DATES = ["--start", "2020-03-01", "--end", "2020-03-31"]


def _square(lon: float, lat: float, size: float = 0.01) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def _collection(squares: list[list[list[float]]]) -> dict[str, Any]:
    features = [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [sq]}}
        for sq in squares
    ]
    return {"type": "FeatureCollection", "features": features}


def _ids(sb: Sandbox, aoi: Path) -> set[str]:
    result = run_cli(
        ["search", "--aoi", str(aoi), *DATES, "--output", "jsonl"], cli_env(sb), timeout=60
    )
    assert result.code == 0, result.explain()
    return {json.loads(line)["entity_id"] for line in result.stdout.splitlines() if line}


def test_many_polygons_are_searched_once_and_filtered_to_the_same_scenes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Ten squares near Anchorage and two ~4 degrees east: the box between them holds scenes
    # that meet no square, which the client-side filter must drop.
    squares = [_square(-149.9 + 0.05 * i, 61.2) for i in range(10)]
    squares += [_square(-145.5, 61.3), _square(-145.4, 61.35)]
    many = tmp_path / "many.geojson"
    many.write_text(json.dumps(_collection(squares)))
    expected: set[str] = set()
    for i, square in enumerate(squares):
        one = tmp_path / f"one{i}.geojson"
        one.write_text(json.dumps(_collection([square])))
        expected |= _ids(sandbox, one)
    before = len(api_calls(sandbox, "scene-search"))
    found = _ids(sandbox, many)
    calls = len(api_calls(sandbox, "scene-search")) - before
    assert expected, "the sandbox has no scenes there: the test proves nothing"
    assert found == expected
    assert calls <= 2, f"{calls} scene-search calls for {len(squares)} polygons"


def test_a_thousand_polygons_make_one_search(sandbox: Sandbox, tmp_path: Path) -> None:
    squares = [_square(-150.0 + 0.02 * (i % 50), 61.0 + 0.02 * (i // 50)) for i in range(1000)]
    aoi = tmp_path / "thousand.geojson"
    aoi.write_text(json.dumps(_collection(squares)))
    found = _ids(sandbox, aoi)
    assert found, "no scenes found under a thousand squares over Anchorage"
    assert len(api_calls(sandbox, "scene-search")) <= 2


@pytest.mark.parametrize("sort", ["cloud", "-cloud", "acquired", "-acquired"])
def test_sort_applies_before_limit(sandbox: Sandbox, sort: str) -> None:
    base = ["search", *NOTEBOOK_QUERY, "--output", "jsonl", "--sort", sort]
    everything = run_cli(base, cli_env(sandbox), timeout=60)
    limited = run_cli([*base, "--limit", "2"], cli_env(sandbox), timeout=60)
    assert everything.code == 0 and limited.code == 0, everything.explain() + limited.explain()
    all_ids = [json.loads(line)["entity_id"] for line in everything.stdout.splitlines() if line]
    first = [json.loads(line)["entity_id"] for line in limited.stdout.splitlines() if line]
    assert len(all_ids) > 2, "too few scenes to tell"
    assert first == all_ids[:2], (sort, first, all_ids)
