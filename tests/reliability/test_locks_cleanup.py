"""Locks left by runs that are gone are taken over; cleanup removes only what m2mdl made and
never the server state of a run that may still be going."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox
from m2mdl.transfer.journal import Journal
from m2mdl.transfer.lock import STALE_AFTER_S, Lease

from .helpers import BUNDLES, api_calls, assert_complete, cli_env, download_args, run_cli

pytestmark = pytest.mark.reliability

LOCK = ".m2mdl.lock"


def _foreign_lock(directory: Path, *, age: float) -> None:
    """A lock written by a run in a container (another host name) ``age`` seconds ago."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK
    record = {"pid": 1, "host": "evicted-pod-7f9c", "started": "2026-01-01T00:00:00+00:00"}
    path.write_text(json.dumps(record))
    then = time.time() - age
    os.utime(path, (then, then))


def test_a_lock_left_by_an_evicted_container_is_taken_over(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _foreign_lock(out, age=STALE_AFTER_S + 30)
    result = run_cli(download_args(out, "bundle"), cli_env(sandbox), timeout=90)
    assert result.code == 0, result.explain()
    assert "evicted-pod-7f9c" in result.stderr and "taking over" in result.stderr
    assert_complete(out, sandbox, BUNDLES)


def test_a_fresh_lock_of_another_host_is_respected_and_names_break_lock(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _foreign_lock(out, age=1)
    for args in (download_args(out, "bundle"), ["cleanup", "--no-server", "--dir", str(out)]):
        result = run_cli(args, cli_env(sandbox), timeout=60)
        assert result.code == 2, result.explain()
        assert "evicted-pod-7f9c" in result.stderr and "refreshed" in result.stderr
        assert "--break-lock" in result.stderr
        assert "Traceback" not in result.stderr


def test_cleanup_dir_removes_only_m2mdl_partials_even_past_a_dead_lock(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    downloads = tmp_path / "Downloads"
    _foreign_lock(downloads, age=STALE_AFTER_S + 30)
    ours = downloads / "LC08_X_SR_B4.TIF.part"
    journal = downloads / "LC08_X_SR_B4.TIF.part.json"
    browser = downloads / "ubuntu.iso.part"
    lookalike = downloads / "notes.part.json"
    ours.write_bytes(b"x")
    journal.write_bytes(Journal(url="https://example.com/x").to_json())
    browser.write_bytes(b"iso")
    lookalike.write_text('{"not": "a journal"}')
    old = time.time() - 3 * 86400
    for path in (ours, journal, browser, lookalike):
        os.utime(path, (old, old))
    result = run_cli(["cleanup", "--no-server", "--dir", str(downloads)], cli_env(sandbox))
    assert result.code == 0, result.explain()
    assert not ours.exists() and not journal.exists()
    assert browser.exists() and lookalike.exists(), "cleanup removed files m2mdl never made"


def test_cleanup_keeps_server_state_of_live_and_unknown_runs(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    env = cli_env(sandbox)
    kept = run_cli(download_args(out, "bundle", "--keep-server-state"), env, timeout=90)
    assert kept.code == 0, kept.explain()
    label = json.loads(next(out.glob("m2mdl-manifest-*.json")).read_text())["label"]
    registry = Path(os.environ["M2MDL_STATE_DIR"]) / "runs"
    registry.mkdir(parents=True, exist_ok=True)

    with Lease(registry / f"{label}.lock", label):  # the run still holds its lease
        live = run_cli(["cleanup", "--dir", str(out)], env, timeout=60)
    assert live.code == 0, live.explain()
    assert not api_calls(sandbox, "download-order-remove"), "a live run's order was removed"
    assert label in live.stderr and "still going" in live.stderr

    # A run of another machine (not in this registry): nothing says whether it is over, so
    # it is left alone without --dir while young.
    for path in registry.glob(f"{label}.*"):
        path.unlink()
    unknown = run_cli(["cleanup"], env, timeout=60)
    assert unknown.code == 0, unknown.explain()
    assert not api_calls(sandbox, "download-order-remove")
    assert label in unknown.stderr and "--dir" in unknown.stderr

    # Its manifest says it finished: removed.
    over = run_cli(["cleanup", "--dir", str(out)], env, timeout=60)
    assert over.code == 0, over.explain()
    assert len(api_calls(sandbox, "download-order-remove")) == 1
    assert f"removed download order {label}" in over.stdout
