"""SIGTERM, SIGINT and SIGHUP stop a run that is still searching or planning, at once (exit 130).

The sandbox's ``api_min_seconds`` makes every API call slow, so the signal lands while the run
waits for the service, long before any transfer starts: the engine's stop event alone would not
be noticed there.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox

from .helpers import (
    CliProcess,
    api_calls,
    assert_server_state_removed,
    cli_env,
    download_args,
    inspect_out,
    statuses,
    wait_for,
)

pytestmark = pytest.mark.reliability

ANCHORAGE = Path(__file__).resolve().parents[2] / "examples" / "anchorage.geojson"
SEARCH = ["search", "--aoi", str(ANCHORAGE), "--start", "2020-01-01", "--end", "2020-12-31"]
#: Each API call takes this long: a whole search or plan takes many times the bounded wait.
SLOW_CALL = 3.0
#: How long the run may take to stop after the signal (the call in flight is not waited for).
STOP_WITHIN = 10.0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_stops_a_slow_search(
    sandbox_factory: Callable[..., Sandbox], sig: signal.Signals
) -> None:
    sb = sandbox_factory(api_min_seconds=SLOW_CALL)
    proc = CliProcess(SEARCH, cli_env(sb))
    wait_for(lambda: bool(api_calls(sb)), 30, "the first API call")
    proc.send(sig)
    result = proc.wait(STOP_WITHIN)
    assert result.code == 130, result.explain()
    assert "interrupted" in result.stderr and "Traceback" not in result.stderr, result.explain()


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=["SIGTERM", "SIGINT", "SIGHUP"]
)
def test_a_signal_stops_a_slow_plan_and_leaves_a_valid_manifest_and_no_server_state(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, sig: signal.Signals
) -> None:
    sb = sandbox_factory(api_min_seconds=SLOW_CALL)
    out = tmp_path / "out"
    proc = CliProcess(download_args(out, "bundle"), cli_env(sb))
    # the plan starts once the manifest exists: the search is over, no transfer has started
    wait_for(lambda: out.is_dir() and bool(list(out.glob("m2mdl-manifest-*.json"))), 60, "a plan")
    proc.send(sig)
    result = proc.wait(STOP_WITHIN)
    assert result.code == 130, result.explain()
    assert "Traceback" not in result.stderr, result.explain()
    state = inspect_out(out, sb)
    manifest = state.newest_manifest()
    assert manifest.get("exit_code") == 130
    planned = statuses(manifest)
    assert planned and set(planned.values()) == {"pending"}, planned  # nothing was fetched
    assert not state.lock, "the lock outlived the stopped run"
    assert_server_state_removed(sb, manifest)
