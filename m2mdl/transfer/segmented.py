"""Running a file's segments concurrently, and splitting a large file into segments.

Segments write with ``os.pwrite`` into the preallocated ``.part`` (downloader.md §3.3: 4
threads reached 1.15x curl; under a per-connection cap they matched aria2 -x4). Each
connection still holds a limiter slot per request, so files and segments together never
use more than ``workers`` connections.
"""

from __future__ import annotations

import itertools
import threading

from .errors import Cancelled, DeadlineReached, NoSpace, RestartNeeded, Stopped, TransferError
from .single import fetch_segment
from .task import FileTask, Segment

# The first error of a kind earlier in this list wins when several segments fail.
_PRIORITY: tuple[type[TransferError], ...] = (Stopped, NoSpace, DeadlineReached, RestartNeeded)


class SegmentRunner:
    """Fetches a file's missing segments: the first in the calling thread, others in helpers."""

    def __init__(self, task: FileTask) -> None:
        self.task = task
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        self._lock = threading.Lock()

    def run(self, segments: list[Segment]) -> None:
        """Fetch every segment; raise the most important failure after all have stopped."""
        lanes = max(1, min(len(segments), self.task.options.segments))
        queues = [segments[lane::lanes] for lane in range(lanes)]
        for queue in queues[1:]:
            self._spawn(queue)
        self._lane(queues[0], helper=False)
        self._join()

    def split(self, task: FileTask, seg: Segment) -> None:
        """``on_accepted`` callback: maybe split ``seg`` and start helpers for the new parts."""
        for extra in take_split(task, seg):
            self._spawn([extra])

    def _spawn(self, queue: list[Segment]) -> None:
        thread = threading.Thread(
            target=self._lane, args=(queue,), name=f"m2mdl-seg-{queue[0].start}", daemon=True
        )
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _lane(self, queue: list[Segment], helper: bool = True) -> None:
        try:
            for seg in queue:
                fetch_segment(self.task, seg, self.split)
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

    A split planned before the first request (the size was known) starts once a 206 proved
    that Range works; otherwise the first accepted 206 may split the file now, once.
    """
    if not task.ranges_proven or task.ranges_broken:
        task.pending_split = []
        return []
    if task.pending_split:
        extras, task.pending_split = task.pending_split, []
        return extras
    if not task.can_split or task.part.total is None or seg.end is None:
        return []
    task.can_split = False
    return plan_split(task, seg, task.part.total)


def plan_split(task: FileTask, seg: Segment, total: int) -> list[Segment]:
    """Shrink ``seg`` to its first part and return the other parts, or [] to keep it whole.

    Only for files of at least ``segment_min_size`` and only as far as connections are
    spare: the limit is shared among unfinished files first (split across files first,
    downloader.md §5.5), and every part must be at least 4 chunks long.
    """
    opts = task.options
    if total < opts.segment_min_size or seg.end is None:
        return []
    share = task.run.limiter.limit // max(1, task.run.unfinished())
    count = min(opts.segments, share, (seg.end - seg.start) // (4 * opts.chunk_size))
    if count < 2:
        return []
    span = seg.end - seg.start
    bounds = [seg.start + span * i // count for i in range(count + 1)]
    seg.end = bounds[1]
    return [Segment(lo, hi) for lo, hi in itertools.pairwise(bounds[1:])]
