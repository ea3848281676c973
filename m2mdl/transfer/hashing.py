"""SHA-512 computed in file order while the bytes are written, catching up from disk.

Strategy (see also ``PartFile``): bytes written at the hasher's position are hashed at once;
anything else (a resumed prefix, the later pieces of a file fetched over several
connections) is read back from disk when the hasher gets there. So a single stream is hashed
in one pass while it streams, a resumed file hashes its prefix from disk once at the start,
and a file fetched in pieces is hashed as its contiguous prefix grows: live where a write
lands at the hash's position, otherwise from the page cache by the file's coordinator
(``PartFile.hash_step``, pieces are handed out in file order so the prefix keeps growing).
SHA-512 is the hash USGS publishes (STAC ``file:checksum``), so it is the only one: each
byte is hashed once. It costs more than sha256 on CPUs with SHA-NI: measured here with
hashlib on 256 MiB in memory, SHA-512 0.48 GiB/s (about 2 s CPU/GiB), sha256 1.4 GiB/s;
benchmarks/ measures it end to end.

A ``TarScanner`` attached with ``scan_tar`` sees the same in-order blocks, so a bundle's
members are hashed in this pass too (``tarscan.py``). The scanner's tree digest then stands
for the tar, and no whole-file SHA-512 is computed (``scan_tar(whole_file=False)``): each
byte of a bundle is hashed once. ``whole_file=True`` keeps it, for a tar whose own SHA-512
is published (two hashes of the member bytes then).

In-order blocks of at least ``ASYNC_MIN`` are hashed in a helper thread (``submit``):
hashlib releases the GIL for buffers over 2 KiB, so on a 2-core machine the hash overlaps
the socket reads and the writes of the streaming thread. The blocks are the immutable
``bytes`` the stream read, so the queue simply holds them (no buffer is lent or copied); at
most ``QUEUE_BYTES`` wait, after which the stream waits for the hasher (back-pressure).
Measured (1 GiB from nginx on loopback, readinto 4 MiB +
pwrite to a file in the page cache): 1.02-1.17 GB/s with the hash inline, 1.51-1.73 GB/s
with the hash in a helper thread, the same CPU (0.55 s/GB user for the sha256 used then).

``QUEUE_BYTES`` is small because whenever the link is faster than the hash (loopback, a
fast LAN) the queue stays full, and what it holds is resident memory. Measured here, a
1 GiB bundle from nginx on loopback, rounds interleaved on a loaded 2-core VM: peak RSS of
the engine alone +11.9 MiB over its imports with 8 MiB (median of 6), +6.8 with 4 MiB,
+4.8 with 2 MiB; wall median 4.46 / 4.54 / 4.22 s, CPU 3.65 / 3.63 / 3.52 s: a smaller
queue did not slow the stream (2 MiB is still ~3 ms of SHA-512 to cover a stall of the
stream). Peak RSS of the CLI (GNU time), 100 MiB and 1 GiB bundles, max of 3: 65.1 and
61.1 MiB with 8 MiB, 52.5 and 53.8 with 2 MiB.
"""

from __future__ import annotations

import collections
import hashlib
import os
import threading

from .errors import IntegrityError
from .helper import HelperThreadOwner
from .tarscan import TarScanner

#: Blocks smaller than this are hashed inline: a thread handoff costs more than the hash.
#: One TLS record (16 KiB) takes about 20 us to hash with SHA-512, a handoff a few us.
ASYNC_MIN = 16 * 1024
#: At most this many bytes wait for the helper thread; a stream waits beyond it (see the
#: module docstring: it bounds the resident memory of a stream faster than the hash).
QUEUE_BYTES = 2 * 2**20


class InOrderHasher(HelperThreadOwner):
    """A SHA-512 that accepts bytes only at its current position. Thread-safe."""

    def __init__(self) -> None:
        self._digest: hashlib._Hash | None = hashlib.sha512()  # None: tree digest only
        self.scanner: TarScanner | None = None
        self.position = 0  # bytes hashed so far
        self._accepted = 0  # bytes hashed or queued for the helper thread
        self._lock = threading.Lock()  # guards the digest and the counters
        self._cond = threading.Condition(self._lock)
        self._queue: collections.deque[bytes] = collections.deque()
        self._queued = 0  # bytes in ``_queue``
        self._thread: threading.Thread | None = None
        self._closed = False

    def feed(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Hash ``data`` if it starts exactly at the current position; else ignore it."""
        if offset != self._accepted:  # cheap unlocked pre-check; re-checked under the lock
            return
        with self._cond:
            self._wait_idle()
            if offset == self.position:
                self._update(data)
                self.position += len(data)
                self._accepted = self.position

    def scan_tar(self, *, whole_file: bool = False) -> None:
        """Hash each tar member and the tree digest (``tarscan.py``); without ``whole_file``
        the whole-file SHA-512 is not computed (each byte is hashed once) and ``hexdigest``
        is the tree digest.

        Only from position 0 on: called later, it changes nothing.
        """
        with self._cond:
            self._wait_idle()
            if self.position == 0:
                self.scanner = TarScanner()
                self._digest = hashlib.sha512() if whole_file else None

    @property
    def whole_file(self) -> bool:
        """True when the SHA-512 of the whole file is computed."""
        return self._digest is not None

    def _update(self, data: bytes | bytearray | memoryview) -> None:
        if self._digest is not None:
            self._digest.update(data)
        if self.scanner is not None:
            self.scanner.feed(data)

    def submit(self, offset: int, data: bytes) -> None:
        """Hash ``data`` if it starts at the current position: in the helper thread when it
        is large (waiting while ``QUEUE_BYTES`` are queued), else inline; else ignore it."""
        if offset != self._accepted:
            return
        if len(data) < ASYNC_MIN:
            self.feed(offset, data)
            return
        with self._cond:
            while self._queued >= QUEUE_BYTES and not self._closed:
                self._cond.wait()
            if offset != self._accepted:  # a catch-up from disk got past it meanwhile
                return
            if self._closed:  # no helper any more: hash inline
                self._wait_idle()
                self._update(data)
                self.position += len(data)
                self._accepted = self.position
                return
            self._queue.append(data)
            self._queued += len(data)
            self._accepted += len(data)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="m2mdl-hash", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                data = self._queue[0]
            try:
                self._update(data)  # the GIL is released; the lock is not held
            finally:
                with self._cond:
                    self._queue.popleft()
                    self._queued -= len(data)
                    self.position += len(data)
                    self._cond.notify_all()

    def _wait_idle(self) -> None:
        """Wait (holding the condition) until every queued block is hashed."""
        while self._queue:
            self._cond.wait()

    def catch_up(self, fd: int, upto: int, chunk_size: int = 2**20) -> None:
        """Hash the file's bytes from the current position up to ``upto``, read from ``fd``.

        Raises:
            IntegrityError: the file is shorter than ``upto``.
        """
        with self._cond:
            self._wait_idle()
            while self.position < upto:
                block = os.pread(fd, min(chunk_size, upto - self.position), self.position)
                if not block:
                    raise IntegrityError(f"the partial file ends before byte {upto}")
                self._update(block)
                self.position += len(block)
            self._accepted = self.position

    def hexdigest(self) -> str:
        """The file's digest of everything hashed so far: its SHA-512, or the tree digest
        when a tar is scanned without ``whole_file`` (see ``sha512_hexdigest``)."""
        with self._cond:
            self._wait_idle()
            if self._digest is not None:
                return self._digest.hexdigest()
            assert self.scanner is not None  # ``_digest`` is None only while scanning
            return self.scanner.tree_hexdigest()

    def sha512_hexdigest(self) -> str | None:
        """The SHA-512 of everything hashed so far, or None when it is not computed."""
        with self._cond:
            self._wait_idle()
            return self._digest.hexdigest() if self._digest is not None else None

    def tree_hexdigest(self) -> str | None:
        """The tree digest of everything hashed so far, or None when no tar is scanned."""
        with self._cond:
            self._wait_idle()
            return self.scanner.tree_hexdigest() if self.scanner is not None else None

    def reset(self) -> None:
        """Start over at position 0."""
        with self._cond:
            self._wait_idle()
            if self._digest is not None:
                self._digest = hashlib.sha512()
            if self.scanner is not None:
                self.scanner = TarScanner()
            self.position = self._accepted = 0
