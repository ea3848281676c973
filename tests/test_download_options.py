"""download's own settings: --limit-rate and --layout, from flags, environment and config."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from m2mdl.api import M2MClient
from m2mdl.auth import MemoryStore
from m2mdl.cli.download import _layout, _rate
from m2mdl.config import Settings, load_env
from m2mdl.errors import InputError
from m2mdl.transfer import NullSink
from m2mdl.workflow.context import Context
from m2mdl.workflow.download import DownloadSpec, _Run


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


def test_the_rate_reaches_the_transfer_engine(tmp_path: Path) -> None:
    """--limit-rate ends as the engine's shared token bucket rate (TransferOptions.limit_rate)."""
    ctx = Context(settings=Settings(), store=MemoryStore())
    client = M2MClient(ctx.settings.api_url, requests.Session())  # never called here
    spec = DownloadSpec(
        filetype="band", out_dir=tmp_path, dataset="landsat_ot_c2_l2", limit_rate=123_456
    )
    run = _Run(ctx, client, spec, [], lambda n, size: NullSink(), threading.Event())
    assert run._options_for_engine().limit_rate == 123_456
    unlimited = replace(spec, limit_rate=None)
    run = _Run(ctx, client, unlimited, [], lambda n, size: NullSink(), threading.Event())
    assert run._options_for_engine().limit_rate is None
