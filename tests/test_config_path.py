"""A config file the user names (``--config``, M2MDL_CONFIG) must exist; the default need not.

A mistyped ``--config`` path must not run the command with none of the settings the user
meant, silently. The default file (config.toml in the config directory) is optional: m2mdl
needs no config at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from m2mdl import config
from m2mdl.errors import ConfigError, ExitCode

from .cli_helpers import ANCHORAGE, run

#: A command that succeeds without any config file (the sandbox answers it).
SEARCH = ["--sandbox", "search", "--aoi", str(ANCHORAGE), "--start", "2020-03-01", "--end"]
SEARCH += ["2020-03-15", "--output", "json"]


def test_a_missing_file_named_by_config_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent.toml"
    with pytest.raises(ConfigError) as caught:
        config.resolve({}, environ={}, path=missing, required=True)
    error = caught.value
    assert error.exit_code == ExitCode.INPUT
    assert str(missing) in str(error) and "--config" in str(error), str(error)
    assert error.hint and "--config" in error.hint


def test_a_missing_file_named_by_m2mdl_config_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nonexistent.toml"
    monkeypatch.setenv("M2MDL_CONFIG", str(missing))
    with pytest.raises(ConfigError) as caught:
        config.resolve({}, environ={})
    error = caught.value
    assert error.exit_code == ExitCode.INPUT
    assert str(missing) in str(error) and "M2MDL_CONFIG" in str(error), str(error)
    assert error.hint and "M2MDL_CONFIG" in error.hint


def test_the_default_file_may_be_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M2MDL_CONFIG_DIR", str(tmp_path / "no-such-dir"))
    assert not config.config_path().exists()
    assert config.load_file() == {}
    assert config.resolve({}, environ={}, required=True) == config.Settings()


def test_an_empty_m2mdl_config_names_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M2MDL_CONFIG_DIR", str(tmp_path / "no-such-dir"))
    monkeypatch.setenv("M2MDL_CONFIG", "")
    assert config.load_file() == {}


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_named_file_that_exists_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("workers = 2\n", encoding="utf-8")
    if how == "env":
        monkeypatch.setenv("M2MDL_CONFIG", str(path))
        assert config.resolve({}, environ={}).workers == 2
    else:
        assert config.resolve({}, environ={}, path=path, required=True).workers == 2


# --- the CLI --------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after", "env"])
def test_the_cli_refuses_a_missing_config_file(tmp_path: Path, where: str) -> None:
    missing = tmp_path / "nonexistent.toml"
    env: dict[str, str | None] = {}
    args = list(SEARCH)
    if where == "before":
        args = ["--config", str(missing), *args]
    elif where == "after":
        args = [*args, "--config", str(missing)]
    else:
        env["M2MDL_CONFIG"] = str(missing)
    result = run(args, env)
    assert result.exit_code == ExitCode.INPUT, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: config file") and str(missing) in lines[0], lines
    assert ("M2MDL_CONFIG" if where == "env" else "--config") in lines[0], lines
    assert lines[1].startswith("hint: ") and len(lines) == 2, lines
    assert "M2MDL_CONFIG" not in os.environ or where == "env"


def test_the_cli_runs_without_any_config_file() -> None:
    assert not config.config_path().exists()
    result = run(SEARCH)
    assert result.exit_code == ExitCode.OK, result.stderr
    assert "config" not in result.stderr and '"scenes"' in result.stdout


def test_doctor_reports_a_missing_config_file_as_its_configuration_check(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent.toml"
    result = run(["--config", str(missing), "doctor", "--json"])
    assert result.exit_code == ExitCode.INPUT, result.stderr
    assert str(missing) in result.stdout and '"configuration"' in result.stdout, result.stdout
