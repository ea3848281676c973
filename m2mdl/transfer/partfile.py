"""``NAME.part`` plus its journal: positional writes, durable progress, atomic publish.

Invariants (the project's promise: never a half-file that looks finished):

* Data goes only to ``NAME.part``; ``NAME`` appears only through ``os.replace`` after every
  check passed and the data was fsynced.
* The journal names only bytes that were fsynced before it was written, so it never claims
  more than the disk holds. It is rewritten after ``journal_interval`` new bytes and on stop.
* After a disk-full error nothing more is written: the journal stays at its last durable,
  consistent state.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from .checks import check_head, check_size, read_head
from .errors import IntegrityError, LocalIOError, NoSpace
from .fsutil import disk_full, fsync_dir, is_disk_full, preallocate, pwrite_all
from .hashing import InOrderHasher
from .http_parse import strip_query
from .journal import Journal, load_journal
from .naming import journal_path, part_path
from .ranges import Range, add_range, covered, missing, prefix_end


class PartFile:
    """The partial file of one download. Methods are safe to call from several segments."""

    def __init__(self, dest: Path, url: str, journal_interval: int) -> None:
        self.dest = dest
        self.path = part_path(dest)
        self.journal_file = journal_path(dest)
        self.journal = Journal(url=strip_query(url))
        self.ranges: list[Range] = []  # written (maybe only in the page cache)
        self.hasher = InOrderHasher()
        self.stopped_by_disk_full = False
        self._interval = journal_interval
        self._unflushed = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._fd = -1

    # --- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, dest: Path, url: str, expected_size: int | None, interval: int) -> PartFile:
        """Open (or create) ``dest.part``, resuming what its journal proves is on disk.

        Raises:
            NoSpace, LocalIOError: the file cannot be opened or prepared.
        """
        part = cls(dest, url, interval)
        with part._io_errors():
            dest.parent.mkdir(parents=True, exist_ok=True)
            part._fd = os.open(part.path, os.O_RDWR | os.O_CREAT, 0o644)
            journal = load_journal(part.journal_file)
            if journal is not None and part._usable(journal, expected_size):
                part.journal = journal
                part.journal.url = strip_query(url)
                part.ranges = list(journal.ranges)
                part.hasher.catch_up(part._fd, prefix_end(part.ranges))
            else:
                # No trustworthy journal: the .part's content proves nothing; start over.
                os.ftruncate(part._fd, 0)
                with contextlib.suppress(FileNotFoundError):
                    part.journal_file.unlink()
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
        """Record the size and validators of the first accepted response; preallocate."""
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
        """Fix the size once a close-delimited body ended."""
        with self._lock:
            self.journal.size = total

    # --- writing -------------------------------------------------------------------------

    def write(self, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``; rewrite the journal every ``journal_interval`` bytes.

        Raises:
            NoSpace: ENOSPC/EDQUOT. Nothing more is written to this file afterwards.
            LocalIOError: any other write error.
        """
        with self._io_errors():
            pwrite_all(self._fd, data, offset)
        self.hasher.feed(offset, data)
        with self._lock:
            self.ranges = add_range(self.ranges, offset, offset + len(data))
            self._unflushed += len(data)
            due = self._unflushed >= self._interval
        if due:
            self.flush()

    def flush(self) -> None:
        """fsync the data, then record what it covers in the journal (atomically, durably).

        Does nothing after a disk-full error, so the journal stays consistent.
        """
        with self._flush_lock:
            if self.stopped_by_disk_full or self._fd < 0:
                return
            with self._lock:
                snapshot = list(self.ranges)
                self._unflushed = 0
            with self._io_errors():
                os.fsync(self._fd)  # covers every write that finished before the snapshot
                self.journal.ranges = snapshot
                self.journal.save(self.journal_file)

    def reset(self) -> None:
        """Throw the partial data away and start again from byte 0 with no validators."""
        with self._flush_lock, self._io_errors():
            # Journal first: a crash between the two steps leaves a .part without journal,
            # which the next run truncates, never a journal that lies about a truncated file.
            with contextlib.suppress(FileNotFoundError):
                self.journal_file.unlink()
                fsync_dir(self.dest.parent)
            os.ftruncate(self._fd, 0)
            with self._lock:
                self.ranges = []
                self._unflushed = 0
                self.journal = Journal(url=self.journal.url)
                self.hasher.reset()

    # --- finishing -----------------------------------------------------------------------

    def publish(
        self, *, expected_size: int | None, kind: str | None, expected_sha256: str | None
    ) -> tuple[int, str]:
        """Check the complete file, then move it to its final name.

        Order: size, fsync, magic, sha256, ``os.replace``, directory fsync, journal removal.

        Returns:
            (size, sha256 hex digest).

        Raises:
            IntegrityError: a check failed (the caller discards the partial file).
            NoSpace, LocalIOError: the file system failed.
        """
        total = self.total
        if total is None or not self.complete():
            raise IntegrityError("the download is incomplete")
        with self._io_errors():
            if os.fstat(self._fd).st_size != total:
                os.ftruncate(self._fd, total)
            check_size(total, server_total=total, expected=expected_size)
            os.fsync(self._fd)
            check_head(read_head(self._fd), kind)
            self.hasher.catch_up(self._fd, total)
            digest = self.hasher.hexdigest()
            if expected_sha256 is not None and digest != expected_sha256.lower():
                raise IntegrityError(f"sha256 {digest} differs from the expected one")
            self.close()
            os.replace(self.path, self.dest)
            fsync_dir(self.dest.parent)
            with contextlib.suppress(FileNotFoundError):
                self.journal_file.unlink()
        return total, digest

    def discard(self) -> None:
        """Delete the partial file and its journal (after an integrity failure)."""
        self.close()
        for path in (self.path, self.journal_file):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def close(self) -> None:
        """Close the file descriptor (idempotent)."""
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
                raise disk_full(exc, self.path) from exc
            raise LocalIOError(f"cannot write {self.path.name}: {exc.strerror or exc}") from exc
