"""cleanup never cuts off a download that is still going; --break-lock is there for the rest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox

from .helpers import (
    BUNDLES,
    CliProcess,
    api_calls,
    assert_complete,
    cli_env,
    download_args,
    run_cli,
    wait_for,
)

pytestmark = pytest.mark.reliability


def test_cleanup_during_a_download_leaves_its_server_state_alone(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=0.01, rate=2_000_000)  # a few seconds per bundle
    out = tmp_path / "out"
    env = cli_env(sb)
    running = CliProcess(download_args(out, "bundle", "--workers", "3"), env)
    wait_for(lambda: out.is_dir() and any(out.glob("*.part")), 30, "the download to start")
    cleaned = run_cli(["cleanup"], env, timeout=60)
    assert cleaned.code == 0, cleaned.explain()
    assert "still going" in cleaned.stderr, cleaned.explain()
    assert not api_calls(sb, "download-order-remove"), "cleanup cut off a live run"
    result = running.wait(120)
    assert result.code == 0, result.explain()
    assert "still preparing" not in result.stderr
    assert_complete(out, sb, BUNDLES)


def test_break_lock_takes_over_a_fresh_lock_of_another_host(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    record = {"pid": 1, "host": "frozen-vm", "started": "2026-01-01T00:00:00+00:00"}
    (out / ".m2mdl.lock").write_text(json.dumps(record))
    refused = run_cli(download_args(out, "bundle"), cli_env(sandbox), timeout=60)
    assert refused.code == 2 and "--break-lock" in refused.stderr, refused.explain()
    taken = run_cli(download_args(out, "bundle", "--break-lock"), cli_env(sandbox), timeout=90)
    assert taken.code == 0, taken.explain()
    assert "frozen-vm" in taken.stderr and "--break-lock" in taken.stderr
    assert_complete(out, sandbox, BUNDLES)
