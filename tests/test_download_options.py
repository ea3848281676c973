"""download's own settings: --limit-rate and --layout, from flags, environment and config."""

from __future__ import annotations

import pytest

from m2mdl.cli.download import _layout, _rate
from m2mdl.config import Settings, load_env
from m2mdl.errors import InputError


@pytest.mark.parametrize(
    ("text", "rate"),
    [("10M", 10_000_000), ("500k", 500_000), ("1.5MiB", 1_572_864), ("0", None), ("", None)],
)
def test_limit_rate_is_bytes_per_second_in_max_size_units(text: str, rate: int | None) -> None:
    assert _rate(Settings(limit_rate=text)) == rate


def test_limit_rate_and_layout_come_from_the_environment() -> None:
    values = load_env({"M2MDL_LIMIT_RATE": "2M", "M2MDL_LAYOUT": "FLAT"})
    settings = Settings().with_overrides(values)
    assert _rate(settings) == 2_000_000 and _layout(settings) == "flat"


@pytest.mark.parametrize("text", ["fast", "-1M", "10 parsecs"])
def test_a_bad_rate_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="--limit-rate"):
        _rate(Settings(limit_rate=text))


def test_the_default_layout_is_one_folder_per_scene() -> None:
    assert _layout(Settings()) == "scene"
    with pytest.raises(InputError, match="diagonal"):
        _layout(Settings(layout="diagonal"))
