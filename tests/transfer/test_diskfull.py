"""A full disk (ENOSPC/EDQUOT) and other local write errors, simulated with monkeypatch."""

from __future__ import annotations

import dataclasses
import errno
import os
import threading
from pathlib import Path

import pytest

from m2mdl.errors import DiskFull
from m2mdl.transfer import FileJob, TransferOptions, run_transfers
from m2mdl.transfer.errors import NoSpace
from m2mdl.transfer.journal import load_journal
from m2mdl.transfer.ranges import covered

from .faultserver import FaultServer, make_bytes, sha512
from .support import RecordingSink, leftovers

SIZE = 2_000_000


def _fail_pwrite_after(monkeypatch: pytest.MonkeyPatch, budget: int, code: int) -> None:
    """Make os.pwrite fail with ``code`` once ``budget`` bytes were written in all."""
    real = os.pwrite
    lock = threading.Lock()
    state = {"left": budget}

    def pwrite(fd: int, data: bytes, offset: int) -> int:
        with lock:
            if state["left"] < len(data):
                raise OSError(code, os.strerror(code))
            state["left"] -= len(data)
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)


def test_disk_full_keeps_consistent_part_and_fails_fast(
    server: FaultServer,
    fast: TransferOptions,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = {name: make_bytes(SIZE, seed=i) for i, name in enumerate(["a.bin", "b.bin"])}
    for name, data in files.items():
        server.add(name, data)
    options = dataclasses.replace(fast, workers=2, segment_min_size=10**12)
    jobs = [
        FileJob(name, server.url(name, rate=4_000_000), tmp_path / name, expected_size=SIZE)
        for name in files
    ]
    _fail_pwrite_after(monkeypatch, 1_200_000, errno.ENOSPC)

    results = run_transfers(jobs, options, RecordingSink())

    assert [(r.ok, r.error_kind) for r in results] == [(False, "disk_full")] * 2
    for result in results:
        assert not result.dest.exists()
        assert result.dest.with_name(result.dest.name + ".part").exists()
        journal = load_journal(result.dest.with_name(result.dest.name + ".part.json"))
        assert result.size == (covered(journal.ranges) if journal else 0)
    assert not list(tmp_path.glob("*.m2mdl-tmp"))

    monkeypatch.undo()  # space freed: the rerun resumes from the journals
    server.wait_idle()
    before = server.sent("a.bin") + server.sent("b.bin")
    durable = sum(result.size for result in results)
    jobs = [
        FileJob(name, server.url(name, t="2"), tmp_path / name, expected_size=SIZE)
        for name in files
    ]
    again = run_transfers(jobs, options, RecordingSink())
    assert all(result.ok for result in again)
    for name, data in files.items():
        assert sha512((tmp_path / name).read_bytes()) == sha512(data)
    assert server.sent("a.bin") + server.sent("b.bin") - before == 2 * SIZE - durable
    assert leftovers(tmp_path) == []


def test_fallocate_enospc_fails_before_downloading(
    server: FaultServer,
    fast: TransferOptions,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.add("f.bin", make_bytes(SIZE))

    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.EDQUOT, "quota exceeded")

    monkeypatch.setattr(os, "posix_fallocate", no_space, raising=False)
    job = FileJob("k", server.url("f.bin"), tmp_path / "f.bin", expected_size=SIZE)
    [result] = run_transfers([job], fast, RecordingSink())
    assert (result.ok, result.error_kind, result.attempts) == (False, "disk_full", 1)
    assert result.error is not None and "no space" in result.error
    assert not (tmp_path / "f.bin").exists()


def test_other_write_errors_are_io(
    server: FaultServer,
    fast: TransferOptions,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.add("f.bin", make_bytes(SIZE))
    _fail_pwrite_after(monkeypatch, 100_000, errno.EIO)
    job = FileJob("k", server.url("f.bin"), tmp_path / "f.bin", expected_size=SIZE)
    [result] = run_transfers([job], fast, RecordingSink())
    assert (result.ok, result.error_kind) == (False, "io")
    assert not (tmp_path / "f.bin").exists()


def test_nospace_is_a_diskfull() -> None:
    assert issubclass(NoSpace, DiskFull)
