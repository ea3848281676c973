"""``limit_rate``: the shared token bucket (with an injected clock) and its use by the engine."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from m2mdl.transfer import FileJob, TransferInterrupted, TransferOptions, run_transfers
from m2mdl.transfer.ratelimit import MIN_READ, TokenBucket

from .faultserver import FaultServer, make_bytes, sha512
from .support import RecordingSink, leftovers


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_starts_with_its_burst_then_charges_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1_000_000, clock=clock)
    assert bucket.reserve(bucket.capacity) == 0.0
    assert bucket.reserve(500_000) == pytest.approx(0.5)


def test_bucket_refills_with_time_up_to_its_capacity() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1_000_000, clock=clock)
    bucket.reserve(bucket.capacity)
    clock.now += 0.2
    assert bucket.reserve(100_000) == 0.0  # 0.2 s earned 200_000 tokens
    clock.now += 3600  # a long idle time does not bank more than the capacity
    assert bucket.reserve(bucket.capacity) == 0.0
    assert bucket.reserve(1_000) == pytest.approx(0.001)


@pytest.mark.parametrize("rate", [10_000, 1_000_000, 50_000_000])
def test_bytes_over_any_interval_stay_under_the_cap(rate: int) -> None:
    """Simulated streams that read and wait as told never exceed rate * t + capacity."""
    clock = FakeClock()
    bucket = TokenBucket(rate, clock=clock)
    start = clock.now
    taken = 0
    for step in range(2000):
        nbytes = bucket.read_size(1 << 20) // (1 + step % 3)  # reads of varying sizes
        delay = bucket.reserve(nbytes)
        taken += nbytes
        clock.now += delay  # the reader waits as told before its next read
        elapsed = clock.now - start
        assert taken <= rate * elapsed + bucket.capacity + 1  # 1: float rounding
    assert taken >= rate * (clock.now - start) * 0.9  # and the cap is not far below the rate


def test_read_size_is_bounded_by_the_rate() -> None:
    bucket = TokenBucket(1_000_000)
    assert bucket.read_size(1 << 20) == 100_000
    assert TokenBucket(1000).read_size(1 << 20) == MIN_READ
    assert bucket.read_size(500) == 500


def test_take_waits_until_paid_and_ends_early_when_stopped() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1000, clock=clock)
    bucket.reserve(bucket.capacity)
    waits: list[float] = []

    class Event(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            assert timeout is not None
            waits.append(timeout)
            clock.now += timeout
            return False

    bucket.take(500, lambda: False, Event())
    assert sum(waits) == pytest.approx(0.5)
    assert max(waits) <= 0.1 + 1e-9
    waits.clear()
    bucket.take(10_000, lambda: len(waits) >= 3, Event())
    assert len(waits) == 3  # a stop ends the wait between two bounded steps


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit_rate"):
        TransferOptions(limit_rate=0)
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_limited_run_downloads_correctly(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    """Several files and segments under one cap: correct bytes, reads no larger than allowed."""
    files = {f"f{i}.bin": make_bytes(400_000 + i, seed=i) for i in range(3)}
    for name, data in files.items():
        server.add(name, data)
    options = dataclasses.replace(fast, limit_rate=50_000_000)
    jobs = [
        FileJob(name, server.url(name), tmp_path / name, expected_size=len(data))
        for name, data in files.items()
    ]
    results = run_transfers(jobs, options, RecordingSink())
    assert all(result.ok for result in results)
    for name, data in files.items():
        assert sha512((tmp_path / name).read_bytes()) == sha512(data)
    assert leftovers(tmp_path) == []


def test_stop_ends_a_throttled_stream(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    """A stream waiting on the bucket sees the stop event and keeps its progress."""
    data = make_bytes(2_000_000)
    server.add("f.bin", data)
    stop = threading.Event()
    options = dataclasses.replace(fast, limit_rate=200_000, segment_min_size=10**12)
    sink = RecordingSink(at_bytes=100_000, action=stop.set)
    job = FileJob("k", server.url("f.bin"), tmp_path / "f.bin", expected_size=len(data))
    with pytest.raises(TransferInterrupted) as info:
        run_transfers([job], options, sink, stop=stop)
    (result,) = info.value.results
    assert result.error_kind == "interrupted"
    assert result.bytes_received < len(data)
