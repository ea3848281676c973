"""A thread that aborts streaming connections that stall or must stop.

A read timeout only limits the silence between two socket reads, so a server trickling a
byte now and then is never caught by it (docs/design.md §Transfer engine: timeouts and stalls). And
a thread blocked in ``recv`` does not see a stop event. The watchdog samples each stream's byte
count and shuts the socket down (urllib3's ``HTTPResponse.shutdown``) when fewer than
``stall_bytes`` arrived in the last ``stall_seconds``, or when its ``cancelled`` callback names a
reason (stop, deadline, another segment failed). The reading thread then sees EOF or an error and
asks ``Watch.reason`` why.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse

STALL = "stall"


class Watch:
    """One monitored stream. The reading thread calls ``add``; the watchdog sets ``reason``."""

    def __init__(self, raw: BaseHTTPResponse, cancelled: Callable[[], str | None]) -> None:
        self.raw = raw
        self.cancelled = cancelled
        self.bytes = 0
        self.reason: str | None = None
        self.ended = False  # the stream left its read loop: never touch its socket again
        self.lock = threading.Lock()
        self._samples: deque[tuple[float, int]] = deque([(time.monotonic(), 0)])

    def abort(self, reason: str) -> None:
        """Record ``reason`` and shut the stream's socket, unless the stream has ended.

        A stream that ended may already have handed its connection back to the pool for
        the next request (keep-alive), so it must not be shut after that.
        """
        with self.lock:
            if self.ended:
                return
            self.reason = reason
            abort_stream(self.raw)

    def add(self, nbytes: int) -> None:
        """Count bytes received (called by the one reading thread only)."""
        self.bytes += nbytes

    def check(self, now: float, stall_bytes: int, stall_seconds: float) -> str | None:
        """Return why the stream must be aborted now, or None."""
        reason = self.cancelled()
        if reason is not None:
            return reason
        samples = self._samples
        samples.append((now, self.bytes))
        # Keep the newest sample that is at least stall_seconds old as the window's start.
        while len(samples) > 1 and samples[1][0] <= now - stall_seconds:
            samples.popleft()
        start_time, start_bytes = samples[0]
        if now - start_time >= stall_seconds and self.bytes - start_bytes < stall_bytes:
            return STALL
        return None


def abort_stream(raw: BaseHTTPResponse) -> None:
    """Shut the socket under a urllib3 response down so a blocked read returns at once.

    ``HTTPResponse.shutdown`` is public API since urllib3 2.3.0 (its changelog, urllib3#2868;
    hence ``urllib3>=2.3`` in pyproject.toml): it shuts the socket for reading
    (``SHUT_RD``), which is safe from another thread while a read is blocked, unlike a
    ``close``. It raises ValueError when the response has
    no socket to shut (not read from a connection) and RuntimeError once the connection went
    back to the pool; either way no read of this stream is blocked on it, so both are
    ignored, like an OSError from a socket the server closed already.
    """
    with contextlib.suppress(ValueError, RuntimeError, OSError):
        raw.shutdown()


class Watchdog:
    """Runs one daemon thread per engine run; use ``watch`` around each body read loop."""

    def __init__(self, stall_bytes: int, stall_seconds: float, tick: float = 0.1) -> None:
        self._stall_bytes = stall_bytes
        self._stall_seconds = stall_seconds
        self._tick = min(tick, stall_seconds / 4)
        self._watches: set[Watch] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="m2mdl-watchdog", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def watch(self, raw: BaseHTTPResponse, cancelled: Callable[[], str | None]) -> Iterator[Watch]:
        """Monitor ``raw`` (a urllib3 response) while the block runs."""
        item = Watch(raw, cancelled)
        with self._lock:
            self._watches.add(item)
        try:
            yield item
        finally:
            with item.lock:
                item.ended = True
            with self._lock:
                self._watches.discard(item)

    def close(self) -> None:
        """Stop the thread."""
        self._closed.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._closed.wait(self._tick):
            now = time.monotonic()
            with self._lock:
                watches = [item for item in self._watches if item.reason is None]
            for item in watches:
                reason = item.check(now, self._stall_bytes, self._stall_seconds)
                if reason is not None:
                    item.abort(reason)
