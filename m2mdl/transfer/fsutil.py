"""Small file-system helpers: durable atomic writes, directory fsync, preallocation, ENOSPC."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import threading
from pathlib import Path

from m2mdl.errors import NO_SPACE_ERRNOS

from .errors import NoSpace
from .naming import TMP_SUFFIX

_NO_FALLOCATE = frozenset({errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS})


def is_disk_full(exc: BaseException) -> bool:
    """Return True for ENOSPC and EDQUOT (no space, quota exceeded)."""
    return isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS


def disk_full(exc: OSError, path: Path) -> NoSpace:
    """Build the ``NoSpace`` (a ``DiskFull``) error for ``exc`` while writing ``path``."""
    return NoSpace(f"no space left while writing {path.name} ({os.strerror(exc.errno or 0)})")


def fsync_dir(directory: Path) -> None:
    """fsync a directory so a rename or unlink inside it survives a crash.

    Some file systems refuse to fsync directories (EINVAL); that is ignored. Concurrent
    calls for the same directory share one fsync that started after all of them were made
    (group commit, ``_DirSyncer``), so each caller still gets a sync issued after its own
    rename or unlink.
    """
    _DIR_SYNCER.sync(directory)


def _fsync_dir_now(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


class _DirSyncer:
    """Group commit for directory fsyncs: waiters share the next fsync to start.

    Every publish and journal rewrite ends with a directory fsync; with 4 workers writing
    small files they pile up on the same directory. A caller needs an fsync that *started*
    after its call; one that was already running when it arrived does not count. So a
    caller waits for the running one (if any), then either starts the next one itself or
    waits for whoever did. A failed fsync is raised in the caller that ran it; the others
    try again themselves.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._started: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._running: set[str] = set()

    def sync(self, directory: Path) -> None:
        key = os.fspath(directory)
        with self._cond:
            need = self._started.get(key, 0) + 1  # the next fsync to start covers us
            while self._done.get(key, 0) < need:
                if key in self._running:
                    self._cond.wait()
                    continue
                ticket = self._started.get(key, 0) + 1
                self._started[key] = ticket
                self._running.add(key)
                ok = False
                self._cond.release()
                try:
                    _fsync_dir_now(directory)
                    ok = True
                finally:
                    self._cond.acquire()
                    self._running.discard(key)
                    if ok:
                        self._done[key] = max(self._done.get(key, 0), ticket)
                    self._cond.notify_all()


_DIR_SYNCER = _DirSyncer()


def tmp_name(target: Path) -> Path:
    """Return a fresh temporary name beside ``target`` (found by ``find_stale_parts``)."""
    return target.with_name(f"{target.name}.{secrets.token_hex(4)}{TMP_SUFFIX}")


def atomic_write_bytes(target: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``target`` durably: tmp file, fsync, ``os.replace``, fsync dir.

    aria2 renames without fsync and lost its control file after a crash (aria2#1116), so
    every step here is synced. On any error (an interrupt too) the tmp file is removed and
    the old target kept.

    Args:
        target: the file to create or replace.
        data: its new content.
        mode: its permission bits. The tmp file is created with them (``O_EXCL``: never a
            planted file), so it is never wider, not even for an instant. As for any new
            file, the umask narrows what group and others get; the owner always gets the
            owner bits of ``mode`` (fchmod), so ``mode=0o600`` is exactly 0600 whatever the
            umask, and the default gives 0644 under the usual umask 022, 0600 under 077.

    Raises:
        NoSpace: on ENOSPC/EDQUOT.
        OSError: on any other error.
    """
    tmp = tmp_name(target)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            _grant_owner_bits(fd, mode)
            pwrite_all(fd, data, 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and is_disk_full(exc):
            raise disk_full(exc, target) from exc
        raise


def _grant_owner_bits(fd: int, mode: int) -> None:
    """Give the owner the bits of ``mode`` that a umask took; group and others keep theirs."""
    if not hasattr(os, "fchmod"):  # Windows before Python 3.13: no POSIX modes to fix
        return
    created = stat.S_IMODE(os.fstat(fd).st_mode)
    wanted = (created & 0o077) | (mode & 0o700)
    if wanted != created:
        os.fchmod(fd, wanted)


def pwrite_all(fd: int, data: bytes | bytearray | memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset`` (os.pwrite may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def preallocate(fd: int, size: int) -> None:
    """Reserve ``size`` bytes for the file (posix_fallocate) where the platform can.

    This makes a full disk fail up front, and helped single-stream throughput in
    docs/design.md §Transfer engine: throughput and chunk size (1.09x curl vs 0.60x for plain
    appends). A file system that cannot preallocate is not an error. ENOSPC/EDQUOT propagate as
    OSError.
    """
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is None or size <= 0:
        return
    try:
        fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in _NO_FALLOCATE:
            raise
