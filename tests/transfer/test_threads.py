"""Connection threads only move bytes: every change a response implies for the file's state
(size, validators, where a segment ends) is made in the file's coordinator thread."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from m2mdl.transfer import FileJob, TransferOptions, run_transfers
from m2mdl.transfer.partfile import PartFile
from m2mdl.transfer.task import Segment

from .faultserver import FaultServer, make_bytes, sha512
from .support import RecordingSink

SIZE = 3_000_000
#: ``Lane`` names its threads so; the coordinator runs in the engine's file thread.
CONNECTION = "m2mdl-conn-"


class Writers:
    """Which thread made each change of file state a response implies, and each write."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.state: list[tuple[str, str]] = []  # (what, thread name)
        self.writes: set[str] = set()  # thread names that wrote body bytes
        self._lock = threading.Lock()
        adopt, set_total, write = PartFile.adopt, PartFile.set_total, PartFile.write

        def record(what: str) -> None:
            with self._lock:
                self.state.append((what, threading.current_thread().name))

        def adopting(part: PartFile, total: int | None, etag: str | None, lm: str | None) -> None:
            record("adopt")
            adopt(part, total, etag, lm)

        def setting_total(part: PartFile, total: int) -> None:
            record("set_total")
            set_total(part, total)

        def writing(part: PartFile, offset: int, data: bytes) -> None:
            with self._lock:
                self.writes.add(threading.current_thread().name)
            write(part, offset, data)

        def setting(seg: Segment, name: str, value: object) -> None:
            if name in ("end", "short_end"):
                record(f"Segment.{name}")
            object.__setattr__(seg, name, value)

        monkeypatch.setattr(PartFile, "adopt", adopting)
        monkeypatch.setattr(PartFile, "set_total", setting_total)
        monkeypatch.setattr(PartFile, "write", writing)
        monkeypatch.setattr(Segment, "__setattr__", setting)

    def by_connections(self) -> list[tuple[str, str]]:
        """The changes of file state that a connection thread made (none, by design)."""
        return [(what, name) for what, name in self.state if name.startswith(CONNECTION)]


@pytest.mark.parametrize(
    ("faults", "expected_size", "changes"),
    [
        ({}, SIZE, {"adopt", "Segment.end", "Segment.short_end"}),  # split up front
        # a 200 without Content-Length: the size is where the body ends
        ({"nocl": 1, "ignore_range": 1}, None, {"adopt", "set_total", "Segment.end"}),
        ({"short206": 700_000}, SIZE, {"adopt", "Segment.short_end"}),  # shorter answers
        ({"ignore_range": 1}, SIZE, {"adopt", "Segment.end"}),  # a 200 to a Range request
    ],
    ids=["segments", "no-length", "short-206", "range-ignored"],
)
def test_only_the_coordinator_changes_file_state(
    server: FaultServer,
    fast: TransferOptions,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    faults: dict[str, object],
    expected_size: int | None,
    changes: set[str],
) -> None:
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    writers = Writers(monkeypatch)
    job = FileJob(
        "k", server.url("f.bin", **faults), tmp_path / "f.bin", expected_size=expected_size
    )
    (result,) = run_transfers([job], dataclasses.replace(fast, segments=4), RecordingSink())
    assert result.ok and result.sha512 == sha512(data)
    assert changes <= {what for what, _name in writers.state}  # the changes were seen
    assert writers.by_connections() == []
    assert writers.writes and all(name.startswith(CONNECTION) for name in writers.writes)
