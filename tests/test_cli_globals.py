"""Global flags after the command, the session's lifecycle, --config, and parameter names."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from m2mdl.auth import FileStore
from m2mdl.cli._app import State
from m2mdl.cli.flags import FLAG_NAMES
from m2mdl.errors import ParameterError
from m2mdl.sandbox import Sandbox
from m2mdl.ui import Ui
from m2mdl.workflow.search import SearchQuery

from .cli_helpers import ANCHORAGE, env_for, run

SEARCH = ["--aoi", str(ANCHORAGE), "--start", "2020-01-01", "--end", "2020-12-31"]
NO_ENV = {"M2MDL_API_URL": None, "M2MDL_USERNAME": None, "M2MDL_TOKEN": None}


def test_sandbox_after_the_command_is_the_same_as_before_it() -> None:
    before = run(["--sandbox", "search", *SEARCH, "--output", "json"], NO_ENV)
    after = run(["search", "--sandbox", *SEARCH, "--output", "json"], NO_ENV)
    assert before.exit_code == after.exit_code == 0, before.stderr + after.stderr
    ids = [[s["entity_id"] for s in json.loads(r.stdout)["scenes"]] for r in (before, after)]
    assert ids[0] == ids[1] and ids[0]


def test_quiet_after_the_command_silences_notes(tmp_path: Path) -> None:
    bbox = ["--bbox", "-150", "61", "-149", "62"]
    loud = run(["aoi", *bbox, "-o", str(tmp_path / "a.geojson")])
    quiet = run(["aoi", *bbox, "-o", str(tmp_path / "b.geojson"), "--quiet"])
    assert loud.exit_code == quiet.exit_code == 0
    assert "wrote" in loud.stderr and "wrote" not in quiet.stderr
    assert (tmp_path / "b.geojson").read_text() == (tmp_path / "a.geojson").read_text()


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_is_passed_explicitly_in_either_place(tmp_path: Path, where: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text('workers = "many"\n', encoding="utf-8")
    flag = ["--config", str(config)]
    args = (
        [*flag, "verify", str(tmp_path)] if where == "before" else ["verify", str(tmp_path), *flag]
    )
    result = run(args)
    assert result.exit_code == 2, result.stderr
    assert str(config) in result.stderr and "workers" in result.stderr
    assert "M2MDL_CONFIG" not in os.environ, "--config leaked into the process environment"


def test_a_command_help_lists_the_global_flags() -> None:
    result = run(["download", "--help"])
    assert result.exit_code == 0
    for flag in ("--sandbox", "--config", "--quiet", "--verbose", "--debug", "--no-color"):
        assert flag in result.stdout, flag


def test_python_callers_read_parameter_names_and_the_cli_reads_flags() -> None:
    with pytest.raises(ParameterError) as info:
        SearchQuery(dataset="d", path=10, start=dt.date(2021, 1, 1), end=dt.date(2020, 1, 1))
    assert str(info.value) == "start 2021-01-01 is after end 2020-01-01"
    assert str(info.value.spelled(FLAG_NAMES)) == "--start 2021-01-01 is after --end 2020-01-01"
    assert str(info.value) == "start 2021-01-01 is after end 2020-01-01", "the original changed"
    with pytest.raises(ParameterError, match=r"^cloud_max 120 is outside 0\.\.100$"):
        SearchQuery(dataset="d", path=10, cloud_max=120)
    with pytest.raises(ParameterError, match=r"^sort '\$x' is not one of"):
        SearchQuery(dataset="d", path=10, sort="$x")


def test_the_cli_names_flags(sandbox: Sandbox) -> None:
    result = run(["search", *SEARCH[:2], "--cloud-max", "120"], env_for(sandbox))
    assert result.exit_code == 2
    assert "--cloud-max 120 is outside 0..100" in result.stderr
    result = run(["search", "--start", "2021-01-01", "--end", "2020-01-01"], env_for(sandbox))
    assert result.exit_code == 2
    assert "--start 2021-01-01 is after --end 2020-01-01" in result.stderr


def test_the_session_records_when_the_key_was_last_used(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M2MDL_API_URL", sandbox.api_url)
    for name in ("M2MDL_USERNAME", "M2MDL_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    login = run(
        ["login", "--username", "demo", "--token-stdin"], {"M2MDL_TOKEN": None}, "demo-token\n"
    )
    assert login.exit_code == 0, login.stderr
    store = FileStore(Path(os.environ["M2MDL_CONFIG_DIR"]) / "credentials.json")
    first = store.load()
    assert first is not None and first.key_last_used is not None
    ui = Ui(quiet=True, verbose=False, color=False)
    with State(flags={}).session(ui) as context:
        context.client().permissions()
        context.clock = lambda: first.key_last_used + 600  # type: ignore[operator]
    later = store.load()
    assert later is not None and later.api_key == first.api_key
    assert later.key_last_used == first.key_last_used + 600
