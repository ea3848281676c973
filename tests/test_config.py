"""Settings precedence: flag > environment > config file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from m2mdl import config
from m2mdl.errors import ConfigError, ParameterError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file(tmp_path: Path) -> None:
    settings = config.resolve({}, environ={}, path=tmp_path / "missing.toml")
    assert settings == config.Settings()
    assert settings.api_url == config.DEFAULT_API_URL and settings.workers == 4


def test_precedence(tmp_path: Path) -> None:
    path = write(tmp_path, 'workers = 2\ndataset = "from_file"\nout-dir = "/data"\n')
    env = {"M2MDL_WORKERS": "3", "M2MDL_DATASET": "from_env"}
    settings = config.resolve({"workers": 5, "dataset": None}, environ=env, path=path)
    assert settings.workers == 5  # flag
    assert settings.dataset == "from_env"  # env beats file
    assert settings.out_dir == "/data"  # file beats default


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("workers = 'many'", "workers"),
        ("workers = -1", "negative"),
        ("colour = true", "unknown setting 'colour'"),
        ("workers = ", "cannot read"),
        ("verify_tls = 'perhaps'", "verify_tls"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        config.resolve({}, environ={}, path=write(tmp_path, text))


def test_bad_environment_value() -> None:
    with pytest.raises(ConfigError, match="M2MDL_WORKERS"):
        config.load_env({"M2MDL_WORKERS": "x"})


def test_boolean_environment_values() -> None:
    assert config.load_env({"M2MDL_VERIFY_TLS": "off"}) == {"verify_tls": False}


def test_paths_follow_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("M2MDL_CONFIG_DIR", str(tmp_path / "c"))
    assert config.config_path() == tmp_path / "c" / "config.toml"
    monkeypatch.setenv("M2MDL_CONFIG", str(tmp_path / "x.toml"))
    assert config.config_path() == tmp_path / "x.toml"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"workers": "many"}, "workers 'many' is not a valid int"),
        ({"workers": 2.5}, "workers 2.5 is not a valid int"),
        ({"workers": True}, "workers True is not a valid int"),
        ({"timeout": -1.0}, "timeout -1.0 must not be negative"),
        ({"verify_tls": "maybe"}, "verify_tls 'maybe' is not a valid bool"),
        ({"wrkers": 4}, "unknown setting 'wrkers'"),
    ],
)
def test_values_given_by_name_are_checked(
    tmp_path: Path, given: dict[str, config.SettingValue], message: str
) -> None:
    with pytest.raises(ParameterError) as info:
        config.resolve(given, environ={}, path=tmp_path / "missing.toml")
    assert str(info.value).startswith(message)


def test_values_given_by_name_keep_their_type(tmp_path: Path) -> None:
    settings = config.resolve(
        {"workers": 8, "timeout": 5, "verify_tls": False, "dataset": "landsat_ot_c2_l1"},
        environ={},
        path=tmp_path / "missing.toml",
    )
    assert (settings.workers, settings.timeout, settings.verify_tls) == (8, 5.0, False)
    assert isinstance(settings.timeout, float) and settings.dataset == "landsat_ot_c2_l1"
