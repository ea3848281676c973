"""Durable file writes for every module: atomic replace, directory fsync, temporary names.

The one owner of "temporary file, fsync, rename, directory fsync": whole contents
(:func:`atomic_write_bytes`), streamed ones checked before they take the name
(:func:`atomic_writer`, for bundle members) and files the user names (:func:`write_output`,
``-o FILE``). A leaf (standard library and :mod:`m2mdl.errors` only), so the manifest,
credentials, catalog, extraction and the CLI write the way the transfer engine does without
importing it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from m2mdl.errors import NO_SPACE_ERRNOS, DiskFull

#: Suffix of the temporary files :func:`atomic_write_bytes` renames into place (a crash
#: leaves them; the cleanup finds them by it).
TMP_SUFFIX = ".m2mdl-tmp"


def is_disk_full(exc: BaseException) -> bool:
    """Return True for ENOSPC and EDQUOT (no space, quota exceeded)."""
    return isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS


def disk_full(exc: OSError, path: Path) -> DiskFull:
    """Build the ``DiskFull`` error for ``exc`` while writing ``path``."""
    return DiskFull(f"no space left while writing {path.name} ({os.strerror(exc.errno or 0)})")


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
    """A fresh temporary name beside ``target`` (the cleanup finds it by :data:`TMP_SUFFIX`)."""
    return target.with_name(f"{target.name}.{secrets.token_hex(4)}{TMP_SUFFIX}")


def atomic_write_bytes(target: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``target`` durably: tmp file, fsync, ``os.replace``, fsync dir.

    :func:`atomic_writer` with one write; see there for the steps, ``mode`` and the errors.
    On any error (an interrupt too) the tmp file is removed and the old target kept.

    Raises:
        DiskFull: on ENOSPC/EDQUOT.
        OSError: on any other error, naming ``target`` (not the tmp file).
    """
    with atomic_writer(target, mode=mode) as out:
        out.write(data)


class AtomicFile:
    """The temporary file :func:`atomic_writer` yields: written in order, renamed on success.

    Attributes:
        fd: the open file descriptor (for ``os.utime``/``os.fstat`` on the content).
        tmp: the temporary file's path.
        target: the path it becomes on success.
    """

    def __init__(self, fd: int, tmp: Path, target: Path) -> None:
        self.fd = fd
        self.tmp = tmp
        self.target = target
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append all of ``data``; return its length.

        Raises:
            DiskFull: on ENOSPC/EDQUOT.
            OSError: on any other error, naming the target.
        """
        try:
            pwrite_all(self.fd, data, self.size)
        except OSError as exc:
            raise _target_error(exc, self.target) from exc
        self.size += len(data)
        return len(data)


@contextlib.contextmanager
def atomic_writer(target: Path, *, mode: int = 0o644) -> Iterator[AtomicFile]:
    """Stream a new content for ``target``: it appears whole on success, never half written.

    The block writes into a fresh temporary file beside ``target`` (:func:`tmp_name`, created
    ``O_EXCL``). When the block ends normally the file is fsynced, renamed over ``target``
    and the directory is fsynced, so the rename survives a crash: aria2 renames without
    fsync and lost its control file after a crash (aria2#1116). When the block raises (an
    interrupt too), or a step fails, the temporary file is removed and ``target`` keeps its
    old content. A caller verifies what it wrote inside the block: raising there is how it
    refuses the content.

    Args:
        target: the file to create or replace.
        mode: its permission bits. The tmp file is created with them (``O_EXCL``: never a
            planted file), so it is never wider, not even for an instant. As for any new
            file, the umask narrows what group and others get; the owner always gets the
            owner bits of ``mode`` (fchmod), so ``mode=0o600`` is exactly 0600 whatever the
            umask, and the default gives 0644 under the usual umask 022, 0600 under 077.

    Raises:
        DiskFull: on ENOSPC/EDQUOT.
        OSError: when a step of its own fails, naming ``target``; what the block raises
            passes through unchanged.
    """
    tmp = tmp_name(target)
    with _naming(target):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            with _naming(target):
                _grant_owner_bits(fd, mode)
            yield AtomicFile(fd, tmp, target)
            with _naming(target):
                os.fsync(fd)
        finally:
            os.close(fd)
        with _naming(target):
            os.replace(tmp, target)
            fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def _naming(target: Path) -> Iterator[None]:
    """Raise an OSError of the block as :func:`_target_error` words it for ``target``."""
    try:
        yield
    except OSError as exc:
        raise _target_error(exc, target) from exc


def _target_error(exc: OSError, target: Path) -> Exception:
    """``exc`` as the caller should see it: DiskFull, or the same OSError naming ``target``.

    The temporary name is m2mdl's own detail; the user knows the target (and the error line
    built from ``filename`` names it). ``OSError(errno, ...)`` picks the same subclass
    (``IsADirectoryError`` ...) as the original.
    """
    if is_disk_full(exc):
        return disk_full(exc, target)
    return OSError(exc.errno, exc.strerror or str(exc), os.fspath(target))


def write_output(target: Path, data: bytes) -> None:
    """Write a file the user named (``-o FILE``): whole or not at all, where that can be.

    A regular file (or a new name) is written with :func:`atomic_writer`, so an interrupted
    run leaves the old file or the complete new one. It keeps an existing file's permission
    bits, and a new one gets 0666 narrowed by the umask, as a plain ``open`` gives. A
    symbolic link is followed, so the file it points to is replaced and the link stays. Any
    other kind of file (``/dev/stdout``, ``/dev/full``, a fifo, a directory) is opened and
    written in place: renaming over a device or a fifo would replace the node itself, and
    opening a directory gives the usual "is a directory" error.

    Raises:
        DiskFull: on ENOSPC/EDQUOT.
        OSError: on any other error, naming the file.
    """
    path = Path(os.path.realpath(target)) if target.is_symlink() else target
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise _target_error(exc, target) from exc
    if info is None:
        atomic_write_bytes(path, data, mode=0o666)
    elif stat.S_ISREG(info.st_mode):
        with atomic_writer(path, mode=stat.S_IMODE(info.st_mode)) as out:
            if hasattr(os, "fchmod"):  # the exact old bits, whatever the umask
                with _naming(target):
                    os.fchmod(out.fd, stat.S_IMODE(info.st_mode))
            out.write(data)
    else:
        with _naming(target), path.open("wb") as stream:
            stream.write(data)


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
