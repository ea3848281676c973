"""Running a file's segments concurrently, and splitting a large file into segments.

When to split (``TransferOptions.split_after``): every file starts on one connection. A
stream reports its measured rate every ``single.RATE_INTERVAL``; when connections are idle
(no queued file will take them) and the stream's remaining bytes at that rate would take
longer than ``split_after`` seconds, its remaining range is cut into parts, the stream keeps
the first and idle connections take the others (at most ``segments`` per file). So a fast
link, where one stream is quickest, never splits, a capped one splits early, and the last
large file of a run gets the connections the finished files left (the tail of a run is not
one connection). The stream that shrank stops at its new end and drops its connection
(the bytes in flight are lost; at a capped rate that is little). The journal records byte
ranges, so a split file resumes gap by gap.

Segments write with ``os.pwrite`` into the preallocated ``.part`` (docs/design.md §Transfer engine:
preallocation and segments; 4 threads reached 1.15x curl; under a per-connection cap they matched
aria2 -x4). Each connection still holds a limiter slot per request, so files and segments together
never use more than ``workers`` connections.
"""

from __future__ import annotations

import itertools
import threading

from .errors import Cancelled, DeadlineReached, NoSpace, RestartNeeded, Stopped, TransferError
from .single import fetch_segment
from .task import FileTask, Segment

#: A stream faster than this (bytes per second) is never split, however long its rest: at
#: such rates the client's CPU (SHA-512 at about 825 MiB/s, the copies, the writes) bounds
#: it, not the path, and more connections only add work. Measured, 1 GiB from nginx on
#: loopback: 4 segments took 3.66 s against 1.62 s for one stream. Per-connection caps of
#: file servers (about 20 MiB/s) are far below it.
FAST_STREAM = 100 * 2**20

# The first error of a kind earlier in this list wins when several segments fail.
_PRIORITY: tuple[type[TransferError], ...] = (Stopped, NoSpace, DeadlineReached, RestartNeeded)


class SegmentRunner:
    """Fetches a file's missing segments: the first in the calling thread, others in helpers."""

    def __init__(self, task: FileTask) -> None:
        self.task = task
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        self._lanes = 0  # lanes running (or about to): the file's connections
        self._lock = threading.Lock()

    def run(self, segments: list[Segment]) -> None:
        """Fetch every segment; raise the most important failure after all have stopped."""
        lanes = max(1, min(len(segments), self.task.options.segments))
        queues = [segments[lane::lanes] for lane in range(lanes)]
        with self._lock:
            self._lanes += 1
        for queue in queues[1:]:
            self._spawn(queue)
        self._lane(queues[0], helper=False)
        self._join()

    def accepted(self, task: FileTask, seg: Segment) -> None:
        """A response was accepted: maybe start the split planned (or allowed) up front."""
        for extra in take_split(task, seg):
            self._spawn([extra])

    def streaming(self, task: FileTask, seg: Segment, rate: float) -> None:
        """A stream is running at ``rate``: split its rest if it is slow and others idle."""
        with self._lock:
            spare = task.options.segments - self._lanes
        for extra in late_split(task, seg, rate, spare):
            self._spawn([extra])

    def _spawn(self, queue: list[Segment]) -> None:
        thread = threading.Thread(
            target=self._lane, args=(queue,), name=f"m2mdl-seg-{queue[0].start}", daemon=True
        )
        with self._lock:
            self._threads.append(thread)
            self._lanes += 1
        thread.start()

    def _lane(self, queue: list[Segment], helper: bool = True) -> None:
        try:
            for seg in queue:
                fetch_segment(self.task, seg, self)
            if self.task.cancel_reason() is None:
                # This connection is done while others may still stream: hash what is
                # contiguous now, so less is left for publish (with 4 equal segments under a
                # cap they end within ~0.1 s of each other; the catch-up of 3/4 of a file
                # is ~0.4 s per GiB at 1.9 GB/s, all of it after the transfer otherwise).
                self.task.part.hash_ahead()
        except BaseException as exc:  # collected and re-raised by _join in the file thread
            with self._lock:
                self._errors.append(exc)
            self.task.abort.set()
        finally:
            with self._lock:
                self._lanes -= 1
            if helper:
                self.task.run.sessions.close_current()

    def _join(self) -> None:
        joined = 0
        while True:
            with self._lock:
                pending = self._threads[joined:]
            if not pending:
                break
            for thread in pending:
                thread.join()
            joined += len(pending)
        if self._errors:
            raise pick_error(self._errors)


def pick_error(errors: list[BaseException]) -> BaseException:
    """Choose which of several segment failures to report (bugs first, Cancelled last)."""
    for exc in errors:
        if not isinstance(exc, TransferError):
            return exc
    for kind in _PRIORITY:
        for exc in errors:
            if isinstance(exc, kind):
                return exc
    real = [exc for exc in errors if not isinstance(exc, Cancelled)]
    return (real or errors)[0]


def take_split(task: FileTask, seg: Segment) -> list[Segment]:
    """After a response was accepted: the extra segments to start now (maybe none).

    With ``split_after`` 0 (split up front): a split planned before the first request (the
    size was known) starts once a 206 proved that Range works; otherwise the first accepted
    206 may split the file now, once. Otherwise streams split later (``late_split``).
    """
    planned, may_split = task.ranges.take_split()
    if planned:
        return planned
    if not may_split or task.part.total is None or seg.end is None:
        return []
    return plan_split(task, seg, task.part.total)


def plan_split(task: FileTask, seg: Segment, total: int) -> list[Segment]:
    """Shrink ``seg`` to its first part and return the other parts, or [] to keep it whole.

    Only for files of at least ``segment_min_size`` and only as far as connections are
    spare: the limit is shared among unfinished files first (split across files first,
    docs/design.md §Transfer engine: concurrency), and every part must be at least 4 chunks long.
    """
    opts = task.options
    if total < opts.segment_min_size or seg.end is None:
        return []
    share = task.run.limiter.limit // max(1, task.run.unfinished())
    count = min(opts.segments, share, (seg.end - seg.start) // (4 * opts.chunk_size))
    if count < 2:
        return []
    return cut(seg, count)


def late_split(task: FileTask, seg: Segment, rate: float, spare: int) -> list[Segment]:
    """While ``seg`` streams at ``rate``: shrink it and return parts for idle connections.

    ``spare``: how many more lanes the file may have (``segments`` minus those running).
    Splits only a file of at least ``segment_min_size`` whose server proved Range works,
    only while the rest would take more than ``split_after`` seconds at ``rate`` and the
    stream is slower than ``FAST_STREAM``, and into parts of at least 4 chunks.
    """
    opts = task.options
    total = task.part.total
    if (
        opts.split_after <= 0
        or spare < 1
        or seg.end is None
        or seg.short_end is not None
        or total is None
        or total < opts.segment_min_size
        or not task.ranges.usable()
    ):
        return []
    left = seg.end - seg.start
    if rate >= FAST_STREAM or (rate > 0 and left / rate <= opts.split_after):
        return []
    idle = task.run.idle_connections()
    count = min(1 + idle, 1 + spare, left // (4 * opts.chunk_size))
    if count < 2:
        return []
    return cut(seg, count)


def cut(seg: Segment, count: int) -> list[Segment]:
    """Shrink ``seg`` (of known end) to the first of ``count`` equal parts; return the rest."""
    assert seg.end is not None
    span = seg.end - seg.start
    bounds = [seg.start + span * i // count for i in range(count + 1)]
    seg.end = bounds[1]
    return [Segment(lo, hi) for lo, hi in itertools.pairwise(bounds[1:])]
