"""Unit tests: checks, ranges, journal, hashing, backoff, budget and the adaptive limiter."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m2mdl.transfer import FileJob, TransferOptions, looks_complete, verify_existing
from m2mdl.transfer.checks import check_content_type, check_size, magic_problem
from m2mdl.transfer.errors import ErrorPage, IntegrityError
from m2mdl.transfer.hashing import InOrderHasher
from m2mdl.transfer.journal import Journal, load_journal
from m2mdl.transfer.ranges import add_range, covered, is_valid, missing, prefix_end
from m2mdl.transfer.retry import AdaptiveLimiter, AttemptBudget
from m2mdl.util.net import backoff_delay

TAR_HEAD = b"\x00" * 257 + b"ustar\x0000" + b"\x00" * 240
TIFF = b"II*\x00" + b"\x01" * 100

# --- checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "kind", "ok"),
    [
        (TAR_HEAD, "tar", True),
        (b"\x00" * 257 + b"ustar  \x00", "tar", True),  # GNU tar
        (b"<!DOCTYPE html><html>", "tar", False),
        (TIFF, "tiff", True),
        (b"MM\x00*rest", "tiff", True),
        (b"II+\x00bigtiff", "tiff", True),
        (b"GIF89a", "tiff", False),
        (b"GROUP = LANDSAT_METADATA_FILE\n", "text", True),
        (b'{"LANDSAT_METADATA_FILE": {}}', "text", True),
        (b"  <!DOCTYPE HTML>\n<html>", "text", False),
        (b"<html><body>", "text", False),
        (b"text\x00with nul", "text", False),
        (b"anything", None, True),
        (b"", "tar", False),
    ],
)
def test_magic(head: bytes, kind: str | None, ok: bool) -> None:
    assert (magic_problem(head, kind) is None) is ok


def test_magic_names_html() -> None:
    problem = magic_problem(b"<!DOCTYPE html>", "tar")
    assert problem is not None and "HTML" in problem


@pytest.mark.parametrize(
    ("ctype", "name", "error"),
    [
        ("text/html; charset=utf-8", "x.tar", True),
        ("application/json", "x.TIF", True),
        ("application/problem+json", "x.tar", True),
        ("application/json", "MTL.json", False),
        ("text/html", "index.html", False),
        ("application/x-tar", "x.tar", False),
        ("application/octet-stream", "x.tar", False),
        (None, "x.tar", False),
        ("TEXT/HTML", "x.txt", True),
    ],
)
def test_content_type(ctype: str | None, name: str, error: bool) -> None:
    if error:
        with pytest.raises(ErrorPage):
            check_content_type(ctype, name)
    else:
        check_content_type(ctype, name)


def test_check_size() -> None:
    check_size(10, server_total=10, expected=None)
    with pytest.raises(IntegrityError):
        check_size(10, server_total=10, expected=11)
    with pytest.raises(IntegrityError):
        check_size(10, server_total=9, expected=None)


def test_verify_existing_and_looks_complete(tmp_path: Path) -> None:
    dest = tmp_path / "a.tif"
    assert verify_existing(dest, None, "tiff") is None
    dest.write_bytes(TIFF)
    assert looks_complete(dest, len(TIFF), "tiff")
    assert verify_existing(dest, len(TIFF), "tiff") == hashlib.sha512(TIFF).hexdigest()
    assert verify_existing(dest, len(TIFF) + 1, "tiff") is None
    assert verify_existing(dest, None, "tar") is None
    assert not looks_complete(tmp_path, None, None)  # a directory is no file


def test_filejob_validates_kind() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        FileJob("k", "http://x/", Path("x"), kind="zip")


def test_options_validate() -> None:
    with pytest.raises(ValueError, match="workers"):
        TransferOptions(workers=0)


# --- ranges ----------------------------------------------------------------------------------


def test_ranges_basics() -> None:
    ranges = add_range([], 10, 20)
    ranges = add_range(ranges, 0, 5)
    ranges = add_range(ranges, 5, 10)
    assert ranges == [(0, 20)]
    ranges = add_range(ranges, 30, 40)
    assert missing(ranges, 50) == [(20, 30), (40, 50)]
    assert missing(ranges, None) == [(20, 30), (40, None)]
    assert covered(ranges) == 30
    assert prefix_end(ranges) == 20
    assert prefix_end([(3, 4)]) == 0


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 50)), max_size=30))
def test_ranges_property(pieces: list[tuple[int, int]]) -> None:
    ranges: list[tuple[int, int]] = []
    truth: set[int] = set()
    for start, length in pieces:
        ranges = add_range(ranges, start, start + length)
        truth.update(range(start, start + length))
    assert covered(ranges) == len(truth)
    assert is_valid([list(pair) for pair in ranges], 250)
    gaps = missing(ranges, 250)
    assert sum(hi - lo for lo, hi in gaps if hi is not None) == 250 - len(truth)


@pytest.mark.parametrize(
    "value",
    [None, "x", [[1]], [[2, 1]], [[0, 5], [5, 6]], [[0, 5], [3, 9]], [[0, True]], [[0, 9]]],
)
def test_ranges_invalid(value: object) -> None:
    assert not is_valid(value, 8)


# --- journal ---------------------------------------------------------------------------------


def test_journal_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "x.part.json"
    Journal("http://h/x", '"e"', "Mon", 100, [(0, 10), (20, 30)]).save(path)
    loaded = load_journal(path)
    assert loaded is not None
    assert (loaded.etag, loaded.size, loaded.ranges) == ('"e"', 100, [(0, 10), (20, 30)])
    assert loaded.updated_at
    assert [p.name for p in tmp_path.iterdir()] == ["x.part.json"]  # no tmp file left


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"[]",
        b'{"version": 2, "ranges": []}',
        b'{"version": 1, "ranges": [[0, 200]], "size": 100}',
        b'{"version": 1, "ranges": [], "size": -1}',
        b'{"version": 1, "ranges": [], "etag": 5}',
    ],
)
def test_journal_rejects_garbage(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.part.json"
    path.write_bytes(content)
    assert load_journal(path) is None


# --- hashing ---------------------------------------------------------------------------------


def test_in_order_hasher(tmp_path: Path) -> None:
    data = os.urandom(10_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    hasher = InOrderHasher()
    hasher.feed(5000, data[5000:6000])  # out of order: ignored
    hasher.feed(0, data[:3000])
    fd = os.open(path, os.O_RDONLY)
    try:
        hasher.catch_up(fd, len(data), chunk_size=999)
        with pytest.raises(IntegrityError):
            hasher.catch_up(fd, len(data) + 1)
    finally:
        os.close(fd)
    assert hasher.hexdigest() == hashlib.sha512(data).hexdigest()


# --- retry policy ----------------------------------------------------------------------------


def test_backoff_full_jitter_and_retry_after() -> None:
    assert backoff_delay(1, base=1, cap=60, rng=lambda: 1.0) == 1.0
    assert backoff_delay(4, base=1, cap=60, rng=lambda: 1.0) == 8.0
    assert backoff_delay(30, base=1, cap=60, rng=lambda: 1.0) == 60.0
    assert backoff_delay(3, base=1, cap=60, rng=lambda: 0.5) == 2.0
    assert backoff_delay(1, base=1, cap=60, retry_after=7) == 7.0
    assert backoff_delay(1, base=1, cap=60, retry_after=900, retry_after_cap=300) == 300.0
    assert backoff_delay(10**6, base=1, cap=60, rng=lambda: 1.0) == 60.0


def test_budget_refills_only_on_new_progress() -> None:
    budget = AttemptBudget(3, chunk_size=10)
    assert budget.spend(0) == (True, 1)
    assert budget.spend(5) == (True, 2)
    assert budget.spend(15) == (True, 1)  # 15 >= 0 + 10: refilled
    assert budget.spend(15) == (True, 2)
    assert budget.spend(0) == (False, 3)  # restarted from 0: no refill


def test_limiter_shrinks_and_grows() -> None:
    limiter = AdaptiveLimiter(3, grow_after=2)
    never = lambda: False  # noqa: E731
    assert limiter.acquire(never) and limiter.acquire(never) and limiter.acquire(never)
    assert not limiter.acquire(lambda: True)
    limiter.throttled()
    limiter.throttled()
    limiter.throttled()
    assert limiter.limit == 1
    for _ in range(3):
        limiter.release()
    limiter.succeeded()
    limiter.succeeded()
    assert limiter.limit == 2
    for _ in range(10):
        limiter.succeeded()
    assert limiter.limit == 3


def test_limiter_blocks_until_release() -> None:
    limiter = AdaptiveLimiter(1, grow_after=1)
    assert limiter.acquire(lambda: False)
    got = threading.Event()

    def second() -> None:
        if limiter.acquire(lambda: False):
            got.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not got.wait(0.2)
    limiter.release()
    assert got.wait(5)
    thread.join()
