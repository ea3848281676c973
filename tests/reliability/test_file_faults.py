"""Case 5: faults of the download host, one test each, through the CLI."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox, SandboxConfig
from m2mdl.sandbox.testing import make_config
from m2mdl.transfer import TransferOptions

from .helpers import (
    SOCKET_BUFFER,
    assert_complete,
    band_names,
    cli_env,
    download_args,
    file_records,
    inspect_out,
    run_cli,
    sent_per_file,
    settle,
    statuses,
)

pytestmark = pytest.mark.reliability

B4 = ("SR_B4",)  # one ~4.2 MB file per scene at data_scale 0.05
SCALE = 0.05
CHUNK = TransferOptions().chunk_size


def _b4(out: Path, *extra: str) -> list[str]:
    return download_args(out, "band", "--bands", ",".join(B4), *extra)


def _resumed_ranges(sb: Sandbox, name: str) -> list[str]:
    """Range headers of a file's requests that started past byte 0."""
    return [
        str(r["range"])
        for r in file_records(sb, name)
        if r.get("range") and not str(r["range"]).startswith("bytes=0-")
    ]


def test_rate_limited_host(sandbox_factory: Callable[..., Sandbox], tmp_path: Path) -> None:
    sb = sandbox_factory(data_scale=0.02, rate=600_000)
    out = tmp_path / "out"
    result = run_cli(_b4(out), cli_env(sb), timeout=60)
    assert result.code == 0, result.explain()
    assert_complete(out, sb, band_names(B4))
    settle(sb)
    for name, (sent, requests) in sent_per_file(sb).items():
        assert requests == 1 and sent == sb.expected_size(name), (name, sent, requests)


def test_dropped_connections_resume(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=SCALE, drop_after=1_000_000, drop_times=2)
    out = tmp_path / "out"
    result = run_cli(_b4(out), cli_env(sb), timeout=60)
    assert result.code == 0, result.explain()
    assert_complete(out, sb, band_names(B4))
    settle(sb)
    for name, (sent, requests) in sent_per_file(sb).items():
        drops = sum(r.get("event") == "drop" for r in file_records(sb, name))
        assert drops == 2 and requests == 3, (name, drops, requests)
        assert len(_resumed_ranges(sb, name)) == 2, file_records(sb, name)
        waste = sent - sb.expected_size(name)
        assert waste <= drops * SOCKET_BUFFER, f"{name}: {waste} bytes re-sent after drops"


@pytest.mark.parametrize("status", [503, 429])
def test_throttling_status_with_retry_after(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, status: int
) -> None:
    sb = sandbox_factory(data_scale=0.01, fail_status=status, fail_times=2, retry_after=1)
    out = tmp_path / "out"
    result = run_cli(_b4(out), cli_env(sb), timeout=60)
    assert result.code == 0, result.explain()
    assert_complete(out, sb, band_names(B4))
    for name in band_names(B4):
        records = [r for r in file_records(sb, name) if r.get("method") == "GET"]
        assert [r["status"] for r in records][:2] == [status, status], records
        assert len(records) == 3 and records[2]["status"] in (200, 206), records
        # Retry-After: 1 was honoured: the next request came at least ~1 s later (a lower
        # bound: a slow machine only makes the gap longer).
        assert records[1]["t"] - records[0]["t"] >= 0.9, records
        assert records[2]["t"] - records[1]["t"] >= 0.9, records


def test_html_page_with_status_200_is_rejected(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=0.01, html200_times=2)
    out = tmp_path / "out"
    result = run_cli(_b4(out), cli_env(sb), timeout=60)
    assert result.code == 0, result.explain()
    assert_complete(out, sb, band_names(B4))
    for name in band_names(B4):
        events = [r.get("event") for r in file_records(sb, name)]
        assert events.count("html200") == 2 and len(events) == 3, events


def _interrupt_by_deadline(sb: Sandbox, out: Path) -> None:
    """A first run that stops mid-file (deadline): .part and journal stay."""
    first = run_cli(_b4(out, "--deadline", "3"), cli_env(sb), timeout=60)
    assert first.code == 6, first.explain()
    state = inspect_out(out, sb)
    assert state.parts and state.journals, "the deadline run left no resumable .part"
    assert set(statuses(state.newest_manifest()).values()) <= {"failed", "pending", "done"}


def test_server_ignoring_range_after_an_interruption_restarts(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> None:
    sb = sandbox_factory(data_scale=SCALE, rate=1_000_000, ignore_range=True)
    out = tmp_path / "out"
    _interrupt_by_deadline(sb, out)
    before = len(file_records(sb))
    result = run_cli(_b4(out), cli_env(sb), timeout=60)
    assert result.code == 0, result.explain()
    assert_complete(out, sb, band_names(B4))  # sha256 equal: nothing was appended
    settle(sb)
    rerun = file_records(sb)[before:]
    assert any(r.get("range") and r["status"] == 200 for r in rerun), (
        "the rerun never asked for a range (no resume was attempted)"
    )


def test_file_changed_between_runs_restarts_with_the_new_version(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> None:
    # STAC keeps describing the original version (a stale checksum, tested on its own in
    # test_checksums.py); without published checksums this test is about If-Range alone.
    sb = sandbox_factory(data_scale=SCALE, rate=1_000_000, mutate_after=1, stac_no_checksums=True)
    old = {name: sb.expected_sha256(name) for name in band_names(B4)}
    out = tmp_path / "out"
    _interrupt_by_deadline(sb, out)
    result = run_cli(_b4(out), cli_env(sb), timeout=60)
    assert result.code == 0, result.explain()
    state = assert_complete(out, sb, band_names(B4))  # equals the sandbox's NEW content
    for name in band_names(B4):
        assert state.finals[name] != old[name], f"{name}: still the old version"
        second = file_records(sb, name)[1]
        if second.get("range") and not str(second["range"]).startswith("bytes=0-"):
            assert second.get("if_range"), f"{name}: a resume without If-Range: {second}"
            # If-Range failed: the full new body (the client may hang up and re-ask from 0)
            assert second["status"] == 200, second
            assert second.get("event") in ("mutated", "client_closed"), second


def test_expired_signed_url_is_refreshed_and_resumed(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    # ~4.2 MB at 1 MB/s, dropped after 2.5 MB: the reconnect comes > 2 s after the URL was
    # signed, gets 403, and must fetch a fresh URL (download-retrieve) and resume. Signed
    # URLs live 0.5 s here: a fresh URL must be used at once, not after a backoff sleep.
    sb = sandbox_factory(data_scale=SCALE, rate=1_000_000, drop_after=2_500_000, url_ttl=0.5)
    out = tmp_path / "out"
    result = run_cli(_b4(out), cli_env(sb), timeout=150)
    assert result.code == 0, result.explain()
    assert_complete(out, sb, band_names(B4))
    assert [r for r in sb.records() if r.get("endpoint") == "download-retrieve"], (
        "no download-retrieve call for a fresh URL"
    )
    settle(sb)
    for name in band_names(B4):
        records = file_records(sb, name)
        assert any(r["status"] == 403 for r in records), records
        assert _resumed_ranges(sb, name), f"{name} restarted instead of resuming: {records}"
        sent, _requests = sent_per_file(sb)[name]
        assert sent - sb.expected_size(name) <= SOCKET_BUFFER, (name, sent)


def test_stalled_transfer_is_detected_and_resumed(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    # The host stops sending after 1 MB and keeps the socket open far longer than the test:
    # only the client's stall detector can rescue the run (M2MDL_STALL_SECONDS shortens it).
    sb = sandbox_factory(data_scale=0.02, stall_after=1_000_000, stall_seconds=600.0)
    out = tmp_path / "out"
    result = run_cli(_b4(out), {**cli_env(sb), "M2MDL_STALL_SECONDS": "3"}, timeout=150)
    assert result.code == 0, result.explain()
    assert_complete(out, sb, band_names(B4))
    for name in band_names(B4):
        assert _resumed_ranges(sb, name), f"{name} was not resumed after the stall"


def test_preparing_shorter_than_wait_completes(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=0.01, preparing_seconds=2.0)
    out = tmp_path / "out"
    result = run_cli(_b4(out, "--wait", "60"), cli_env(sb), timeout=90)
    assert result.code == 0, result.explain()
    assert_complete(out, sb, band_names(B4))


def test_preparing_longer_than_wait_exits_6_then_rerun_completes(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    offset = [0.0]  # the sandbox clock; advanced instead of sleeping through preparation

    def clock() -> float:
        return time.time() + offset[0]

    config: SandboxConfig = make_config(data_scale=0.01, preparing_seconds=120.0, now=clock)
    sb = sandbox_factory(config)
    out = tmp_path / "out"
    env = cli_env(sb)
    first = run_cli(_b4(out, "--wait", "1"), env, timeout=60)
    assert first.code == 6, first.explain()
    state = inspect_out(out, sb)
    assert not state.finals
    manifest = state.newest_manifest()
    assert manifest.get("exit_code") == 6
    assert set(statuses(manifest).values()) == {"preparing"}, statuses(manifest)
    assert "preparing" in first.stderr
    offset[0] = 121.0
    rerun = run_cli(_b4(out, "--wait", "1"), env, timeout=60)
    assert rerun.code == 0, rerun.explain()
    assert_complete(out, sb, band_names(B4))
