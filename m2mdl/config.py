"""Where m2mdl keeps its files, and the settings resolved from flags, environment and config.

Precedence, for every setting: command-line flag > M2MDL_* environment variable > config file
(``config.toml`` in the config directory) > built-in default. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeAlias

from .errors import ConfigError, ParameterError, literal

APP_NAME = "m2mdl"
#: The real M2M service; the sandbox and tests override it.
DEFAULT_API_URL = "https://m2m.cr.usgs.gov/api/api/json/stable/"
DEFAULT_DATASET = "landsat_ot_c2_l2"
#: The USGS LandsatLook STAC API, which publishes per-file SHA-512 checksums (docs/design.md).
DEFAULT_STAC_URL = "https://landsatlook.usgs.gov/stac-server"
#: USGS staff guidance is "up to 5 open connections"; peers use 3 to 5. Four leaves headroom.
DEFAULT_WORKERS = 4

#: The type of a setting's value: every field of :class:`Settings` is one of these.
SettingValue: TypeAlias = str | int | float | bool


def config_dir() -> Path:
    """The directory of config.toml (and of the credentials file where no keyring exists)."""
    override = os.environ.get("M2MDL_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs  # imported lazily: start-up time matters for --version

    return platformdirs.user_config_path(APP_NAME)


def state_dir() -> Path:
    """The directory of non-secret state (the --debug log of the last run)."""
    override = os.environ.get("M2MDL_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_state_path(APP_NAME)


def config_path() -> Path:
    """The config file: M2MDL_CONFIG, else config.toml in the config directory."""
    override = os.environ.get("M2MDL_CONFIG")
    return Path(override) if override else config_dir() / "config.toml"


@dataclass(frozen=True)
class Settings:
    """Settings shared by every command. Built once by the CLI, passed down explicitly."""

    api_url: str = DEFAULT_API_URL
    dataset: str = DEFAULT_DATASET
    out_dir: str = "."
    workers: int = DEFAULT_WORKERS
    segments: int = 4
    timeout: float = 60.0
    wait: float = 600.0
    stall_seconds: float = 60.0  # a transfer that moves almost nothing this long reconnects
    cloud_max: float = 100.0
    verify_tls: bool = True
    keep_server_state: bool = False
    stac_url: str = DEFAULT_STAC_URL
    default_days: int = 30  # a download with no dates, ids or --from searches this many days
    max_size: str = "100GB"  # a larger plan asks for confirmation (or --yes)
    layout: str = "scene"  # where files go: OUT/<display id>/ ("scene") or OUT/ ("flat")
    limit_rate: str = ""  # bandwidth for all transfers together, e.g. 10M; "" or 0: none

    def with_overrides(self, values: Mapping[str, SettingValue | None]) -> Settings:
        """Return a copy with the non-None values of ``values`` applied."""
        # Any: mypy checks replace() per field, and one dict cannot give each key its own value
        # type; each value already has its field's type (from _coerce, or the flag's own).
        changes: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
        return replace(self, **changes)


# Environment variable -> (setting, parser). The secrets M2MDL_USERNAME/M2MDL_TOKEN are not
# settings: auth reads them and never writes them anywhere.
_ENV: dict[str, str] = {
    "M2MDL_API_URL": "api_url",
    "M2MDL_DATASET": "dataset",
    "M2MDL_OUT": "out_dir",
    "M2MDL_WORKERS": "workers",
    "M2MDL_SEGMENTS": "segments",
    "M2MDL_TIMEOUT": "timeout",
    "M2MDL_WAIT": "wait",
    "M2MDL_STALL_SECONDS": "stall_seconds",
    "M2MDL_CLOUD_MAX": "cloud_max",
    "M2MDL_VERIFY_TLS": "verify_tls",
    "M2MDL_KEEP_SERVER_STATE": "keep_server_state",
    "M2MDL_STAC_URL": "stac_url",
    "M2MDL_DEFAULT_DAYS": "default_days",
    "M2MDL_MAX_SIZE": "max_size",
    "M2MDL_LAYOUT": "layout",
    "M2MDL_LIMIT_RATE": "limit_rate",
}
_TYPES: dict[str, type] = {f.name: type(getattr(Settings(), f.name)) for f in fields(Settings)}


def _coerce(name: str, raw: object, source: str) -> SettingValue:
    """``raw`` as setting ``name``'s type, for a file or a variable named by ``source``."""
    try:
        return _convert(name, raw)
    except ValueError as exc:
        raise ConfigError(f"{source}: {name} = {raw!r} {exc}") from None


def _convert(name: str, raw: object) -> SettingValue:
    """``raw`` as setting ``name``'s type; ValueError saying what is wrong with it."""
    kind = _TYPES[name]
    invalid = f"is not a valid {kind.__name__}"
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ValueError(invalid)
    if (kind is int and isinstance(raw, float)) or isinstance(raw, bool):
        raise ValueError(invalid)
    try:
        value: SettingValue = kind(raw)
    except (TypeError, ValueError):
        raise ValueError(invalid) from None
    # isinstance, not kind: the same test (a bool setting returned above), and mypy narrows it
    if isinstance(value, (int, float)) and value < 0:
        raise ValueError("must not be negative")
    return value


def check_values(values: Mapping[str, SettingValue | None]) -> dict[str, SettingValue]:
    """Settings given by name (flags, ``M2M(**settings)``), each of its setting's type.

    None means "not given" and is left out.

    Raises:
        ParameterError: an unknown name, or a value of the wrong type or below 0 (named as
            the parameter, which the CLI spells as its flag).
    """
    checked: dict[str, SettingValue] = {}
    for name, raw in values.items():
        if raw is None:
            continue
        if name not in _TYPES:
            known = ", ".join(sorted(_TYPES))
            raise ParameterError(f"unknown setting {literal(repr(name))} (known: {known})")
        try:
            checked[name] = _convert(name, raw)
        except ValueError as exc:
            raise ParameterError(f"${{{name}}} {literal(repr(raw))} {exc}") from None
    return checked


def load_file(path: Path | None = None, *, required: bool = False) -> dict[str, SettingValue]:
    """Read the config file into setting values.

    Args:
        path: the file to read; None: M2MDL_CONFIG, else config.toml in the config directory.
        required: ``path`` is a file the user named (``--config``), so it must exist.

    The default file may be absent (an empty config: m2mdl needs none). A file the user named,
    by ``--config`` or M2MDL_CONFIG, must exist: a mistyped name would otherwise run the
    command with none of the settings the user meant, and say nothing.

    Raises:
        ConfigError: a named file does not exist, or the file is not valid TOML or names an
            unknown setting.
    """
    named = "--config" if path is not None and required else None
    if path is None and os.environ.get("M2MDL_CONFIG"):
        named = "M2MDL_CONFIG"
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named is None:
            return {}
        raise ConfigError(
            f"config file {path} (named by {named}) does not exist",
            hint=f"check the path, or leave out {named}: the default config file is optional",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    # The TOML parser is imported only when there is a file to parse (start-up).
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    values: dict[str, SettingValue] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in _TYPES:
            known = ", ".join(sorted(_TYPES))
            raise ConfigError(f"{path}: unknown setting {key!r} (known: {known})")
        values[name] = _coerce(name, value, str(path))
    return values


def load_env(environ: Mapping[str, str] | None = None) -> dict[str, SettingValue]:
    """Read the M2MDL_* environment variables into setting values."""
    env = os.environ if environ is None else environ
    return {
        name: _coerce(name, env[var], var)
        for var, name in _ENV.items()
        if env.get(var, "").strip() != ""
    }


def resolve(
    flags: Mapping[str, SettingValue | None],
    *,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
    required: bool = False,
) -> Settings:
    """Build Settings from defaults < config file < environment < flags (None = not given).

    ``path`` and ``required`` choose the config file as :func:`load_file` says.
    """
    return (
        Settings()
        .with_overrides(load_file(path, required=required))
        .with_overrides(load_env(environ))
        .with_overrides(check_values(flags))
    )
