"""``DirectoryLock``: one m2mdl run at a time per output directory, as a lease.

Two runs writing the same ``.part`` files would corrupt each other. The lock file
``.m2mdl.lock`` is created with O_CREAT|O_EXCL and held with ``fcntl.flock`` for the whole
run; it records pid, host, start time and the heartbeat interval. While held, a thread
refreshes the file's mtime every ``HEARTBEAT_S`` seconds: the lock is a lease.

Who may take a lock file over (the message of a refusal says which case applied):

* the kernel dropped the flock and the record names a dead pid on this host (kill -9, a
  crash): taken over at once;
* the record names another host (a container killed by OOM or evicted has another host name
  than its successor, and no pid we can check) and its heartbeat is older than
  ``STALE_AFTER_S``: the holder is gone, taken over;
* another host with a fresh heartbeat, or a live pid on this host: respected (``flock`` can
  "succeed" on some network file systems without excluding anyone, which huggingface_hub
  met, so the record is checked even when the flock was granted).

``break_lock=True`` (``--break-lock``) ignores the record for the cases that cannot be
decided (another host whose heartbeat is fresh, e.g. a frozen VM); it never takes a flock held
by a live process on this machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from m2mdl.errors import LockedError
from m2mdl.util.jsontypes import JsonMapping, JsonObject

from .naming import LOCK_NAME

_RETRIES = 5  # lock-file races (created or removed under us) are retried this often
#: Seconds between two refreshes of a held lock's mtime.
HEARTBEAT_S = 10.0
#: A lock of another host not refreshed for this long is stale (six missed heartbeats).
STALE_AFTER_S = 6 * HEARTBEAT_S
BREAK_HINT = "if you are sure no m2mdl run uses it any more, run again with --break-lock"

log = logging.getLogger("m2mdl.transfer")


class DirectoryLocked(LockedError):
    """Another live m2mdl run holds the directory.

    Attributes:
        pid: the holder's process id, or None when unknown.
        host: the holder's host name, or None when unknown.
    """

    def __init__(
        self, message: str, *, pid: int | None, host: str | None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.pid = pid
        self.host = host


class Lease:
    """A lock file held with flock, recorded (pid, host, start) and refreshed by a heartbeat.

    Args:
        path: the lock file.
        what: how messages name what is locked (e.g. the directory).
        wait: seconds to keep trying while another run holds the lock (0: fail at once).
        poll: seconds between tries while waiting.
        break_lock: take over a lock whose holder cannot be proven gone (see the module).
        heartbeat: seconds between refreshes of the file's mtime.
        extra: more fields for the record (e.g. a run's label).

    Raises:
        DirectoryLocked: (a ``LockedError``) when a live holder keeps it after ``wait``.
    """

    def __init__(
        self,
        path: Path,
        what: str,
        *,
        wait: float = 0.0,
        poll: float = 0.2,
        break_lock: bool = False,
        heartbeat: float = HEARTBEAT_S,
        extra: JsonMapping | None = None,
    ) -> None:
        self.path = path
        self._what = what
        self._wait = wait
        self._poll = poll
        self._break = break_lock
        self._heartbeat = heartbeat
        self._extra = extra or {}
        self._fd = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Lease:
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
                self._start_heartbeat()
                return
            left = until - time.monotonic()
            if left <= 0:
                raise _locked_error(self._what, holder)
            time.sleep(min(self._poll, left))

    def release(self) -> None:
        """Stop the heartbeat, remove the lock file and drop the lock (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        fd, self._fd = self._fd, -1
        if fd < 0:
            return
        with contextlib.suppress(OSError):
            if _same_file(fd, self.path):
                self.path.unlink()
        os.close(fd)

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        fd = self._fd
        self._thread = threading.Thread(
            target=self._beat, args=(fd,), name="m2mdl-lock-heartbeat", daemon=True
        )
        self._thread.start()

    def _beat(self, fd: int) -> None:
        while not self._stop.wait(self._heartbeat):
            with contextlib.suppress(OSError):  # a full or flaky disk must not end the run
                os.utime(fd)

    def _try_once(self) -> JsonObject | None:
        """Try to take the lock; return the live holder's record if someone has it."""
        for _ in range(_RETRIES):
            fd, created = _open_lock_file(self.path)
            if fd < 0:
                continue  # removed between our two opens: try again
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_record(fd) | {"_flock": True}
                os.close(fd)
                return holder
            if not _same_file(fd, self.path):
                os.close(fd)  # the holder removed it after we opened it: try again
                continue
            record = {} if created else _read_record(fd) | {"_age": _age(fd)}
            verdict = _verdict(record) if record else None
            if verdict is not None and not self._break:
                os.close(fd)
                return record | {"_verdict": verdict}
            if record:
                _log_takeover(self._what, record, verdict)
            try:
                _write_record(fd, self._heartbeat, self._extra)
            except OSError:
                os.close(fd)
                raise
            self._fd = fd
            return None
        return {}


class DirectoryLock(Lease):
    """A context manager that holds ``DIR/.m2mdl.lock`` while a run writes into ``DIR``.

    Args:
        directory: the output directory (must exist).
        wait: seconds to keep trying while another run holds the lock (0: fail at once).
        poll: seconds between tries while waiting.
        break_lock: ``--break-lock``: take over a lock whose holder cannot be proven gone.

    Raises:
        DirectoryLocked: (a ``LockedError``) when a live run holds the lock after ``wait``.
    """

    def __init__(
        self, directory: Path, *, wait: float = 0.0, poll: float = 0.2, break_lock: bool = False
    ) -> None:
        super().__init__(
            directory / LOCK_NAME, str(directory), wait=wait, poll=poll, break_lock=break_lock
        )

    def __enter__(self) -> DirectoryLock:
        self.acquire()
        return self


def holder_is_live(path: Path) -> bool:
    """Whether a lock file is held by a live holder (without taking it): flock held, a live
    pid on this host, or another host's fresh heartbeat."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        record = _read_record(fd) | {"_age": _age(fd)}
        return _verdict(record) is not None
    finally:
        os.close(fd)


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


def _age(fd: int) -> float:
    """Seconds since the lock file was last refreshed (its mtime)."""
    try:
        return max(0.0, time.time() - os.fstat(fd).st_mtime)
    except OSError:
        return 0.0


def _read_record(fd: int) -> JsonObject:
    """The holder's record, or {} when it is empty or garbled."""
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_record(fd: int, heartbeat: float, extra: JsonMapping) -> None:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "heartbeat_s": heartbeat,
        **extra,
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode() + b"\n", 0)
    os.fsync(fd)
    os.utime(fd)


def _stale_after(record: JsonMapping) -> float:
    beat = record.get("heartbeat_s")
    if isinstance(beat, (int, float)) and not isinstance(beat, bool) and 0 < beat < 3600:
        return 6 * float(beat)
    return STALE_AFTER_S


def _verdict(record: JsonMapping) -> str | None:
    """Why a record whose flock we obtained still counts ("live-pid", "fresh-heartbeat"), or
    None when its holder is gone."""
    pid, host = record.get("pid"), record.get("host")
    if not isinstance(pid, int):
        return None  # garbled: its writer died before finishing the record
    if host != socket.gethostname():
        fresh = float(record.get("_age", 0.0)) < _stale_after(record)
        return "fresh-heartbeat" if fresh else None
    return "live-pid" if pid != os.getpid() and _alive(pid) else None


def _alive(pid: int) -> bool:
    """True when a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _who(record: JsonMapping) -> str:
    pid = record.get("pid") if isinstance(record.get("pid"), int) else None
    host = record.get("host") if isinstance(record.get("host"), str) else "an unknown host"
    return f"pid {pid} on {host}" if pid is not None else "another process"


def _log_takeover(what: str, record: JsonMapping, verdict: str | None) -> None:
    """Say why a lock file left behind was taken over (on stderr through logging)."""
    if verdict is not None:
        log.warning("%s: breaking the lock of %s as asked (--break-lock)", what, _who(record))
    elif record.get("host") not in (None, socket.gethostname()):
        log.warning(
            "%s: taking over the lock of %s: not refreshed for %.0f s, its run is gone",
            what,
            _who(record),
            float(record.get("_age", 0.0)),
        )
    elif isinstance(record.get("pid"), int):
        log.info("%s: taking over the lock of %s, which is no longer running", what, _who(record))


def _locked_error(what: str, holder: JsonMapping) -> DirectoryLocked:
    pid = holder.get("pid") if isinstance(holder.get("pid"), int) else None
    host = holder.get("host") if isinstance(holder.get("host"), str) else None
    since = holder.get("started") or "an unknown time"
    who = _who(holder)
    verdict = holder.get("_verdict")
    if verdict == "fresh-heartbeat":
        age = float(holder.get("_age", 0.0))
        message = (
            f"{what} is in use by another m2mdl run ({who}, since {since}; its lock was"
            f" refreshed {age:.0f} s ago)"
        )
        hint = (
            f"wait for it; if that run is gone (a killed container), its lock is taken over"
            f" once it has not been refreshed for {_stale_after(holder):.0f} s; {BREAK_HINT}"
        )
    elif holder.get("_flock") or verdict == "live-pid":
        message = f"{what} is in use by another m2mdl run ({who}, since {since})"
        hint = "wait for the other run to finish, or choose another --out directory"
    else:
        message = f"{what} is locked by {who} (since {since})"
        hint = BREAK_HINT
    return DirectoryLocked(message, pid=pid, host=host, hint=hint)
