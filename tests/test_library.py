"""The Python API: search, options and download without the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from m2mdl import M2M
from m2mdl.errors import ParameterError
from m2mdl.sandbox import Sandbox

from .cli_helpers import ANCHORAGE, SCENES


def test_search_options_download(sandbox: Sandbox, tmp_path: Path) -> None:
    with M2M("demo", "demo-token", api_url=sandbox.api_url, stac_url=sandbox.stac_url) as m2m:
        scenes = m2m.search(ANCHORAGE, start="2020-03-01", end="2020-03-15", cloud_max=60)
        assert {s.entity_id for s in scenes} == set(SCENES)
        options = m2m.options(scenes[:1])
        assert len(options.to_json()["scenes"][0]["files"]) == 22
        outcome = m2m.download(scenes, "band", tmp_path, bands=["SR_B4"])
        report = m2m.verify(tmp_path)
    assert outcome.exit_code == 0 and outcome.counts["done"] == 9  # SR_B4 and the MTL files
    assert len(list(tmp_path.glob("*/*_SR_B4.TIF"))) == 3  # one folder per scene
    assert len(list(tmp_path.glob("*/*_MTL.*"))) == 6
    assert outcome.manifest is not None
    assert {i.verified for i in outcome.manifest.items.values()} == {"usgs-stac"}
    assert report.intact and [f.verified for f in report.files] == ["usgs-stac"] * 9


def test_sandbox_session_and_bbox_area(tmp_path: Path) -> None:
    with M2M.sandbox() as m2m:
        scenes = m2m.search(
            (-150.9495, 61.0031, -148.9555, 61.4834),
            start="2020-03-01",
            end="2020-03-15",
            cloud_max=20,
        )
        assert len(scenes) == 2
        plan = m2m.download(scenes, "bundle", tmp_path, dry_run=True)
    assert len(plan.plan.files) == 2 and not list(tmp_path.iterdir())


def test_sandbox_session_verifies_against_the_sandbox_stac(tmp_path: Path) -> None:
    with M2M.sandbox() as m2m:
        assert m2m.settings.stac_url.startswith("http://127.0.0.1:")
        scenes = m2m.search(ANCHORAGE, start="2020-03-01", end="2020-03-15", cloud_max=60)
        outcome = m2m.download(scenes[:1], "band", tmp_path, bands=["QA_PIXEL"])
    assert outcome.exit_code == 0 and outcome.manifest is not None
    assert len(outcome.manifest.items) == 3  # QA_PIXEL and the two MTL files
    assert {i.verified for i in outcome.manifest.items.values()} == {"usgs-stac"}


def test_sandbox_session_with_a_bad_setting_stops_its_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stopped: list[Sandbox] = []
    real_stop = Sandbox.stop

    def spy(self: Sandbox) -> None:
        stopped.append(self)
        real_stop(self)

    monkeypatch.setattr(Sandbox, "stop", spy)
    with pytest.raises(ParameterError, match="workers 'many' is not a valid int"):
        M2M.sandbox(workers="many")
    assert len(stopped) == 1
