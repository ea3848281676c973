"""``--limit-rate``: one token bucket shared by every connection of a run.

The cap is on the total: bytes per second over all files and segments together (as
``curl --limit-rate`` does for one transfer and ``aria2c --max-overall-download-limit`` for
a run). Each body read first asks the bucket for its bytes (``take``); a read that would
overdraw it waits, in short steps that end early when the stream must stop. Reads are kept
small (``read_size``) so that TCP flow control, not a long sleep after a large read, slows
the sender down, and so the watchdog still sees bytes arrive.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: The bucket holds at most this many seconds of tokens: a stream idle for a while may burst
#: this long at full speed, no more.
BURST_SECONDS = 0.25
#: The longest single wait; the caller's ``stopped`` check runs between waits.
MAX_WAIT = 0.1
#: The smallest read while a limit is set (one TLS record is 16 KiB).
MIN_READ = 16 * 1024


class TokenBucket:
    """A token bucket of ``rate`` bytes per second. Thread-safe.

    ``clock`` (a monotonic time in seconds) is injectable so the bucket can be tested
    without sleeping.
    """

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate < 1:
            raise ValueError("the rate must be at least 1 byte per second")
        self.rate = rate
        self.capacity = max(MIN_READ, int(rate * BURST_SECONDS))
        self._clock = clock
        self._tokens = float(self.capacity)
        self._stamp = clock()
        self._lock = threading.Lock()

    def read_size(self, want: int) -> int:
        """The largest read to make now: ``want``, at most a tenth of a second of the rate."""
        return max(1, min(want, max(MIN_READ, self.rate // 10)))

    def reserve(self, nbytes: int) -> float:
        """Take ``nbytes`` tokens (going into debt if needed); return the seconds to wait.

        The caller waits that long before it reads again, so over any interval the bytes
        taken never exceed ``rate * interval + capacity``.
        """
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._stamp)
            self._stamp = now
            self._tokens = min(float(self.capacity), self._tokens + elapsed * self.rate)
            self._tokens -= nbytes
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.rate

    def take(self, nbytes: int, stopped: Callable[[], bool], event: threading.Event) -> None:
        """Take ``nbytes`` tokens and wait until they are paid for, or until ``stopped()``.

        ``event`` is waited on (so setting it ends a wait at once); ``stopped`` is checked
        between waits of at most ``MAX_WAIT`` seconds.
        """
        delay = self.reserve(nbytes)
        until = self._clock() + delay
        while delay > 0 and not stopped():
            event.wait(min(delay, MAX_WAIT))
            delay = until - self._clock()
