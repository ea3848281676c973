"""SIGHUP (an ssh session dropped) stops a run cleanly, as SIGTERM does; nohup still wins."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox

from .helpers import (
    BUNDLES,
    CLI,
    CliProcess,
    assert_complete,
    assert_server_state_removed,
    assert_unfinished_pending_with_part,
    cli_env,
    download_args,
    inspect_out,
    run_cli,
    wait_for,
)

pytestmark = pytest.mark.reliability


def test_sighup_saves_journals_and_manifest_and_removes_server_state(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=0.02, rate=2_000_000)
    out = tmp_path / "out"
    env = cli_env(sb)
    args = download_args(out, "bundle", "--workers", "3")
    proc = CliProcess(args, env)
    wait_for(lambda: out.is_dir() and any(out.glob("*.part")), 30, "a .part file")
    time.sleep(1.0)
    proc.send(signal.SIGHUP)
    result = proc.wait(30)
    assert result.code == 130, result.explain()
    assert "Traceback" not in result.stderr
    state = inspect_out(out, sb)
    assert state.parts and state.journals, "the hung-up run kept no resumable progress"
    manifest = state.newest_manifest()
    assert manifest.get("exit_code") == 130
    assert_unfinished_pending_with_part(out, manifest)
    assert not state.lock, "the lock outlived the hung-up run"
    assert_server_state_removed(sb, manifest)
    rerun = run_cli(args, env, timeout=90)
    assert rerun.code == 0, rerun.explain()
    assert_complete(out, sb, BUNDLES)


def test_under_nohup_a_hangup_does_not_stop_the_run(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=0.01, rate=4_000_000)
    out = tmp_path / "out"
    argv = ["nohup", *CLI, *download_args(out, "bundle", "--workers", "3")]
    with (tmp_path / "stderr").open("wb") as err:
        proc = subprocess.Popen(
            argv, env=cli_env(sb), stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL
        )
        try:
            wait_for(lambda: out.is_dir() and any(out.glob("*.part")), 30, "a .part file")
            proc.send_signal(signal.SIGHUP)
            code = proc.wait(90)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert code == 0, (tmp_path / "stderr").read_text()
    assert_complete(out, sb, BUNDLES)
