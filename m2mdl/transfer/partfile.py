"""``NAME.part`` plus its journal: positional writes, durable progress, atomic publish.

Invariants (the project's promise: never a half-file that looks finished):

* Data goes only to ``NAME.part``; ``NAME`` appears only through ``os.replace`` after every
  check passed and the data was fsynced.
* The journal names only bytes that were fsynced before it was written, so it never claims
  more than the disk holds. It is rewritten on stop and, while data streams, by a helper
  thread (``_Flusher``) so the streams never wait for an fsync: a flush is requested after
  every ``journal_interval / 2`` new bytes and a stream waits only if the previous one is
  still running when the next is due. So at most about one ``journal_interval`` of written
  bytes is ever missing from the journal on disk, as with a flush every interval inline.
  A flush of 8 MiB took 7-10 ms here (data fsync 4-5 ms, journal tmp fsync, rename,
  directory fsync; strace), i.e. as long as the stream needs to receive those 8 MiB.
* After each flush the hashed, durable prefix is dropped from the page cache
  (``_drop_cached``): recycling warm pages instead of faulting in fresh ones is what made
  one stream cheaper than curl in system time here.
* No journal is written for a file that finishes (or fails) before its first flush: a
  ``.part`` without journal is truncated by the next run, which re-sends less than one
  interval. Small files thus cost one data fsync, one rename and one (shared) directory
  fsync each.
* After a disk-full error nothing more is written: the journal stays at its last durable,
  consistent state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from m2mdl.util.net import strip_query

from .checks import check_head, check_size, read_head
from .errors import ChecksumMismatch, IntegrityError, LocalIOError, NoSpace, digest_difference
from .fsutil import disk_full, fsync_dir, is_disk_full, no_space, preallocate, pwrite_all
from .hashing import InOrderHasher
from .helper import HelperThreadOwner
from .journal import Journal, load_journal
from .model import MemberCheck, MemberVerdict
from .naming import journal_path, part_path
from .ranges import Range, add_range, covered, missing, prefix_end

_FADVISE = getattr(os, "posix_fadvise", None)
_DONTNEED = getattr(os, "POSIX_FADV_DONTNEED", 4)


class PartFile:
    """The partial file of one download.

    The file's connections call ``write`` at once (each at its own offsets), beside the
    hasher's and the flusher's helper threads; everything else is called by the file's
    coordinator thread. State the helper threads or ``write`` also touch (the ranges, the
    journal) is changed under one lock.
    """

    def __init__(self, dest: Path, url: str, journal_interval: int) -> None:
        self.dest = dest
        self.path = part_path(dest)
        self.journal_file = journal_path(dest)
        self.journal = Journal(url=strip_query(url))
        self.ranges: list[Range] = []  # written (maybe only in the page cache)
        self.hasher = InOrderHasher()
        self.stopped_by_disk_full = False
        self._interval = journal_interval
        self._flush_every = max(1, journal_interval // 2)  # see the module docstring
        self._unflushed = 0  # bytes written since the last flush was requested
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._flusher = _Flusher(self)
        self._journal_on_disk = False  # a journal file may exist (skip needless unlinks)
        self._dropped = 0  # bytes below this offset were dropped from the page cache
        self._fd = -1

    # --- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        dest: Path,
        url: str,
        expected_size: int | None,
        interval: int,
        *,
        scan_tar: bool = False,
    ) -> PartFile:
        """Open (or create) ``dest.part``, resuming what its journal proves is on disk.

        The prefix the journal vouches for is read back and hashed now, so the final hash
        covers the bytes on disk, not the ones received in an earlier run: a prefix damaged
        between runs makes the checksum differ. ``scan_tar``: hash each tar member and the
        tar's tree digest instead of its whole-file SHA-512 (``InOrderHasher.scan_tar``).

        Raises:
            NoSpace, LocalIOError: the file cannot be opened or prepared.
        """
        part = cls(dest, url, interval)
        if scan_tar:
            part.hasher.scan_tar()
        with part._io_errors():
            dest.parent.mkdir(parents=True, exist_ok=True)
            part._fd = os.open(part.path, os.O_RDWR | os.O_CREAT, 0o644)
            journal = load_journal(part.journal_file)
            if journal is not None and part._usable(journal, expected_size):
                part._journal_on_disk = True
                part.journal = journal
                part.journal.url = strip_query(url)
                part.ranges = list(journal.ranges)
                part.hasher.catch_up(part._fd, prefix_end(part.ranges))
            else:
                # No trustworthy journal: the .part's content proves nothing; start over.
                os.ftruncate(part._fd, 0)
                with contextlib.suppress(FileNotFoundError):
                    part.journal_file.unlink()  # garbage or another file's journal
        return part

    def _usable(self, journal: Journal, expected_size: int | None) -> bool:
        """A journal is trusted only if it fits the caller's size and the file on disk."""
        if None not in (journal.size, expected_size) and journal.size != expected_size:
            return False
        end = journal.ranges[-1][1] if journal.ranges else 0
        return os.fstat(self._fd).st_size >= end

    # --- state ---------------------------------------------------------------------------

    @property
    def total(self) -> int | None:
        """The total size, once known."""
        return self.journal.size

    def done(self) -> int:
        """Bytes written so far (durable or not)."""
        with self._lock:
            return covered(self.ranges)

    def durable(self) -> int:
        """Bytes the journal on disk vouches for."""
        return covered(self.journal.ranges)

    def gaps(self) -> list[tuple[int, int | None]]:
        """The byte ranges still missing (the last is open-ended while the size is unknown)."""
        with self._lock:
            return missing(self.ranges, self.total)

    def complete(self) -> bool:
        """True when the size is known and every byte is written."""
        with self._lock:
            return self.total is not None and not missing(self.ranges, self.total)

    def if_range(self) -> str | None:
        """The validator for If-Range: a strong ETag, else Last-Modified (RFC 9110 §13.1.5)."""
        etag = self.journal.etag
        if etag and not etag.startswith("W/"):
            return etag
        return self.journal.last_modified

    def adopt(self, total: int | None, etag: str | None, last_modified: str | None) -> None:
        """Record the size and validators of the first accepted response; preallocate
        (the coordinator's thread, ``response.accept_response``)."""
        with self._lock:
            fresh = not self.ranges and self.journal.etag is None
            if self.journal.size is None and total is not None:
                self.journal.size = total
                if fresh:
                    with self._io_errors():
                        preallocate(self._fd, total)
            if fresh:
                self.journal.etag = etag
                self.journal.last_modified = last_modified

    def set_total(self, total: int) -> None:
        """Fix the size once a close-delimited body ended, or a 416 confirmed it (the
        coordinator's thread, ``response.py``)."""
        with self._lock:
            self.journal.size = total

    # --- writing -------------------------------------------------------------------------

    def write(self, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``, hash it when it is next in order (``InOrderHasher``),
        and have the journal rewritten as it grows.

        Raises:
            NoSpace: ENOSPC/EDQUOT. Nothing more is written to this file afterwards.
            LocalIOError: any other write error (also one from a background flush).
        """
        self._flusher.check()
        with self._io_errors():
            pwrite_all(self._fd, data, offset)
        self.hasher.submit(offset, data)
        with self._lock:
            self.ranges = add_range(self.ranges, offset, offset + len(data))
            self._unflushed += len(data)
            due = self._unflushed >= self._flush_every
            if due:
                self._unflushed = 0
        if due:
            self._flusher.request()

    def hash_step(self, most: int, behind: int) -> bool:
        """Hash at most ``most`` more bytes of the written prefix, read back from disk
        (usually the page cache), once the prefix is more than ``behind`` bytes ahead of
        the hash; return True while more of it is left to hash.

        For a file fetched in pieces: its coordinator calls it between reports, so the hash
        follows the contiguous prefix during the transfer in short steps. ``behind`` (at
        least the hasher's queue plus one read) leaves alone a gap that may be blocks still
        queued for the hasher's own thread: waiting for them would stall the caller.

        Raises:
            LocalIOError: reading the file failed.
        """
        with self._lock:
            upto = prefix_end(self.ranges)
            fd = self._fd
        start = self.hasher.position
        if upto - start <= behind or fd < 0:
            return False
        stop = min(upto, start + most)
        with self._io_errors():
            self.hasher.catch_up(fd, stop)
        return upto - stop > behind

    def flush(self) -> None:
        """fsync the data, then record what it covers in the journal (atomically, durably).

        Waits for a background flush that is running. Does nothing after a disk-full
        error, so the journal stays consistent.
        """
        self._flusher.wait_idle()
        self._flush_now()

    def _flush_now(self) -> None:
        with self._flush_lock:
            if self.stopped_by_disk_full or self._fd < 0:
                return
            with self._lock:
                snapshot = list(self.ranges)
            with self._io_errors():
                os.fsync(self._fd)  # covers every write that finished before the snapshot
                self._drop_cached(prefix_end(snapshot))
                saved = dataclasses.replace(self.journal, ranges=snapshot)
                self._journal_on_disk = True
                saved.save(self.journal_file)
                self.journal.ranges = snapshot
                self.journal.updated_at = saved.updated_at

    def _drop_cached(self, durable_end: int) -> None:
        """Let the kernel reuse the page cache of bytes that are on disk and hashed.

        Nothing reads them again (a file fetched in pieces is hashed from the cache as its
        contiguous prefix grows, ``hash_step``, so only the hashed prefix goes). Recycling
        these warm pages for the next writes keeps the kernel from faulting in fresh ones,
        which is expensive on the development VM: 1 GiB written in 4 MiB pwrites to a new
        file cost 1.2-3.6 s of sys time; with an fdatasync + POSIX_FADV_DONTNEED every
        32 MiB 0.3-0.5 s (4 rounds each). The bytes stay on disk; only the cached copy goes.
        """
        upto = min(durable_end, self.hasher.position)
        if upto <= self._dropped or _FADVISE is None:
            return
        with contextlib.suppress(OSError):
            _FADVISE(self._fd, self._dropped, upto - self._dropped, _DONTNEED)
        self._dropped = upto

    def reset(self) -> None:
        """Throw the partial data away and start again from byte 0 with no validators."""
        self._flusher.wait_idle()
        with self._flush_lock, self._io_errors():
            # Journal first: a crash between the two steps leaves a .part without journal,
            # which the next run truncates, never a journal that lies about a truncated file.
            if self._journal_on_disk:
                with contextlib.suppress(FileNotFoundError):
                    self.journal_file.unlink()
                    fsync_dir(self.dest.parent)
                self._journal_on_disk = False
            os.ftruncate(self._fd, 0)
            with self._lock:
                self.ranges = []
                self._unflushed = 0
                self.journal = Journal(url=self.journal.url)
            self.hasher.reset()
            self._dropped = 0

    # --- finishing -----------------------------------------------------------------------

    def publish(
        self,
        *,
        expected_size: int | None,
        kind: str | None,
        expected_sha512: str | None,
        check_members: MemberCheck | None = None,
    ) -> tuple[int, str, MemberVerdict | None]:
        """Check the complete file, then move it to its final name.

        Order: size, fsync, magic, digest (the whole file's SHA-512, then the tar members),
        ``os.replace``, directory fsync, journal removal.

        The digest returned is the SHA-512 of the file, except for a tar opened with
        ``scan_tar`` and no ``expected_sha512``: then it is the tar's tree digest
        (``tarscan.py``), so each byte was hashed once. When a scanned tar has an
        ``expected_sha512`` after all, its SHA-512 is read back from disk and returned.
        Either digest identifies the bytes, as the stale-checksum rule needs.

        Returns:
            (size, digest (hex), the members' verdict or None).

        Raises:
            ChecksumMismatch: the file or a member differs from its expected digest (the
                ``.part`` stays, for the caller to refetch or keep aside).
            IntegrityError: another check failed (the caller discards the partial file).
            NoSpace, LocalIOError: the file system failed.
        """
        total = self.total
        if total is None or not self.complete():
            raise IntegrityError("the download is incomplete")
        self._flusher.close()  # the streams have ended: no journal rewrite after this
        self._flusher.check()
        with self._io_errors():
            if os.fstat(self._fd).st_size != total:
                os.ftruncate(self._fd, total)
            check_size(total, server_total=total, expected=expected_size)
            os.fsync(self._fd)
            check_head(read_head(self._fd), kind)
            self.hasher.catch_up(self._fd, total)
            digest = self.hasher.hexdigest()
            if expected_sha512 is not None:
                if not self.hasher.whole_file:  # a scanned tar: read its bytes back once
                    whole = InOrderHasher()
                    whole.catch_up(self._fd, total)
                    digest = whole.hexdigest()
                if digest != expected_sha512.lower():
                    raise ChecksumMismatch(digest_difference(digest, expected_sha512), digest)
            verdict = self._check_members(check_members, digest)
            self.close()
            os.replace(self.path, self.dest)
            fsync_dir(self.dest.parent)
            if self._journal_on_disk:
                # Without a dir fsync: a journal that outlives a crash names a .part that
                # no longer exists, so the next run ignores it.
                with contextlib.suppress(FileNotFoundError):
                    self.journal_file.unlink()
        return total, digest, verdict

    def _check_members(self, check: MemberCheck | None, digest: str) -> MemberVerdict | None:
        scanner = self.hasher.scanner
        if check is None or scanner is None:
            return None
        contents = scanner.finish()
        if not contents.complete:
            raise IntegrityError(contents.problem or "the tar ends inside a member")
        verdict = check(contents)
        if verdict.mismatched:
            names = ", ".join(verdict.mismatched[:3])
            more = len(verdict.mismatched) - 3
            raise ChecksumMismatch(
                f"SHA-512 of {names}{f' and {more} more' if more > 0 else ''} differs"
                " from the expected one",
                digest,
            )
        return verdict

    def member_digests(self) -> dict[str, str] | None:
        """Each tar member's SHA-512 (hex), when the file was scanned."""
        scanner = self.hasher.scanner
        return dict(scanner.contents.digests) if scanner is not None else None

    def keep_aside(self, suffix: str) -> Path:
        """Move the complete ``.part`` to ``NAME<suffix>`` (never the final name); drop the
        journal. Returns the new path."""
        self.close()
        aside = self.dest.with_name(self.dest.name + suffix)
        with self._io_errors():
            os.replace(self.path, aside)
            fsync_dir(self.dest.parent)
        with contextlib.suppress(FileNotFoundError):
            self.journal_file.unlink()
        return aside

    def discard(self) -> None:
        """Delete the partial file and its journal (after an integrity failure)."""
        self.close()
        for path in (self.path, self.journal_file):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def close(self) -> None:
        """Stop the helper threads and close the file descriptor (idempotent)."""
        self._flusher.close()
        self.hasher.close()
        with self._lock:
            fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    @contextlib.contextmanager
    def _io_errors(self) -> Iterator[None]:
        """Turn an OSError into ``NoSpace`` (and stop writing) or ``LocalIOError``."""
        try:
            yield
        except NoSpace:
            self.stopped_by_disk_full = True
            raise
        except OSError as exc:
            if is_disk_full(exc):
                self.stopped_by_disk_full = True
                raise no_space(disk_full(exc, self.path)) from exc
            raise LocalIOError(f"cannot write {self.path.name}: {exc.strerror or exc}") from exc


class _Flusher(HelperThreadOwner):
    """Runs ``PartFile._flush_now`` in a helper thread, at most one flush at a time.

    Started on the first request only, so small files never start it. ``request`` waits
    while a flush is still pending (back-pressure: the journal never lags by more than about
    one ``journal_interval``). A failure is kept and raised in the streaming thread by its
    next ``check`` (every write), ``request`` or ``PartFile.flush``.
    """

    def __init__(self, part: PartFile) -> None:
        self._part = part
        self._cond = threading.Condition()
        self._pending = False
        self._closed = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        """Raise the error of a background flush, if one failed."""
        error = self._error
        if error is not None:
            raise error

    def request(self) -> None:
        """Ask for a flush; wait first if the previous one has not finished."""
        with self._cond:
            while self._pending and self._error is None:
                self._cond.wait()
            self.check()
            if not self._closed:
                self._pending = True
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="m2mdl-flush", daemon=True
                    )
                    self._thread.start()
                self._cond.notify_all()
                return
        self._part._flush_now()  # closed (not expected while streaming): flush inline

    def wait_idle(self) -> None:
        """Wait until no flush is pending or running; raise a background failure."""
        with self._cond:
            while self._pending and self._error is None:
                self._cond.wait()
        self.check()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    return
            error: BaseException | None = None
            try:
                self._part._flush_now()
            except BaseException as exc:  # raised again in the streaming thread
                error = exc
            with self._cond:
                self._pending = False
                if error is not None and self._error is None:
                    self._error = error
                self._cond.notify_all()
