"""DirectoryLock: exclusion, stale takeover, bounded waiting; and find_stale_parts."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from m2mdl.errors import LockedError
from m2mdl.transfer import DirectoryLock, DirectoryLocked, find_stale_parts
from m2mdl.transfer.journal import Journal
from m2mdl.transfer.lock import STALE_AFTER_S, Lease, holder_is_live

HOLDER = """
import sys, time
from pathlib import Path
from m2mdl.transfer import DirectoryLock
with DirectoryLock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
"""


BREAKER = """
import sys
from pathlib import Path
from m2mdl.transfer import DirectoryLock, DirectoryLocked
try:
    DirectoryLock(Path(sys.argv[1]), break_lock=True).acquire()
    print("taken")
except DirectoryLocked:
    print("refused")
"""


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_second_holder_in_same_process_is_refused(tmp_path: Path) -> None:
    with DirectoryLock(tmp_path) as lock:
        record = json.loads(lock.path.read_text())
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        with pytest.raises(LockedError) as info:
            DirectoryLock(tmp_path).acquire()
        assert isinstance(info.value, DirectoryLocked) and info.value.pid == os.getpid()
        assert str(os.getpid()) in str(info.value)
    assert not (tmp_path / ".m2mdl.lock").exists()
    with DirectoryLock(tmp_path):  # free again
        pass


def test_other_process_holds_then_dies(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, env=env
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"locked"
        with pytest.raises(DirectoryLocked) as info:
            DirectoryLock(tmp_path, wait=0.3, poll=0.05).acquire()
        assert info.value.pid == child.pid
    finally:
        child.kill()  # kill -9: the lock file stays behind, the flock goes
        child.wait()
    assert (tmp_path / ".m2mdl.lock").exists()
    with DirectoryLock(tmp_path) as lock:  # stale: taken over
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()


@pytest.mark.parametrize("content", ["dead-pid", "garbage", "empty"])
def test_stale_lock_file_is_taken_over(tmp_path: Path, content: str) -> None:
    path = tmp_path / ".m2mdl.lock"
    if content == "dead-pid":
        path.write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname()}))
    else:
        path.write_text("{garbage" if content == "garbage" else "")
    with DirectoryLock(tmp_path):
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_live_pid_without_flock_is_respected(tmp_path: Path) -> None:
    """On file systems where flock is a no-op, the recorded live pid still counts."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        record = {"pid": child.pid, "host": socket.gethostname(), "started": "earlier"}
        (tmp_path / ".m2mdl.lock").write_text(json.dumps(record))
        with pytest.raises(DirectoryLocked) as info:
            DirectoryLock(tmp_path).acquire()
        assert info.value.pid == child.pid and "earlier" in str(info.value)
    finally:
        child.kill()
        child.wait()


def test_other_host_is_respected(tmp_path: Path) -> None:
    record = {"pid": 1, "host": "some-other-host.example"}
    (tmp_path / ".m2mdl.lock").write_text(json.dumps(record))
    with pytest.raises(DirectoryLocked) as info:
        DirectoryLock(tmp_path).acquire()
    assert info.value.host == "some-other-host.example"


def test_other_host_with_a_fresh_heartbeat_is_refused_with_the_break_lock_hint(
    tmp_path: Path,
) -> None:
    record = {"pid": 4321, "host": "pod-a7", "started": "2026-01-01T00:00:00+00:00"}
    (tmp_path / ".m2mdl.lock").write_text(json.dumps(record))
    with pytest.raises(DirectoryLocked) as info:
        DirectoryLock(tmp_path).acquire()
    assert "pid 4321 on pod-a7" in info.value.message and "refreshed" in info.value.message
    assert info.value.hint is not None and "--break-lock" in info.value.hint
    with DirectoryLock(tmp_path, break_lock=True) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()


def test_other_host_not_refreshed_for_long_is_taken_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / ".m2mdl.lock"
    path.write_text(json.dumps({"pid": 4321, "host": "pod-a7", "heartbeat_s": 10}))
    old = time.time() - (STALE_AFTER_S + 5)
    os.utime(path, (old, old))
    with caplog.at_level(logging.WARNING, logger="m2mdl.transfer"), DirectoryLock(tmp_path):
        assert json.loads(path.read_text())["host"] == socket.gethostname()
    assert any("pod-a7" in r.getMessage() and "gone" in r.getMessage() for r in caplog.records)


def test_break_lock_never_takes_a_live_local_flock(tmp_path: Path) -> None:
    with DirectoryLock(tmp_path):
        child = subprocess.run(
            [sys.executable, "-c", BREAKER, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            check=False,
        )
        assert child.stdout.strip() == "refused", child.stderr


def test_the_heartbeat_refreshes_a_held_lock(tmp_path: Path) -> None:
    path = tmp_path / "lease"
    with Lease(path, "lease", heartbeat=0.05):
        os.utime(path, (1.0, 1.0))
        deadline = time.monotonic() + 10
        while path.stat().st_mtime < 2.0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert path.stat().st_mtime > time.time() - 60
        assert holder_is_live(path)
    assert not path.exists() and not holder_is_live(path)


def test_bounded_wait_gets_the_lock_when_released(tmp_path: Path) -> None:
    first = DirectoryLock(tmp_path)
    first.acquire()
    threading.Timer(0.2, first.release).start()
    with DirectoryLock(tmp_path, wait=10, poll=0.02):
        pass


def test_find_stale_parts(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    journal = Journal(url="https://example.com/a.tar").to_json()
    names = [
        tmp_path / "a.tar.part",
        tmp_path / "a.tar.part.json",
        sub / "b.TIF.part",
        sub / "b.TIF.part.json",
        sub / "b.TIF.part.json.1a2b3c4d.m2mdl-tmp",
    ]
    foreign = [
        tmp_path / "ubuntu.iso.part",  # a browser's partial file: no m2mdl journal
        tmp_path / "notes.part.json",  # not m2mdl's journal format
        tmp_path / "c.tar.part",
    ]
    for path in [*names, *foreign, tmp_path / "done.tar", tmp_path / ".m2mdl.lock"]:
        path.write_bytes(journal if path.name.endswith(".part.json") else b"x")
    (tmp_path / "notes.part.json").write_text('{"my": "notes"}')
    (tmp_path / "c.tar.part.json").write_text("{garbled")
    fresh = tmp_path / "fresh.part"
    fresh.write_bytes(b"x")
    (tmp_path / "fresh.part.json").write_bytes(journal)
    old = time.time() - 7200
    for path in [*names, *foreign, tmp_path / "c.tar.part.json"]:
        os.utime(path, (old, old))
    (tmp_path / "link.part").symlink_to(names[0])
    os.utime(tmp_path / "link.part", (old, old), follow_symlinks=False)
    assert find_stale_parts(tmp_path, 3600) == sorted(names)
    assert fresh in find_stale_parts(tmp_path, 0, now=time.time() + 1)
    assert find_stale_parts(tmp_path / "missing", 0) == []
