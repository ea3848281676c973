"""Case 1: SIGKILL at random moments, SIGTERM and SIGINT mid-run; reruns complete."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox
from m2mdl.transfer import TransferOptions

from .helpers import (
    BUNDLES,
    SOCKET_BUFFER,
    CliProcess,
    assert_complete,
    cli_env,
    download_args,
    file_records,
    inspect_out,
    run_cli,
    sent_per_file,
    settle,
    statuses,
    wait_for,
)

pytestmark = pytest.mark.reliability

ENGINE = TransferOptions()
#: What one interrupted request may waste: bytes not yet journaled (the engine journals
#: every ``journal_interval`` bytes, checked after each chunk) plus socket buffers.
PER_KILL = ENGINE.journal_interval + ENGINE.chunk_size + SOCKET_BUFFER
#: After a graceful stop the journal is flushed: only socket buffers and a chunk are lost.
PER_STOP = ENGINE.chunk_size + SOCKET_BUFFER
KILLS = 10
SEED = 20240611


def _waste_report(sb: Sandbox) -> dict[str, tuple[int, int, int]]:
    """file -> (bytes sent, requests, bytes sent beyond the file's size)."""
    settle(sb)
    return {
        name: (sent, count, sent - sb.expected_size(name))
        for name, (sent, count) in sent_per_file(sb).items()
    }


def test_sigkill_at_random_moments_then_rerun_completes(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    # 3 bundles of ~49 MB at 3 MB/s per connection, 3 workers: ~16 s of transfer if left
    # alone, so kills 0.8-5.5 s after start (the transfer begins ~1 s in) land before the
    # transfer and before and after the first journal flush (8 MiB, ~3 s into a file).
    sb = sandbox_factory(data_scale=0.05, rate=3_000_000)
    out = tmp_path / "out"
    env = cli_env(sb)
    args = download_args(out, "bundle", "--workers", "3")
    rng = random.Random(SEED)
    kills = 0
    for kill in range(KILLS):
        proc = CliProcess(args, env)
        time.sleep(rng.uniform(0.8, 5.5))
        proc.send(signal.SIGKILL)
        result = proc.wait(30)
        if result.code == 0:  # finished before the kill: nothing left to interrupt
            break
        assert result.code == -signal.SIGKILL, f"kill {kill}: {result.explain()}"
        kills += 1
        state = inspect_out(out, sb) if out.exists() else None  # verifies finals + JSON
        if state is not None:
            assert set(state.finals) <= set(BUNDLES)
    final = run_cli(args, env, timeout=120)
    assert final.code == 0, final.explain()
    assert_complete(out, sb, BUNDLES)
    report = _waste_report(sb)
    print(f"kills landed: {kills}; per file (sent, requests, re-sent): {report}")
    resumed = [
        r for r in file_records(sb) if r.get("range") and not str(r["range"]).startswith("bytes=0-")
    ]
    assert resumed, "no file ever resumed from its journal after a SIGKILL"
    assert kills >= KILLS // 2, f"only {kills} kills landed mid-run"
    for name, (sent, requests, waste) in report.items():
        interrupted = requests - 1
        assert waste <= interrupted * PER_KILL, (
            f"{name}: {waste} bytes re-sent over {interrupted} interruption(s); at most "
            f"{PER_KILL} per interruption expected (journal {ENGINE.journal_interval} + "
            f"chunk + socket buffer). sent={sent} requests={requests}"
        )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_signal_exits_130_and_rerun_resumes(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, sig: signal.Signals
) -> None:
    sb = sandbox_factory(data_scale=0.02, rate=2_000_000)
    out = tmp_path / "out"
    env = cli_env(sb)
    args = download_args(out, "bundle", "--workers", "3")
    proc = CliProcess(args, env)
    wait_for(lambda: out.is_dir() and any(out.glob("*.part")), 30, "a .part file")
    time.sleep(1.5)  # ~3 MB into each file
    proc.send(sig)
    result = proc.wait(30)
    assert result.code == 130, result.explain()
    state = inspect_out(out, sb)
    assert state.parts, "the interrupted run kept no .part file"
    assert state.journals, "the interrupted run kept no journal (progress lost)"
    manifest = state.newest_manifest()
    assert manifest.get("exit_code") == 130
    interrupted_statuses = statuses(manifest)
    assert not state.lock, "the lock file outlived the interrupted run"

    sent_before = {n: s for n, (s, _c) in sent_per_file(sb).items()}
    rerun = run_cli(args, env, timeout=60)
    assert rerun.code == 0, rerun.explain()
    assert_complete(out, sb, BUNDLES)
    # The rerun resumed (Range from a non-zero offset) instead of starting over.
    resumed = [
        r
        for r in file_records(sb)
        if (r.get("range") or "").startswith("bytes=")
        and not (r.get("range") or "").startswith("bytes=0-")
    ]
    assert resumed, "no file was resumed with a Range request"
    for name, (_sent, _requests, waste) in _waste_report(sb).items():
        if name in sent_before:
            assert waste <= PER_STOP, f"{name}: {waste} bytes re-sent after a graceful stop"
    # An interrupted file is not a failure: it is pending and resumes (Manifest.finish's own
    # rule for "downloading" items); cron reading the manifest must not count it as failed.
    assert set(interrupted_statuses.values()) <= {"pending", "done"}, interrupted_statuses
