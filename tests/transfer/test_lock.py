"""DirectoryLock: exclusion, stale takeover, bounded waiting; and find_stale_parts."""

from __future__ import annotations

import json
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

HOLDER = """
import sys, time
from pathlib import Path
from m2mdl.transfer import DirectoryLock
with DirectoryLock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
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


def test_bounded_wait_gets_the_lock_when_released(tmp_path: Path) -> None:
    first = DirectoryLock(tmp_path)
    first.acquire()
    threading.Timer(0.2, first.release).start()
    with DirectoryLock(tmp_path, wait=10, poll=0.02):
        pass


def test_find_stale_parts(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    names = [
        tmp_path / "a.tar.part",
        tmp_path / "a.tar.part.json",
        sub / "b.TIF.part",
        sub / "b.TIF.part.json.1a2b3c4d.m2mdl-tmp",
    ]
    for path in [*names, tmp_path / "done.tar", tmp_path / ".m2mdl.lock"]:
        path.write_bytes(b"x")
    fresh = tmp_path / "fresh.part"
    fresh.write_bytes(b"x")
    old = time.time() - 7200
    for path in names:
        os.utime(path, (old, old))
    (tmp_path / "link.part").symlink_to(names[0])
    os.utime(tmp_path / "link.part", (old, old), follow_symlinks=False)
    assert find_stale_parts(tmp_path, 3600) == sorted(names)
    assert fresh in find_stale_parts(tmp_path, 0, now=time.time() + 1)
    assert find_stale_parts(tmp_path / "missing", 0) == []
