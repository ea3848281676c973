"""The file's coordinator: pieces handed out in file order, the hash following them, retries.

Assertions are on the coordinator's decisions (the ranges it assigned), on what the server
saw and on the bytes, never on time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from pathlib import Path

import pytest

from m2mdl.transfer import FileJob, TransferOptions, coordinator, lane, partfile, run_transfers
from m2mdl.transfer.partfile import PartFile
from m2mdl.transfer.segmented import PIECE_SECONDS

from .faultserver import FaultServer, LogEntry, make_bytes, sha512
from .support import RecordingSink, leftovers

RATE = 1_000_000  # bytes/s per connection: pieces of about PIECE_SECONDS * RATE
SIZE = 12_000_000  # several pieces per connection with 4 connections


def _range(entry: LogEntry) -> tuple[int, int | None]:
    assert entry.range is not None and entry.range.startswith("bytes=")
    lo, hi = entry.range[len("bytes=") :].split("-", 1)
    return int(lo), int(hi) + 1 if hi else None


def _record_assignments(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int | None]]:
    """Record every (start, end) the coordinator hands to a connection, in order."""
    assigned: list[tuple[int, int | None]] = []
    real = lane.Lane.assign

    def assign(self: lane.Lane, work: lane.Assignment | None) -> None:
        if work is not None:
            assigned.append((work.seg.start, work.seg.end))
        real(self, work)

    monkeypatch.setattr(lane.Lane, "assign", assign)
    return assigned


def _record_hash_positions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how far the hash was after each write to the partial file."""
    positions: list[int] = []
    lock = threading.Lock()
    real = partfile.PartFile.write

    def write(self: PartFile, offset: int, data: bytes) -> None:
        real(self, offset, data)
        with lock:
            positions.append(self.hasher.position)

    monkeypatch.setattr(partfile.PartFile, "write", write)
    return positions


def test_a_slow_file_is_fetched_in_pieces_handed_out_in_file_order(
    server: FaultServer, fast: TransferOptions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    assigned = _record_assignments(monkeypatch)
    hashed = _record_hash_positions(monkeypatch)
    # The hash may follow any gap (the default leaves the hasher's own queue alone, which
    # is larger than this whole file).
    monkeypatch.setattr(coordinator, "QUEUE_BYTES", 0)
    # split_after well above a piece's duration: the first stream (12 s of rest) splits,
    # pieces (about PIECE_SECONDS each) do not, even if the machine is slow.
    options = dataclasses.replace(fast, split_after=3 * PIECE_SECONDS)
    job = FileJob(
        "k",
        server.url("f.bin", rate=RATE),
        tmp_path / "f.bin",
        expected_size=SIZE,
        expected_sha512=sha512(data),
    )
    (result,) = run_transfers([job], options, RecordingSink())
    assert result.ok and result.checksum_checked and result.sha512 == sha512(data)
    assert leftovers(tmp_path) == []

    first, *pieces = assigned
    assert first == (0, None)  # one open stream first
    assert len(pieces) > options.segments  # more pieces than connections
    starts = [start for start, _end in pieces]
    assert starts == sorted(starts)  # handed out lowest first
    # The pieces tile the rest of the file after the part the first stream kept.
    ends = [end for _start, end in pieces]
    assert starts[1:] == ends[:-1] and ends[-1] == SIZE
    assert all(end is not None and end - start <= 3 * RATE for start, end in pieces)
    # What the server saw: one open request, then exactly these ranges.
    entries = server.entries("f.bin")
    assert entries[0].range == "bytes=0-"
    assert sorted(_range(entry) for entry in entries[1:]) == sorted(pieces)
    # The hash followed the prefix during the transfer: when the last byte was written it
    # had already covered more than half the file (4 equal segments: about a quarter).
    assert hashed[-1] > SIZE // 2


def test_a_fast_local_stream_is_never_split(
    server: FaultServer, fast: TransferOptions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Default split rules on an uncapped loopback stream: one request, one connection."""
    size = 16 * 2**20
    data = make_bytes(size)
    server.add("f.bin", data)
    assigned = _record_assignments(monkeypatch)
    options = dataclasses.replace(fast, split_after=TransferOptions().split_after)
    job = FileJob("k", server.url("f.bin"), tmp_path / "f.bin", expected_size=size)
    (result,) = run_transfers([job], options, RecordingSink())
    assert result.ok and result.sha512 == sha512(data)
    assert assigned == [(0, None)]
    assert [entry.range for entry in server.entries("f.bin")] == ["bytes=0-"]


def test_a_piece_that_fails_midway_is_resumed_by_the_coordinator(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    """Split up front into 4 pieces; the first two requests drop mid-way. Each is resumed
    from where its bytes stopped to the same end, after a retry event, without a restart."""
    size = 3_000_000
    data = make_bytes(size)
    server.add("f.bin", data)
    sink = RecordingSink()
    url = server.url("f.bin", drop_after=200_000, drop_times=2, rate=20_000_000)
    job = FileJob("k", url, tmp_path / "f.bin", expected_size=size)
    (result,) = run_transfers([job], fast, sink)
    assert result.ok and result.sha512 == sha512(data)
    assert sha512((tmp_path / "f.bin").read_bytes()) == sha512(data)
    entries = server.entries("f.bin")
    dropped = [k for k, entry in enumerate(entries) if entry.event == "drop"]
    assert len(dropped) == 2
    for k in dropped:
        start, end = _range(entries[k])
        assert end is not None
        # A later request asks for the rest of that piece: from no further than what the
        # server sent, to the same end.
        later = [_range(entry) for entry in entries[k + 1 :]]
        assert any(
            end2 == end and start <= start2 <= start + entries[k].sent for start2, end2 in later
        )
    assert len(sink.retries) == 2 and result.attempts == 6
    assert server.sent("f.bin") - size <= 2 * 256 * 1024  # at most the bytes in flight


@pytest.mark.parametrize("order", ["forward", "backward", "shuffled"])
def test_the_hash_follows_pieces_that_finish_out_of_order(tmp_path: Path, order: str) -> None:
    """Pieces written in any order: each hash step hashes the new contiguous prefix from
    disk, before the file is complete, and the digest is the file's."""
    piece = 256 * 1024
    data = os.urandom(16 * piece)
    part = PartFile.open(tmp_path / "f.bin", "http://x/f.bin", len(data), 10**9)
    try:
        offsets = list(range(0, len(data), piece))
        if order == "backward":
            offsets.reverse()
        elif order == "shuffled":
            offsets = offsets[5:] + offsets[:5]
        progress: list[int] = []
        for offset in offsets:
            part.write(offset, data[offset : offset + piece])
            while part.hash_step(piece // 2, 0):
                pass
            progress.append(part.hasher.position)
        assert part.hasher.position == len(data)
        assert part.hasher.hexdigest() == hashlib.sha512(data).hexdigest()
        if order == "shuffled":  # the prefix grew before the last piece arrived
            assert 0 < progress[-2] < len(data)
    finally:
        part.close()


def test_hash_step_leaves_a_gap_the_live_hasher_may_still_hold(tmp_path: Path) -> None:
    data = os.urandom(4 * 2**20)
    part = PartFile.open(tmp_path / "f.bin", "http://x/f.bin", len(data), 10**9)
    try:
        part.write(2**20, data[2**20 :])  # the prefix is still empty: nothing to hash
        assert not part.hash_step(2**20, 0) and part.hasher.position == 0
        part.write(0, data[: 2**20])  # hashed as it is written (in order), then the rest:
        assert not part.hash_step(2**20, len(data))  # within ``behind``: left alone
        assert part.hash_step(2**20, 0)  # one step, more left
        while part.hash_step(2**20, 0):
            pass
        assert part.hasher.hexdigest() == hashlib.sha512(data).hexdigest()
    finally:
        part.close()
