"""Per-file state: URL, budget, counters, cancellation, retry decisions, and the ``Segment``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from m2mdl.util.net import backoff_delay, redact_url

from .context import CANCELLED, DEADLINE, DISK_FULL, STOPPED, RunContext
from .errors import (
    Cancelled,
    ConnectionProblem,
    DeadlineReached,
    NoSpace,
    RefreshFailed,
    Stopped,
    TransferError,
)
from .model import ERROR_LIMIT, FileJob, TransferOptions
from .partfile import PartFile
from .retry import AttemptBudget
from .watchdog import STALL

# seconds; docs/design.md §Transfer engine: throughput and chunk size; progress updates at <= 10 Hz
_PROGRESS_INTERVAL = 0.1
_POLL = 0.05


def reason_error(reason: str, options: TransferOptions) -> TransferError:
    """The exception for a cancellation reason (``context``'s constants or a stall)."""
    if reason == STOPPED:
        return Stopped("interrupted; progress kept for the next run")
    if reason == DISK_FULL:
        return NoSpace("stopped because the disk is full")
    if reason == DEADLINE:
        return DeadlineReached("deadline reached")
    if reason == STALL:
        return ConnectionProblem(
            f"stalled: fewer than {options.stall_bytes} bytes in {options.stall_seconds:g} s"
        )
    return Cancelled("stopped because another segment failed")


@dataclass
class Segment:
    """A byte range of one file that one connection fetches; ``start`` advances as it goes.

    The connection moves ``start`` (``claim``) and nothing else. The coordinator sets
    ``end`` and ``short_end`` when no connection streams into the segment (planning, a
    response whose connection waits for the verdict, ``response.judge``, a body of unknown
    length that ended) and may move ``end`` down while the connection streams (``cut``),
    to give the rest to another connection; ``claim`` and ``cut`` go through one lock so a
    byte is never claimed past an end that was cut. A segment of unknown end is never cut.
    """

    start: int
    end: int | None  # exclusive; None: up to the end of an unknown-size body
    short_end: int | None = None  # where the current 206 ends when it is shorter than asked
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def finished(self) -> bool:
        """True when every byte of the segment is written."""
        return self.end is not None and self.start >= self.end

    def left(self) -> int | None:
        """Bytes still to fetch, or None while the end is unknown."""
        end = self.end
        return None if end is None else max(0, end - self.start)

    def claim(self, nbytes: int) -> tuple[int, int]:
        """The connection got ``nbytes``: return (offset, how many of them belong here) and
        advance ``start`` past them."""
        with self._lock:
            offset = self.start
            end = self.end
            keep = nbytes if end is None else max(0, min(nbytes, end - offset))
            self.start = offset + keep
            return offset, keep

    def cut(self, at: int) -> int:
        """End the segment at ``at``, or where it is now if it already got further; return
        the new end. (The coordinator gives the bytes after it to another connection.)"""
        with self._lock:
            end = max(at, self.start)
            if self.end is not None:
                end = min(end, self.end)
            self.end = end
            return end


class RangeSupport:
    """What the server showed about Range requests, and the split waiting on it.

    The file's coordinator alone reads and changes it, in its thread (``coordinator.py``,
    ``segmented.py``, ``filerun.restart``): connections report responses, the coordinator
    learns from them.
    """

    def __init__(self) -> None:
        self._broken = False  # the server mishandles Range: plain GETs from 0 only
        self._proven = False  # the server answered a Range request with a 206
        self._planned: list[Segment] = []  # segments planned up front, waiting for that 206
        self._may_split = False  # the next accepted 206 may split the file (upfront mode)

    @property
    def broken(self) -> bool:
        """True once the server showed it mishandles Range requests."""
        return self._broken

    def usable(self) -> bool:
        """True when a 206 proved Range works and nothing showed otherwise since."""
        return self._proven and not self._broken

    def answered(self) -> None:
        """A Range request got a fitting 206."""
        self._proven = True

    def ignored(self) -> None:
        """A Range request got the whole file (200): no resume, no segments."""
        self._broken = True
        self._planned = []
        self._may_split = False

    def arm(self, planned: list[Segment], *, may_split: bool, broken: bool = False) -> None:
        """Before a file's streams start: the split planned up front, or whether the first
        accepted 206 may split it; ``broken`` (from a restart) is kept for good."""
        self._broken = self._broken or broken
        self._planned = [] if self._broken else planned
        self._may_split = may_split and not self._broken

    def take_split(self) -> tuple[list[Segment], bool]:
        """After a response was accepted: (planned segments to start now, may split now)."""
        if not self._proven or self._broken:
            self._planned, self._may_split = [], False
            return [], False
        if self._planned:
            planned, self._planned, self._may_split = self._planned, [], False
            return planned, False
        may_split, self._may_split = self._may_split, False
        return [], may_split


class FileTask:
    """One file's state.

    The file's coordinator thread (``coordinator.py``, ``response.py``, ``filerun.py``) owns
    it and alone changes the URL, the budget, the range support, the mismatch list and the
    part file's size and validators. Connections read only the options, the job and the
    run's shared services (slots, sessions, watchdog, rate limit), count what they did
    (``count_attempt``/``received``, under a lock), write bytes through ``part.write`` and
    watch ``abort`` (an Event) through ``cancel_reason``.
    """

    def __init__(self, run: RunContext, job: FileJob, part: PartFile) -> None:
        self.run = run
        self.job = job
        self.part = part
        self.options = run.options
        self.url = job.url
        self.url_generation = 0
        self.budget = AttemptBudget(self.options.max_attempts, self.options.chunk_size)
        self.abort = threading.Event()  # one segment failed: the others stop
        self.ranges = RangeSupport()
        self.attempts = 0
        self.bytes_received = 0
        self.mismatches: list[str] = []  # SHA-512 of each complete download that differed
        self._lock = threading.Lock()  # guards the counters that connections update
        self._pending = 0
        self._last_emit = float("-inf")  # report the first bytes at once

    # --- cancellation --------------------------------------------------------------------

    def cancel_reason(self) -> str | None:
        """Why this file's streams must stop now, or None."""
        reason = self.run.run_reason()
        if reason is None and self.abort.is_set():
            return CANCELLED
        return reason

    def cancel_error(self, reason: str) -> TransferError:
        """The exception for a reason from ``cancel_reason`` or the watchdog."""
        return reason_error(reason, self.options)

    def check_can_start(self) -> None:
        """Raise the cancellation error if no new attempt may start."""
        reason = self.cancel_reason()
        if reason is not None:
            raise self.cancel_error(reason)

    # --- counters and progress -----------------------------------------------------------

    def count_attempt(self) -> int:
        """Count one HTTP request; return the attempt number."""
        with self._lock:
            self.attempts += 1
            return self.attempts

    def received(self, nbytes: int) -> None:
        """Count body bytes written; report progress at most about 10 times a second."""
        with self._lock:
            self.bytes_received += nbytes
            self._pending += nbytes
            now = time.monotonic()
            if now - self._last_emit < _PROGRESS_INTERVAL:
                return
            pending, self._pending, self._last_emit = self._pending, 0, now
        self.run.sink.file_advanced(self.job.key, pending)

    def flush_progress(self, *, drop: bool = False) -> None:
        """Report progress not reported yet (or forget it, before a restart)."""
        with self._lock:
            pending, self._pending = self._pending, 0
        if pending and not drop:
            self.run.sink.file_advanced(self.job.key, pending)

    # --- retries (the coordinator's thread only) -------------------------------------------

    def recover(self, exc: TransferError, generation: int) -> float:
        """Decide about a failed attempt: throttle, refresh the URL, and return the backoff
        before the range is tried again; or raise (``exc`` itself, or with the budget spent).
        """
        if exc.throttled:
            self.run.limiter.throttled()
        refreshed = False
        if exc.refreshable and self.job.refresh_url is not None:
            refreshed = self.refresh(generation)
        elif not exc.retryable:
            raise exc
        allowed, failures = self.budget.spend(self.part.done())
        if not allowed:
            raise exc.with_message(
                f"{exc.message} (gave up after {self.attempts} attempts)"
            ) from exc
        opts = self.options
        # A fresh signed URL is used at once: sleeping first could let a short-lived URL
        # expire before it is tried (seen with 0.5-2 s lifetimes). The attempt budget still
        # bounds a server that keeps handing out dead URLs.
        delay = (
            0.0
            if refreshed and exc.retry_after is None
            else backoff_delay(
                failures,
                base=opts.backoff_base,
                cap=opts.backoff_cap,
                retry_after=exc.retry_after,
                retry_after_cap=opts.retry_after_cap,
            )
        )
        self.run.sink.file_retrying(
            self.job.key, self.attempts, redact_url(exc.message, limit=ERROR_LIMIT), delay
        )
        return delay

    def refresh(self, generation: int) -> bool:
        """Ask the caller for a fresh URL, once for all connections that saw the same failure
        (those that failed with an older ``generation`` find it refreshed already).

        Returns True: the URL is newer than the one that failed.
        """
        refresh_url = self.job.refresh_url
        assert refresh_url is not None
        if generation != self.url_generation:
            return True  # refreshed after that request was made
        try:
            url = refresh_url()
        except Exception as exc:  # the callback may raise anything; report it in one line
            raise RefreshFailed(
                redact_url(f"refreshing the URL failed: {exc}", limit=ERROR_LIMIT)
            ) from exc
        self.url = url
        self.url_generation += 1
        return True

    def sleep(self, delay: float) -> None:
        """Wait ``delay`` seconds, returning early on stop, abort or the deadline."""
        until = time.monotonic() + delay
        deadline = self.options.deadline
        if deadline is not None:
            until = min(until, deadline)
        while self.cancel_reason() is None:
            left = until - time.monotonic()
            if left <= 0:
                return
            self.run.stop.wait(min(left, _POLL))
