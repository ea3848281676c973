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
    api_calls,
    assert_complete,
    assert_server_state_removed,
    assert_unfinished_pending_with_part,
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
#: Per-connection rate while the kills land, and the window a kill lands in (seconds after
#: start; the transfer begins ~1 s in).
KILL_RATE = 3_000_000
KILL_WINDOW = (0.8, 5.5)


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
    # 3 bundles of 170-186 MB, 3 workers (one connection per bundle, none idle to split one).
    # A kill lands at most 5.5 s after start, so a killed run receives at most
    # 5.5 s x 3 MB/s = 16.5 MB of a bundle: ten runs cannot finish one, every kill lands
    # mid-run. Kills early in the window land before the transfer, later ones before and
    # after a journal flush (every journal_interval / 2 = 8 MiB, ~3 s into a file; the
    # transfer begins ~1 s in), so some runs resume from a journal.
    sb = sandbox_factory(data_scale=0.19, rate=KILL_RATE)
    most_per_run = KILL_WINDOW[1] * KILL_RATE + KILL_RATE // 20  # + the server's first chunk
    assert min(sb.expected_size(n) for n in BUNDLES) > KILLS * most_per_run
    out = tmp_path / "out"
    env = cli_env(sb)
    args = download_args(out, "bundle", "--workers", "3")
    rng = random.Random(SEED)
    for kill in range(KILLS):
        proc = CliProcess(args, env)
        time.sleep(rng.uniform(*KILL_WINDOW))
        proc.send(signal.SIGKILL)
        result = proc.wait(30)
        assert result.code == -signal.SIGKILL, f"kill {kill} did not land: {result.explain()}"
        state = inspect_out(out, sb) if out.exists() else None  # verifies finals + JSON
        if state is not None:
            assert not state.finals, f"kill {kill}: a bundle finished: {state.finals}"
    sb.config.faults.rate = None  # the rerun at full speed: the kills are what is tested
    final = run_cli(args, env, timeout=120)
    assert final.code == 0, final.explain()
    assert_complete(out, sb, BUNDLES)
    report = _waste_report(sb)
    resumed = [
        r for r in file_records(sb) if r.get("range") and not str(r["range"]).startswith("bytes=0-")
    ]
    print(f"{KILLS} kills, {len(resumed)} resumed requests; per file (sent, requests, re-sent):")
    print(report)
    assert resumed, "no file ever resumed from its journal after a SIGKILL"
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
    assert_unfinished_pending_with_part(out, manifest)
    assert not state.lock, "the lock file outlived the interrupted run"
    assert api_calls(sb, "download-request"), "the signal landed before the transfer phase"
    assert_server_state_removed(sb, manifest)

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
