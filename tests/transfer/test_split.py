"""Late split: files start on one connection; a slow one is split while others are idle.

Every assertion is on what the server saw (requests, ranges, concurrency), never on time.
"""

from __future__ import annotations

import dataclasses
import threading
import typing
from pathlib import Path

import pytest

from m2mdl.transfer import FileJob, TransferInterrupted, TransferOptions, run_transfers
from m2mdl.transfer.journal import load_journal
from m2mdl.transfer.naming import journal_path
from m2mdl.transfer.ranges import missing
from m2mdl.transfer.segmented import FAST_STREAM, PIECE_SECONDS, piece_size, splittable
from m2mdl.transfer.task import FileTask, RangeSupport, Segment

from .faultserver import FaultServer, LogEntry, make_bytes, sha512
from .support import RecordingSink, leftovers

SIZE = 3_000_000
CAP = 1_000_000  # bytes/s per connection: SIZE takes 3 s on one connection


def _late(fast: TransferOptions, **changes: object) -> TransferOptions:
    return dataclasses.replace(fast, split_after=0.5, **changes)  # type: ignore[arg-type]


def _start(entry: LogEntry) -> int:
    assert entry.range is not None and entry.range.startswith("bytes=")
    return int(entry.range[len("bytes=") :].split("-", 1)[0])


def test_capped_file_is_split_after_its_rate_is_measured(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    job = FileJob("k", server.url("f.bin", rate=CAP), tmp_path / "f.bin", expected_size=SIZE)
    (result,) = run_transfers([job], _late(fast), RecordingSink())
    assert result.ok
    assert sha512((tmp_path / "f.bin").read_bytes()) == sha512(data)
    entries = server.entries("f.bin")
    assert entries[0].range == "bytes=0-"  # one open request for the whole file
    later = [_start(entry) for entry in entries[1:]]
    assert len(later) >= 2  # idle connections helped
    assert all(0 < start < SIZE for start in later)
    assert server.max_active <= fast.segments
    assert leftovers(tmp_path) == []


def test_fast_link_is_never_split(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    """Uncapped loopback: the rest never takes longer than the default threshold."""
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    options = dataclasses.replace(fast, split_after=TransferOptions().split_after)
    job = FileJob("k", server.url("f.bin"), tmp_path / "f.bin", expected_size=SIZE)
    (result,) = run_transfers([job], options, RecordingSink())
    assert result.ok and result.attempts == 1
    assert [entry.range for entry in server.entries("f.bin")] == ["bytes=0-"]


def test_the_last_large_file_gets_the_connections_of_finished_ones(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    """Two workers: no split while both stream; once the small file is done, the large one is."""
    small, large = make_bytes(300_000, seed=2), make_bytes(SIZE, seed=3)
    server.add("small.bin", small)
    server.add("large.bin", large)
    jobs = [
        FileJob(
            "s", server.url("small.bin", rate=CAP), tmp_path / "small.bin", expected_size=300_000
        ),
        FileJob("l", server.url("large.bin", rate=CAP), tmp_path / "large.bin", expected_size=SIZE),
    ]
    results = run_transfers(jobs, _late(fast, workers=2), RecordingSink())
    assert all(result.ok for result in results)
    assert sha512((tmp_path / "large.bin").read_bytes()) == sha512(large)
    assert len(server.entries("small.bin")) == 1
    large_entries = server.entries("large.bin")
    assert len(large_entries) == 2  # one more connection: the one the small file left
    assert _start(large_entries[1]) > 0
    assert server.max_active <= 2


def test_segments_bound_the_split(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    job = FileJob("k", server.url("f.bin", rate=CAP), tmp_path / "f.bin", expected_size=SIZE)
    (result,) = run_transfers([job], _late(fast, segments=2), RecordingSink())
    assert result.ok
    assert server.max_active <= 2
    assert len(server.entries("f.bin")) >= 2


def test_no_split_with_one_segment(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(1_500_000)
    server.add("f.bin", data)
    job = FileJob("k", server.url("f.bin", rate=CAP), tmp_path / "f.bin", expected_size=len(data))
    (result,) = run_transfers([job], _late(fast, segments=1), RecordingSink())
    assert result.ok
    assert len(server.entries("f.bin")) == 1


def test_a_split_file_resumes_gap_by_gap(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    """Stopped after a split: the journal holds several ranges; the rerun asks only the gaps."""
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    dest = tmp_path / "f.bin"
    stop = threading.Event()
    sink = RecordingSink(at_bytes=1_800_000, action=stop.set)
    job = FileJob("k", server.url("f.bin", rate=CAP), dest, expected_size=SIZE)
    with pytest.raises(TransferInterrupted):
        run_transfers([job], _late(fast), sink, stop=stop)
    server.wait_idle()
    journal = load_journal(journal_path(dest))
    assert journal is not None and len(journal.ranges) >= 2  # the split left several ranges
    gaps = missing(journal.ranges, SIZE)
    first_run = len(server.entries("f.bin"))
    rerun = FileJob("k", server.url("f.bin", t="rerun"), dest, expected_size=SIZE)
    (result,) = run_transfers([rerun], fast, RecordingSink())
    assert result.ok
    assert sha512(dest.read_bytes()) == sha512(data)
    starts = sorted(_start(entry) for entry in server.entries("f.bin")[first_run:])
    assert starts[: len(gaps)] == [lo for lo, _hi in gaps][: len(starts)]
    assert result.bytes_received == sum(hi - lo for lo, hi in gaps if hi is not None)
    assert leftovers(tmp_path) == []


def test_a_fast_stream_is_not_split_however_long_its_rest() -> None:
    """Past FAST_STREAM the client, not the path, is the limit: no split."""

    class Part:
        total = 10 * 2**40

    class Task:
        options = TransferOptions(split_after=3.0)
        part = Part()
        ranges = RangeSupport()

    Task.ranges.answered()  # a 206 proved Range works

    task = typing.cast(FileTask, Task())
    seg = Segment(0, Part.total)
    assert not splittable(task, seg, FAST_STREAM)
    assert splittable(task, seg, FAST_STREAM / 2)  # the same rest, slower: split
    # ... unless the rest is done within split_after at that rate
    assert not splittable(task, Segment(Part.total - 2**20, Part.total), FAST_STREAM / 2)


def test_pieces_are_a_fair_share_of_at_most_piece_seconds() -> None:
    options = TransferOptions(chunk_size=2**20)
    rate = 20 * 2**20
    # Far from the end: pieces of PIECE_SECONDS at the rate, so the bytes come in file order.
    assert piece_size(options, rate, 2**30, 4) == int(rate * PIECE_SECONDS)
    # Near the end: the connections' fair share, so they finish together ...
    assert piece_size(options, rate, 60 * 2**20, 4) == 15 * 2**20
    # ... but never less than 4 chunks (a request costs a round trip).
    assert piece_size(options, rate, 2**20, 4) == 4 * 2**20


def test_a_segment_cut_while_streaming_claims_nothing_past_its_new_end() -> None:
    seg = Segment(0, 100)
    assert seg.claim(30) == (0, 30)
    assert seg.cut(50) == 50 and seg.left() == 20
    assert seg.claim(30) == (30, 20) and seg.finished()
    late = Segment(0, 100)
    late.claim(70)
    assert late.cut(50) == 70  # already past: it ends where it is
    assert late.finished()


def test_range_support_hands_out_a_planned_split_once_and_only_after_a_206() -> None:
    ranges = RangeSupport()
    planned = [Segment(10, 20), Segment(20, 30)]
    ranges.arm(planned, may_split=False)
    assert ranges.take_split() == ([], False)  # no 206 yet: the plan is dropped
    ranges.arm(planned, may_split=False)
    ranges.answered()
    assert ranges.take_split() == (planned, False)
    assert ranges.take_split() == ([], False)  # once
    ranges.arm([], may_split=True)
    assert ranges.take_split() == ([], True)
    assert ranges.take_split() == ([], False)


def test_range_support_a_200_to_a_range_request_ends_splits_for_good() -> None:
    ranges = RangeSupport()
    ranges.answered()
    ranges.arm([Segment(10, 20)], may_split=True)
    ranges.ignored()
    assert ranges.broken and not ranges.usable()
    assert ranges.take_split() == ([], False)
    ranges.arm([Segment(10, 20)], may_split=True)  # a restart keeps it broken
    assert ranges.broken and ranges.take_split() == ([], False)
