"""Retry policy: the per-file attempt budget and the adaptive connection limit.

Backoff delays come from :func:`m2mdl.util.net.backoff_delay` (one copy for the API client
and the engine); the engine passes its own ``retry_after_cap``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class AttemptBudget:
    """Failed attempts allowed per file, refilled by forward progress.

    A file may fail ``max_attempts`` times in a row without progress. Progress means the file
    got at least one chunk further than it has ever been in this run (a high-water mark, so
    a file that keeps restarting from byte 0 because it keeps changing does not refill it).
    A drop every few MiB therefore never exhausts a large download, like hf's ``_nb_retries``
    reset; the global deadline still bounds the run. Used in the file's coordinator thread
    only (``FileTask.recover``, ``filerun.restart``), so it needs no lock.
    """

    def __init__(self, max_attempts: int, chunk_size: int) -> None:
        self._max = max_attempts
        self._chunk = chunk_size
        self._left = max_attempts
        self._high_water = 0
        self._failures = 0

    def spend(self, done_bytes: int) -> tuple[bool, int]:
        """Record a failed attempt with the file ``done_bytes`` far.

        Returns:
            (allowed, failures): whether another attempt may start, and the number of
            consecutive failures without progress (for the backoff).
        """
        if done_bytes >= self._high_water + self._chunk:
            self._high_water = done_bytes
            self._left = self._max
            self._failures = 0
        self._left -= 1
        self._failures += 1
        return self._left > 0, self._failures


class AdaptiveLimiter:
    """A semaphore whose size shrinks on 503/429 and grows back slowly after successes.

    USGS staff said the servers answer 503 to too many concurrent requests and that up to 5
    connections are fine (docs/design.md §Transfer engine: concurrency); so every HTTP request holds
    a slot, a throttling answer lowers the limit by one (never below 1) and ``grow_after``
    successful responses in a row raise it by one again (never above the starting limit).
    """

    def __init__(self, limit: int, grow_after: int) -> None:
        self.maximum = limit
        self.limit = limit
        self._grow_after = grow_after
        self._in_use = 0
        self._successes = 0
        self._cond = threading.Condition()

    def acquire(self, cancelled: Callable[[], bool], poll: float = 0.05) -> bool:
        """Wait for a slot; return False (without a slot) once ``cancelled()`` is True."""
        with self._cond:
            while self._in_use >= self.limit:
                if cancelled():
                    return False
                self._cond.wait(poll)
            if cancelled():
                return False
            self._in_use += 1
            return True

    def idle(self) -> int:
        """Slots free now (0 when every slot is in use or the limit was lowered below use)."""
        with self._cond:
            return max(0, self.limit - self._in_use)

    def release(self) -> None:
        """Give a slot back."""
        with self._cond:
            self._in_use -= 1
            self._cond.notify_all()

    def throttled(self) -> None:
        """The server said 429/503: one connection fewer from now on."""
        with self._cond:
            self.limit = max(1, self.limit - 1)
            self._successes = 0

    def succeeded(self) -> None:
        """A response was accepted; after enough in a row, allow one connection more."""
        with self._cond:
            self._successes += 1
            if self._successes >= self._grow_after and self.limit < self.maximum:
                self.limit += 1
                self._successes = 0
                self._cond.notify_all()
