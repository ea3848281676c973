"""Stopping, resuming, simulated kill -9, deadlines, 416 and leftover partial files."""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
from pathlib import Path

import pytest

from m2mdl.transfer import FileJob, TransferInterrupted, TransferOptions, run_transfers
from m2mdl.transfer.journal import Journal, load_journal
from m2mdl.transfer.ranges import covered

from .faultserver import FaultServer, make_bytes, mutate, sha512
from .support import RecordingSink, leftovers

SIZE = 4_000_000
PACE = 8_000_000  # bytes/s per connection: slow enough to stop mid-file, fast enough


def _single(fast: TransferOptions) -> TransferOptions:
    return dataclasses.replace(fast, segment_min_size=10**12)


def _interrupt(
    server: FaultServer, options: TransferOptions, dest: Path, at: int, **faults: object
) -> tuple[int, int]:
    """Run until ``at`` bytes arrived, then set stop; return (durable bytes, server sent)."""
    stop = threading.Event()
    sink = RecordingSink(at_bytes=at, action=stop.set)
    job = FileJob("k", server.url("f.bin", rate=PACE, **faults), dest, expected_size=SIZE)
    with pytest.raises(TransferInterrupted) as info:
        run_transfers([job], options, sink, stop=stop)
    [result] = info.value.results
    assert (result.ok, result.error_kind, result.error) == (False, "interrupted", "interrupted")
    assert sink.finished == [result]
    assert not dest.exists()
    journal = load_journal(dest.with_name(dest.name + ".part.json"))
    assert journal is not None and covered(journal.ranges) == result.size >= at
    server.wait_idle()
    return result.size, server.sent("f.bin")


@pytest.mark.parametrize("segmented", [False, True], ids=["single", "segmented"])
def test_stop_flushes_then_rerun_sends_only_the_rest(
    server: FaultServer, fast: TransferOptions, tmp_path: Path, segmented: bool
) -> None:
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    options = fast if segmented else _single(fast)
    dest = tmp_path / "f.bin"
    durable, sent_before = _interrupt(server, options, dest, 1_000_000)
    ranges = load_journal(tmp_path / "f.bin.part.json").ranges  # type: ignore[union-attr]
    assert (len(ranges) > 1) is segmented

    [result] = run_transfers(
        [FileJob("k", server.url("f.bin", t="again"), dest, expected_size=SIZE)],
        options,
        RecordingSink(),
    )
    assert result.ok and sha512(dest.read_bytes()) == sha512(data) == result.sha512
    assert server.sent("f.bin") - sent_before == SIZE - durable  # nothing durable re-sent
    assert result.bytes_received == SIZE - durable
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("segmented", [False, True], ids=["single", "segmented"])
def test_simulated_kill_resends_at_most_one_interval(
    server: FaultServer, fast: TransferOptions, tmp_path: Path, segmented: bool
) -> None:
    """kill -9 = the files as they were at some instant: journal first, then the data."""
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    options = fast if segmented else _single(fast)
    dest = tmp_path / "f.bin"
    snap = tmp_path / "snap"
    snap.mkdir()
    seen: dict[str, int] = {}

    def snapshot() -> None:
        seen["sent"] = server.sent("f.bin")
        shutil.copy(tmp_path / "f.bin.part.json", snap / "j")
        shutil.copy(tmp_path / "f.bin.part", snap / "p")
        stop.set()

    stop = threading.Event()
    sink = RecordingSink(at_bytes=2_000_000, action=snapshot)
    job = FileJob("k", server.url("f.bin", rate=PACE), dest, expected_size=SIZE)
    with pytest.raises(TransferInterrupted):
        run_transfers([job], options, sink, stop=stop)
    shutil.copy(snap / "j", tmp_path / "f.bin.part.json")
    shutil.copy(snap / "p", tmp_path / "f.bin.part")
    journal = load_journal(tmp_path / "f.bin.part.json")
    assert journal is not None
    claimed = covered(journal.ranges)
    streams = 4 if segmented else 1
    in_flight = 64 * 1024 * 2 * streams  # paced: at most a couple of sends per stream
    lag = options.journal_interval + streams * options.chunk_size + in_flight
    assert seen["sent"] - claimed <= lag

    server.wait_idle()
    sent_before = server.sent("f.bin")
    [result] = run_transfers(
        [FileJob("k", server.url("f.bin", t="again"), dest, expected_size=SIZE)],
        options,
        RecordingSink(),
    )
    assert result.ok and sha512(dest.read_bytes()) == sha512(data)
    assert server.sent("f.bin") - sent_before == SIZE - claimed


def test_file_changed_between_runs_restarts(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    """docs/design.md §Transfer engine: peer behaviour under faults 'stale partial': curl, wget and
    aria2 all published a mix."""
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    dest = tmp_path / "f.bin"
    _interrupt(server, _single(fast), dest, 1_000_000, t="v")
    # Now the server has a new version (first 16 bytes differ, so an old prefix plus the new
    # rest would equal the OLD file), with a new ETag and Last-Modified.
    [result] = run_transfers(
        [FileJob("k", server.url("f.bin", t="v2", mutate_after=0), dest, expected_size=SIZE)],
        _single(fast),
        RecordingSink(),
    )
    assert result.ok
    assert sha512(dest.read_bytes()) == sha512(mutate(data)) != sha512(data)
    first = server.entries("f.bin")[-2]
    assert first.if_range is not None and first.status == 200  # If-Range failed: restart


def test_journal_complete_publishes_without_request(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(5000)
    server.add("f.bin", data)
    (tmp_path / "f.bin.part").write_bytes(data)
    Journal("u", '"e"', None, len(data), [(0, len(data))]).save(tmp_path / "f.bin.part.json")
    job = FileJob("k", server.url("f.bin"), tmp_path / "f.bin", expected_size=len(data))
    [result] = run_transfers([job], fast, RecordingSink())
    assert result.ok and result.attempts == 0 and server.entries("f.bin") == []
    assert leftovers(tmp_path) == []


def test_416_confirms_a_complete_file_of_unknown_size(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(5000)
    server.add("f.bin", data)
    (tmp_path / "f.bin.part").write_bytes(data)
    etag = f'"{len(data):x}-v0"'
    Journal("u", etag, None, None, [(0, len(data))]).save(tmp_path / "f.bin.part.json")
    job = FileJob("k", server.url("f.bin"), tmp_path / "f.bin")
    [result] = run_transfers([job], fast, RecordingSink())
    assert result.ok and sha512((tmp_path / "f.bin").read_bytes()) == sha512(data)
    [entry] = server.entries("f.bin")
    assert (entry.status, entry.range, entry.sent) == (416, "bytes=5000-", 0)


def test_416_for_an_incomplete_file_restarts(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(5000)
    server.add("f.bin", data)
    (tmp_path / "f.bin.part").write_bytes(make_bytes(6000, seed=3))
    Journal("u", None, None, None, [(0, 6000)]).save(tmp_path / "f.bin.part.json")
    job = FileJob("k", server.url("f.bin"), tmp_path / "f.bin")
    [result] = run_transfers([job], fast, RecordingSink())
    assert result.ok and sha512((tmp_path / "f.bin").read_bytes()) == sha512(data)
    assert [entry.status for entry in server.entries("f.bin")] == [416, 206]


@pytest.mark.parametrize("journal", ["missing", "garbage", "other-size"])
def test_untrusted_leftovers_restart_from_zero(
    server: FaultServer, fast: TransferOptions, tmp_path: Path, journal: str
) -> None:
    data = make_bytes(100_000)
    server.add("f.bin", data)
    (tmp_path / "f.bin.part").write_bytes(b"x" * 50_000)
    if journal == "garbage":
        (tmp_path / "f.bin.part.json").write_text("{not json")
    elif journal == "other-size":
        Journal("u", None, None, 7, [(0, 5)]).save(tmp_path / "f.bin.part.json")
    job = FileJob("k", server.url("f.bin"), tmp_path / "f.bin", expected_size=len(data))
    [result] = run_transfers([job], fast, RecordingSink())
    assert result.ok and sha512((tmp_path / "f.bin").read_bytes()) == sha512(data)
    assert server.sent("f.bin") == len(data)


def test_deadline_stops_running_and_queued_files(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    server.add("a.bin", make_bytes(500_000))
    server.add("b.bin", make_bytes(500_000, seed=2))
    options = dataclasses.replace(
        fast, workers=1, stall_seconds=30, deadline=time.monotonic() + 1.0
    )
    jobs = [
        FileJob("a", server.url("a.bin", stall_after=100_000), tmp_path / "a.bin"),
        FileJob("b", server.url("b.bin"), tmp_path / "b.bin"),
    ]
    started = time.monotonic()
    a, b = run_transfers(jobs, options, RecordingSink())
    assert time.monotonic() - started < 20  # bounded, not timed: the stall lasts 30 s
    assert (a.ok, a.error_kind, a.error) == (False, "deadline", "deadline reached")
    assert (b.ok, b.error_kind, b.attempts) == (False, "deadline", 0)
    assert a.size == covered(load_journal(tmp_path / "a.bin.part.json").ranges) > 0  # type: ignore[union-attr]
    assert not (tmp_path / "a.bin").exists() and not (tmp_path / "b.bin").exists()


def test_stop_before_start_reports_every_file(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    stop = threading.Event()
    stop.set()
    jobs = [FileJob(str(i), server.url("x"), tmp_path / f"{i}.bin") for i in range(3)]
    sink = RecordingSink()
    with pytest.raises(TransferInterrupted) as info:
        run_transfers(jobs, fast, sink, stop=stop)
    assert [result.error_kind for result in info.value.results] == ["interrupted"] * 3
    assert len(sink.finished) == 3 and server.log == []


def test_stop_is_prompt_during_a_stall(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    server.add("f.bin", make_bytes(500_000))
    options = dataclasses.replace(fast, stall_seconds=30, read_timeout=30)
    stop = threading.Event()

    def stop_when_stalled() -> None:
        server.wait_event("stall")
        stop.set()

    threading.Thread(target=stop_when_stalled, daemon=True).start()
    job = FileJob("k", server.url("f.bin", stall_after=100_000), tmp_path / "f.bin")
    started = time.monotonic()
    with pytest.raises(TransferInterrupted) as info:
        run_transfers([job], options, RecordingSink(), stop=stop)
    assert time.monotonic() - started < 15  # bounded; the stall and read timeout are 30 s
    [result] = info.value.results
    assert result.size == result.bytes_received <= 100_000  # everything received was kept
