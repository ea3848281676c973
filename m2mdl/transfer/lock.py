"""``DirectoryLock``: one m2mdl run at a time per output directory.

Two runs writing the same ``.part`` files would corrupt each other. The lock file
``.m2mdl.lock`` is created with O_CREAT|O_EXCL and held with ``fcntl.flock`` for the whole
run; it records pid, host and start time. The kernel drops the flock when the holder dies, so
a lock file left by a dead process on this host is taken over. ``flock`` can "succeed" on
some network file systems without excluding anyone (huggingface_hub met it),
so a recorded pid that is still alive on this host, or any other host's lock, is respected
even when the flock was granted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from m2mdl.errors import LockedError

from .naming import LOCK_NAME

_RETRIES = 5  # lock-file races (created or removed under us) are retried this often


class DirectoryLocked(LockedError):
    """Another live m2mdl run holds the directory.

    Attributes:
        pid: the holder's process id, or None when unknown.
        host: the holder's host name, or None when unknown.
    """

    def __init__(self, message: str, *, pid: int | None, host: str | None) -> None:
        super().__init__(message)
        self.pid = pid
        self.host = host


class DirectoryLock:
    """A context manager that holds ``DIR/.m2mdl.lock`` while a run writes into ``DIR``.

    Args:
        directory: the output directory (must exist).
        wait: seconds to keep trying while another run holds the lock (0: fail at once).
        poll: seconds between tries while waiting.

    Raises:
        DirectoryLocked: (a ``LockedError``) when a live run holds the lock after ``wait``.
    """

    def __init__(self, directory: Path, *, wait: float = 0.0, poll: float = 0.2) -> None:
        self.path = directory / LOCK_NAME
        self._wait = wait
        self._poll = poll
        self._fd = -1

    def __enter__(self) -> DirectoryLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, waiting up to ``wait`` seconds for a live holder to finish."""
        until = time.monotonic() + self._wait
        while True:
            holder = self._try_once()
            if holder is None:
                return
            left = until - time.monotonic()
            if left <= 0:
                raise _locked_error(self.path.parent, holder)
            time.sleep(min(self._poll, left))

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        fd, self._fd = self._fd, -1
        if fd < 0:
            return
        with contextlib.suppress(OSError):
            if _same_file(fd, self.path):
                self.path.unlink()
        os.close(fd)

    def _try_once(self) -> dict[str, Any] | None:
        """Try to take the lock; return the live holder's record if someone has it."""
        for _ in range(_RETRIES):
            fd, created = _open_lock_file(self.path)
            if fd < 0:
                continue  # removed between our two opens: try again
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_record(fd)
                os.close(fd)
                return holder
            if not _same_file(fd, self.path):
                os.close(fd)  # the holder removed it after we opened it: try again
                continue
            record = {} if created else _read_record(fd)
            if record and _respected(record):
                os.close(fd)
                return record
            _write_record(fd)
            self._fd = fd
            return None
        return {}


def _open_lock_file(path: Path) -> tuple[int, bool]:
    """Open the lock file, creating it exclusively if absent; (-1, False) if it vanished."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644), True
    except FileExistsError:
        pass
    try:
        return os.open(path, os.O_RDWR), False
    except FileNotFoundError:
        return -1, False


def _same_file(fd: int, path: Path) -> bool:
    """True when ``path`` still names the open file ``fd``."""
    try:
        mine, current = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (current.st_dev, current.st_ino)


def _read_record(fd: int) -> dict[str, Any]:
    """The holder's record, or {} when it is empty or garbled."""
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_record(fd: int) -> None:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode() + b"\n", 0)
    os.fsync(fd)


def _respected(holder: dict[str, Any]) -> bool:
    """Whether a record whose flock we obtained still counts: a live pid here, or elsewhere."""
    pid, host = holder.get("pid"), holder.get("host")
    if not isinstance(pid, int):
        return False  # garbled: its writer died before finishing the record
    if host != socket.gethostname():
        return True  # we cannot tell whether a process on another host lives
    return pid != os.getpid() and _alive(pid)


def _alive(pid: int) -> bool:
    """True when a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _locked_error(directory: Path, holder: dict[str, Any]) -> DirectoryLocked:
    pid = holder.get("pid") if isinstance(holder.get("pid"), int) else None
    host = holder.get("host") if isinstance(holder.get("host"), str) else None
    since = holder.get("started") or "an unknown time"
    who = f"pid {pid} on {host}" if pid is not None else "another process"
    return DirectoryLocked(
        f"{directory} is in use by another m2mdl run ({who}, since {since})", pid=pid, host=host
    )
