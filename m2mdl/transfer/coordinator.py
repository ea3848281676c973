"""The owner of one file: which range each connection fetches, and what happens next.

``Coordinator.run`` is one loop in the file's worker thread, from the first request to the
result. Each turn it hands ranges to idle connections (``lane.Lane``: threads that only move
bytes), hashes a step of the contiguous prefix, then waits for one report and decides: a
response arrived (its connection waits while it is judged, ``response.py``: the file's size
and validators, where the segment ends, whether Range works; a split planned up front may
start), a stream reports its rate (a slow one may split), a request ended (its range is
done, a body of unknown length gave the file's size, or the range is resumed after a
backoff, or the file must stop). When nothing is in flight it publishes the file, or
restarts it from zero, fetches it again after a checksum mismatch, or fails it
(``filerun.py``). Every decision about the file's state is made here, in this one thread;
a connection only writes the bytes it was told to read and advances its own segment's
start. ``segmented.py`` holds the split rules and the piece sizes.
"""

from __future__ import annotations

import bisect
import queue
import time

from . import filerun, response
from .errors import ChecksumMismatch, RestartNeeded, TransferError
from .hashing import QUEUE_BYTES
from .lane import ENDED, RESPONSE, Assignment, Lane, Report
from .model import FileResult
from .segmented import min_piece, pick_error, piece_size, plan_split, splittable, take_split
from .task import FileTask, Segment, reason_error

#: The longest wait for a report before the loop looks at stops and backoffs again.
_POLL = 0.1
#: Bytes hashed per loop turn while catching up (about 10-20 ms), so reports wait little.
HASH_STEP = 16 * 2**20


class Coordinator:
    """Fetches the missing ranges of one file over up to ``segments`` connections."""

    def __init__(self, task: FileTask) -> None:
        self.task = task
        self.options = task.options
        self.reports: queue.SimpleQueue[Report] = queue.SimpleQueue()
        self.lanes: list[Lane] = []  # running threads, busy or idle
        self.idle: list[Lane] = []  # lanes waiting for a range
        self.busy: dict[Lane, Segment] = {}  # lanes with a request in flight
        self.accepted: set[Lane] = set()  # busy lanes reading the body of a response
        self.rates: dict[Lane, float] = {}  # the last rate each busy lane reported
        self.todo: list[tuple[int, float, Segment]] = []  # (start, not before, segment)
        self.tail: tuple[int, int] | None = None  # bytes not handed out yet, cut into pieces
        self.errors: list[BaseException] = []  # when not empty: stop and raise the worst
        self.rate = 0.0  # the last per-connection rate reported
        self.handed_out = 0  # segments handed out (more than one: hash as the prefix grows)
        self._shared_session = True  # the first lane uses the file thread's session

    # --- the loop ------------------------------------------------------------------------

    def run(self) -> FileResult:
        """Download, verify and publish the file; return its result, a failure too.

        The one loop: each turn hands out ranges and handles one report (``_turn``). Once
        nothing is in flight the fetch has ended, and ``_settle`` publishes the file or
        decides what stopped it: fetch again (a restart from zero, a checksum mismatch) or
        fail. Bugs propagate.
        """
        task = self.task
        job, part = task.job, task.part
        total = part.total if part.total is not None else job.expected_size
        task.run.sink.file_started(job.key, job.dest.name, total, part.done())
        try:
            self._plan()
            while True:
                if self._turn():
                    continue
                result = self._settle()
                if result is not None:
                    return result
                self._plan()
        finally:
            self._close()

    def _settle(self) -> FileResult | None:
        """The fetch ended: publish, or act on its failure. None: fetch again."""
        self._close()
        errors, self.errors = self.errors, []
        task = self.task
        try:
            if errors:
                raise pick_error(errors)
            return filerun.publish(task)
        except ChecksumMismatch as exc:
            return filerun.mismatch(task, exc)
        except RestartNeeded as exc:
            return filerun.restart(task, exc)
        except TransferError as exc:
            return filerun.fail(task, exc)

    def _turn(self) -> bool:
        """One turn of the loop; False once the fetch has ended: nothing is in flight, and
        nothing is left to fetch or the file must stop."""
        if self._stopping():
            self.task.abort.set()  # the other connections stop (watchdog, slot waits)
        else:
            self._dispatch()
        if not self.busy and (self.errors or (not self.todo and self.tail is None)):
            return False
        more = not self.errors and self.handed_out > 1 and self._hash_step()
        report = self._next_report(0.0 if more else self._wait())
        if report is not None:
            self._handle(report)
        return True

    def _hash_step(self) -> bool:
        """Hash a step of the contiguous prefix; True while more is waiting."""
        behind = QUEUE_BYTES + self.options.chunk_size  # may be queued for the live hasher
        return self.task.part.hash_step(HASH_STEP, behind)

    def _stopping(self) -> bool:
        """True once the file must stop: a failure, or (while anything is left to fetch) a
        run-wide stop, a full disk or the deadline."""
        left = self.busy or self.todo or self.tail is not None
        if not self.errors and left:
            reason = self.task.run.run_reason()
            if reason is not None:
                self.errors.append(reason_error(reason, self.options))
        return bool(self.errors)

    def _next_report(self, timeout: float) -> Report | None:
        try:
            if timeout <= 0:
                return self.reports.get_nowait()
            return self.reports.get(timeout=timeout)
        except queue.Empty:
            return None

    def _wait(self) -> float:
        """How long to wait for a report: until the next backoff ends, at most ``_POLL``."""
        wait = _POLL
        if self.todo and not self.errors:
            wait = min(wait, min(due for _start, due, _seg in self.todo) - time.monotonic())
        return max(wait, 0.001)

    # --- planning ------------------------------------------------------------------------

    def _plan(self) -> None:
        """Start a fetch with the missing ranges: one open range for a fresh file, one per
        gap on resume. With ``split_after`` 0 and the size known up front (journal or
        ``expected_size``), the split is planned now and the first request asks only for
        the first part; its other parts start once a 206 proved Range works."""
        task = self.task
        task.abort.clear()
        self.todo, self.tail, self.handed_out = [], None, 0
        segments = [Segment(lo, hi) for lo, hi in task.part.gaps()]
        if not segments:
            return  # complete (resumed from a journal that covers it all)
        size = task.part.total if task.part.total is not None else task.job.expected_size
        first = segments[0]
        upfront = self.options.split_after == 0 and len(segments) == 1 and not task.ranges.broken
        planned: list[Segment] = []
        if upfront and size is not None and first.end in (None, size):
            whole = Segment(first.start, size)
            planned = plan_split(task, whole, size)
            if planned:
                first.end = whole.end
        task.ranges.arm(planned, may_split=upfront and not planned)
        for seg in segments:
            self._queue(seg, 0.0)

    def _queue(self, seg: Segment, due: float) -> None:
        """Fetch ``seg`` (not before ``due``), in file order with the other waiting ones."""
        bisect.insort(self.todo, (seg.start, due, seg), key=lambda item: (item[0], item[1]))

    # --- handing out ranges --------------------------------------------------------------

    def _dispatch(self) -> None:
        """Give waiting segments, then pieces of the tail, to idle (or new) connections;
        let connections with nothing left to do go."""
        now = time.monotonic()
        for item in list(self.todo):
            _start, due, seg = item
            if due > now:
                continue
            if self.task.ranges.broken and seg.start > 0:
                self.errors.append(
                    RestartNeeded("the server does not resume (Range); starting over")
                )
                return
            lane = self._lane(new=len(self.lanes) < self.options.segments)
            if lane is None:
                break
            self.todo.remove(item)
            self._assign(lane, seg)
        if self.idle and self.tail is None and not self.todo:
            self._split()
        while self.tail is not None:
            lane = self._lane(new=self._may_add_lanes() > 0)
            if lane is None:
                break
            self._assign(lane, self._next_piece())
        if not self.todo and self.tail is None:
            for lane in self.idle:
                lane.assign(None)
                self.lanes.remove(lane)
            self.idle.clear()

    def _lane(self, *, new: bool) -> Lane | None:
        """An idle lane, else a new one if ``new``, else None."""
        if self.idle:
            return self.idle.pop()
        if not new:
            return None
        session = None
        if self._shared_session:  # keep-alive carries over from the file thread's requests
            session = self.task.run.sessions.get()
            self._shared_session = False
        lane = Lane(self.task, self.reports, session, f"m2mdl-conn-{len(self.lanes)}")
        self.lanes.append(lane)
        return lane

    def _assign(self, lane: Lane, seg: Segment) -> None:
        task = self.task
        self.busy[lane] = seg
        self.accepted.discard(lane)
        self.rates.pop(lane, None)
        self.handed_out += 1
        headers = response.request_headers(task, seg, ask_range=not task.ranges.broken)
        lane.assign(Assignment(seg, task.url, task.url_generation, headers))

    def _may_add_lanes(self) -> int:
        """New connections this file may open now: idle connections of the run that no
        queued file will take, minus this file's requests still waiting to be accepted."""
        room = self.options.segments - len(self.lanes)
        if room < 1:
            return 0
        waiting = len(self.busy) - len(self.accepted)
        return max(0, min(room, self.task.run.idle_connections() - waiting))

    def _next_piece(self) -> Segment:
        """Cut the next piece off the tail (all of it when only a crumb would be left)."""
        assert self.tail is not None
        lo, hi = self.tail
        remaining = hi - lo + self._left_in_flight()
        size = piece_size(self.options, self.rate, remaining, len(self.busy) + 1)
        end = lo + size
        if hi - end < min_piece(self.options):
            end = hi
        self.tail = (end, hi) if end < hi else None
        return Segment(lo, end)

    def _left_in_flight(self) -> int:
        return sum(seg.left() or 0 for seg in self.busy.values())

    def _split(self) -> None:
        """If connections are free and a stream is slow (``splittable``): cut the segment
        with the most left after a first piece and make the rest the tail."""
        free = len(self.idle) + self._may_add_lanes()
        if free < 1 or self.tail is not None:
            return
        candidates = [
            (seg.left() or 0, lane)
            for lane, seg in self.busy.items()
            if splittable(self.task, seg, self.rates.get(lane, 0.0))
        ]
        if not candidates:
            return
        left, lane = max(candidates, key=lambda item: item[0])
        seg = self.busy[lane]
        end = seg.end
        assert end is not None
        keep = piece_size(
            self.options, self.rates[lane], self._left_in_flight(), len(self.busy) + free
        )
        if left - keep < min_piece(self.options):
            return
        new_end = seg.cut(seg.start + keep)
        if new_end < end:
            self.tail = (new_end, end)

    # --- reports -------------------------------------------------------------------------

    def _handle(self, report: Report) -> None:
        lane = report.lane
        if report.kind == RESPONSE:
            self._responded(report)
        elif report.kind == ENDED:
            self._ended(report)
        elif lane in self.busy:  # RATE
            self.rates[lane] = report.rate
            self.rate = report.rate
            if not self.errors and not self.todo:
                self._split()

    def _responded(self, report: Report) -> None:
        """Judge a response and answer its waiting connection. One whose body is to be read
        is accepted: learn whether Range works, start a split planned up front."""
        lane, seg, heard = report.lane, report.seg, report.heard
        assert heard is not None
        verdict = response.judge(self.task, seg, heard)
        if verdict.read:
            self.accepted.add(lane)
            self.task.run.limiter.succeeded()
            ranges = self.task.ranges
            if heard.asked_range and heard.status == 206:
                ranges.answered()
            elif heard.asked_range:
                ranges.ignored()
            if not self.errors:
                for extra in take_split(self.task, seg):
                    self._queue(extra, 0.0)
        lane.decide(verdict)

    def _ended(self, report: Report) -> None:
        """A request ended: the segment is done, or waits for a retry, or the file stops."""
        lane, seg, error = report.lane, report.seg, report.error
        self.busy.pop(lane, None)
        self.accepted.discard(lane)
        self.rates.pop(lane, None)
        self.idle.append(lane)
        seg.short_end = None  # that response's; the next request asks for the rest
        if error is None and report.open_end:
            try:
                response.body_ended(self.task, seg)
            except TransferError as exc:
                error = exc
        if error is None:
            if not seg.finished():  # a shorter 206 is progress: ask for the rest at once
                self._queue(seg, 0.0)
            return
        if self.errors or not isinstance(error, TransferError) or isinstance(error, RestartNeeded):
            self.errors.append(error)  # a bug, a restart, or the file is stopping anyway
            return
        try:  # retry after a backoff, or raise: not retryable, budget spent, refresh failed
            delay = self.task.recover(error, report.generation)
        except TransferError as exc:
            self.errors.append(exc)
            return
        self._queue(seg, time.monotonic() + delay)

    def _close(self) -> None:
        """End every lane (after a bug too: stop the requests in flight first)."""
        if self.busy:
            self.task.abort.set()
        for lane in self.lanes:
            lane.assign(None)
        for lane in self.lanes:
            lane.join()
        self.lanes.clear()
        self.idle.clear()
        self.busy.clear()
        self.accepted.clear()
        self.rates.clear()
        self._shared_session = True
