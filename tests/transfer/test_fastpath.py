"""The performance paths: direct reads into reused buffers, keep-alive, the hash and flush
helper threads, page-cache dropping, grouped directory fsyncs and the lazy journal."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import itertools
import os
import threading
import time
import typing
from pathlib import Path

import pytest
import urllib3

from m2mdl.transfer import FileJob, TransferOptions, fsutil, partfile, run_transfers, single
from m2mdl.transfer.errors import LocalIOError, NoSpace
from m2mdl.transfer.hashing import ASYNC_MIN, QUEUE_BYTES, InOrderHasher
from m2mdl.transfer.journal import Journal, load_journal
from m2mdl.transfer.partfile import PartFile
from m2mdl.transfer.ranges import covered
from m2mdl.transfer.task import FileTask
from m2mdl.transfer.watchdog import Watch
from m2mdl.util import fs

from .faultserver import FaultServer, make_bytes, sha512
from .support import RecordingSink, leftovers

SIZE = 3_000_000


def _single(fast: TransferOptions) -> TransferOptions:
    return dataclasses.replace(fast, segment_min_size=10**12)


def _count_connects(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    connects: list[int] = []
    real = urllib3.connection.HTTPConnection.connect

    def connect(self: urllib3.connection.HTTPConnection) -> None:
        connects.append(1)
        real(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect", connect)
    return connects


# --- the body loop ---------------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["length", "close-delimited"])
@pytest.mark.parametrize("segmented", [False, True], ids=["single", "segmented"])
def test_the_body_loop_downloads_correctly(
    server: FaultServer,
    fast: TransferOptions,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    framing: str,
    segmented: bool,
) -> None:
    """One loop, urllib3's public ``read1`` without decoding, for every kind of body."""
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    calls: list[bool | None] = []
    real = urllib3.response.HTTPResponse.read1

    def spy(
        self: urllib3.response.HTTPResponse,
        amt: int | None = None,
        decode_content: bool | None = None,
    ) -> bytes:
        calls.append(decode_content)
        return real(self, amt, decode_content=decode_content)

    monkeypatch.setattr(urllib3.response.HTTPResponse, "read1", spy)
    options = fast if segmented else _single(fast)
    faults: dict[str, object] = {"drop_after": 700_000}
    if framing == "close-delimited":
        faults["nocl"] = 1
    job = FileJob("k", server.url("f.bin", **faults), tmp_path / "f.bin", expected_size=SIZE)
    [result] = run_transfers([job], options, RecordingSink())
    assert result.ok and result.sha512 == sha512(data)
    assert sha512((tmp_path / "f.bin").read_bytes()) == sha512(data)
    assert calls and set(calls) == {False}
    assert leftovers(tmp_path) == []


def test_direct_loop_handles_a_body_without_length(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    job = FileJob("k", server.url("f.bin", nocl=1), tmp_path / "f.bin")
    [result] = run_transfers([job], _single(fast), RecordingSink())
    assert result.ok and result.size == SIZE and result.sha512 == sha512(data)


def test_read_after_the_body_ended_reads_nothing() -> None:
    """A body that ended (and closed its response) keeps reading as the end, not an error."""
    raw = urllib3.response.HTTPResponse(
        body=io.BytesIO(b"abc"), preload_content=False, decode_content=False
    )
    watch = Watch(raw, lambda: None)
    task = typing.cast(FileTask, None)
    got = b""
    for _ in range(10):
        block = single._read(task, raw, 2, watch)
        if not block:
            break
        got += block
    assert got == b"abc"
    assert single._read(task, raw, 10, watch) == b""


def test_connections_are_reused_between_files(
    server: FaultServer, fast: TransferOptions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body read to its end hands its connection back (keep-alive), one per worker."""
    files = {f"f{i}.bin": make_bytes(5000 + i, seed=i) for i in range(12)}
    for name, data in files.items():
        server.add(name, data)
    connects = _count_connects(monkeypatch)
    jobs = [FileJob(name, server.url(name), tmp_path / name) for name in files]
    results = run_transfers(jobs, dataclasses.replace(fast, workers=2), RecordingSink())
    assert all(result.ok for result in results)
    assert len(connects) <= 2
    for name, data in files.items():
        assert sha512((tmp_path / name).read_bytes()) == sha512(data)


def test_a_cut_body_never_goes_back_to_the_pool(
    server: FaultServer, fast: TransferOptions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dropped connection is not reused (the resume opens a new one)."""
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    connects = _count_connects(monkeypatch)
    job = FileJob("k", server.url("f.bin", drop_after=500_000), tmp_path / "f.bin")
    [result] = run_transfers([job], _single(fast), RecordingSink())
    assert result.ok and result.sha512 == sha512(data)
    assert len(connects) == 2  # the drop forced a new connection
    assert len(server.entries("f.bin")) == 2


def test_watch_never_shuts_a_stream_that_ended() -> None:
    calls: list[str] = []

    class Raw:
        def shutdown(self) -> None:
            calls.append("shutdown")

    watch = Watch(typing.cast(urllib3.BaseHTTPResponse, Raw()), lambda: None)
    watch.abort("stall")
    assert calls == ["shutdown"] and watch.reason == "stall"
    ended = Watch(typing.cast(urllib3.BaseHTTPResponse, Raw()), lambda: None)
    ended.ended = True
    ended.abort("stall")
    assert calls == ["shutdown"] and ended.reason is None


# --- hashing ---------------------------------------------------------------------------------


def test_hasher_threads_large_blocks_in_order(tmp_path: Path) -> None:
    data = os.urandom(6 * ASYNC_MIN + 123)
    hasher = InOrderHasher()
    step = ASYNC_MIN + 7
    for offset in range(0, len(data) - step, step):
        hasher.submit(offset, data[offset : offset + step])
    assert hasher._thread is not None  # large blocks went to the helper thread
    before = hasher._accepted
    hasher.submit(10**9, bytes(ASYNC_MIN))  # out of order: ignored
    assert hasher._accepted == before
    hasher.feed(hasher._accepted, b"")  # a no-op after the queued blocks
    path = tmp_path / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        hasher.catch_up(fd, len(data))
    finally:
        os.close(fd)
    assert hasher.hexdigest() == hashlib.sha512(data).hexdigest()
    hasher.close()
    hasher.submit(len(data), b"x" * ASYNC_MIN)  # inline after close
    assert hasher.position == len(data) + ASYNC_MIN


def test_hasher_queue_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow hash makes the stream wait: never more than QUEUE_BYTES (+ one block) queued."""
    gate = threading.Event()
    hasher = InOrderHasher()
    real = hasher._update
    peak: list[int] = []

    def slow(data: bytes | bytearray | memoryview) -> None:
        gate.wait(5)
        peak.append(hasher._queued)
        real(data)

    monkeypatch.setattr(hasher, "_update", slow)
    block = bytes(QUEUE_BYTES // 4)
    blocks = 12

    def feed() -> None:
        for i in range(blocks):
            hasher.submit(i * len(block), block)

    feeder = threading.Thread(target=feed)
    feeder.start()
    deadline = time.monotonic() + 5
    while hasher._queued < QUEUE_BYTES and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert hasher._queued <= QUEUE_BYTES  # the feeder waits instead of queueing more
    assert feeder.is_alive()
    gate.set()
    feeder.join(5)
    assert hasher.hexdigest() == hashlib.sha512(block * blocks).hexdigest()
    assert max(peak) <= QUEUE_BYTES
    hasher.close()


# --- flushing, the journal and the page cache ---------------------------------------------


def _open(tmp_path: Path, interval: int) -> PartFile:
    part = PartFile.open(tmp_path / "f.bin", "http://x/f.bin", None, interval)
    part.adopt(SIZE, '"e"', None)
    return part


def test_small_file_writes_no_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saves: list[int] = []
    real = Journal.save

    def save(self: Journal, path: Path) -> None:
        saves.append(1)
        real(self, path)

    monkeypatch.setattr(Journal, "save", save)
    part = _open(tmp_path, interval=2 * SIZE + 2)
    try:
        part.write(0, make_bytes(SIZE))
        size, digest, _ = part.publish(expected_size=SIZE, kind=None, expected_sha512=None)
    finally:
        part.close()
    assert (size, digest, saves) == (SIZE, sha512(make_bytes(SIZE)), [])
    assert leftovers(tmp_path) == []


def test_background_flush_keeps_the_journal_within_one_interval(tmp_path: Path) -> None:
    interval = 256 * 1024
    data = make_bytes(SIZE)
    part = _open(tmp_path, interval)
    try:
        for offset in range(0, SIZE, 64 * 1024):
            part.write(offset, data[offset : offset + 64 * 1024])
            journal = load_journal(tmp_path / "f.bin.part.json")
            claimed = covered(journal.ranges) if journal is not None else 0
            assert part.done() - claimed <= interval + 64 * 1024
        part.flush()
        journal = load_journal(tmp_path / "f.bin.part.json")
        assert journal is not None and covered(journal.ranges) == SIZE == part.durable()
    finally:
        part.close()


@pytest.mark.parametrize(("code", "error"), [(errno.ENOSPC, NoSpace), (errno.EIO, LocalIOError)])
def test_background_flush_failure_reaches_the_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, error: type[Exception]
) -> None:
    part = _open(tmp_path, 128 * 1024)
    failed = threading.Event()

    def fsync(fd: int) -> None:
        failed.set()
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fsync)
    data = make_bytes(1_000_000)
    try:
        with pytest.raises(error):
            for offset in range(0, len(data), 64 * 1024):
                part.write(offset, data[offset : offset + 64 * 1024])
                if failed.is_set():
                    time.sleep(0.05)  # let the helper record the failure
        assert failed.is_set()
        assert part.stopped_by_disk_full is (code == errno.ENOSPC)
    finally:
        monkeypatch.undo()
        part.close()
    assert load_journal(tmp_path / "f.bin.part.json") is None  # nothing unproven claimed


def test_flushed_and_hashed_bytes_leave_the_page_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[tuple[int, int]] = []
    monkeypatch.setattr(
        partfile, "_FADVISE", lambda fd, off, n, advice: dropped.append((off, off + n))
    )
    data = make_bytes(SIZE)
    part = _open(tmp_path, 512 * 1024)
    try:
        half = SIZE // 2
        part.write(half, data[half:])  # out of order: on disk, not hashed yet
        part.flush()
        assert dropped == []  # nothing below the hasher's position
        part.write(0, data[:half])
        part.hasher.hexdigest()  # waits for the helper thread: the first half is hashed now
        part.flush()
        assert dropped and dropped[-1][1] <= part.hasher.position
        assert all(a[1] == b[0] for a, b in itertools.pairwise(dropped))  # never twice
        # the coordinator's catch-up from the cache: SIZE bytes at most, so one step does it
        assert part.hash_step(SIZE, 0) is False
        assert part.hasher.position == SIZE
        _, digest, _ = part.publish(expected_size=SIZE, kind=None, expected_sha512=None)
    finally:
        part.close()
    assert digest == sha512(data) and (tmp_path / "f.bin").read_bytes() == data


# --- directory fsyncs ------------------------------------------------------------------------


def test_directory_fsyncs_are_shared_but_always_start_after_the_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[float] = []
    ended: list[float] = []
    lock = threading.Lock()

    def slow_fsync(directory: Path) -> None:
        with lock:
            started.append(time.monotonic())
        time.sleep(0.02)
        with lock:
            ended.append(time.monotonic())

    monkeypatch.setattr(fs, "_fsync_dir_now", slow_fsync)
    calls: list[tuple[float, float]] = []

    def caller() -> None:
        for _ in range(5):
            begin = time.monotonic()
            fsutil.fsync_dir(tmp_path)
            calls.append((begin, time.monotonic()))

    threads = [threading.Thread(target=caller) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 30
    assert len(started) < 30  # grouped
    for begin, end in calls:  # each call saw a whole fsync that started after it
        assert any(begin <= s and e <= end for s, e in zip(started, ended, strict=True))


def test_a_failed_directory_fsync_is_raised_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = [OSError(errno.EIO, "io"), None]

    def flaky(directory: Path) -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    monkeypatch.setattr(fs, "_fsync_dir_now", flaky)
    with pytest.raises(OSError):
        fsutil.fsync_dir(tmp_path)
    fsutil.fsync_dir(tmp_path)
    assert outcomes == []
