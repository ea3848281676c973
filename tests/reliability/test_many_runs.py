"""Eight runs from one machine at once (one IP, one request in flight at a time): all finish."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox

from .helpers import BUNDLES, CliProcess, api_calls, assert_complete, cli_env, download_args

pytestmark = pytest.mark.reliability

RUNS = 8


def test_eight_concurrent_runs_all_finish(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    # Every API call holds the per-IP slot for 0.3 s, as a slow real call does: the runs
    # collide on RATE_LIMIT_USER all the time and must take turns.
    sb = sandbox_factory(data_scale=0.001, api_min_seconds=0.3)
    outs = [tmp_path / f"out{i}" for i in range(RUNS)]
    runs = [CliProcess(download_args(out, "bundle"), cli_env(sb)) for out in outs]
    results = [run.wait(240) for run in runs]
    for result in results:
        assert result.code == 0, result.explain()
    busy = [r for r in api_calls(sb) if r.get("event") == "concurrent"]
    assert busy, "the runs never collided: the test proves nothing"
    for out in outs:
        assert_complete(out, sb, BUNDLES)
