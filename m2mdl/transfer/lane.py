"""A connection of one file: a thread that runs the requests its coordinator assigns.

It only moves bytes. For each ``Assignment`` it waits for a connection slot, makes one
request for the segment (``single.stream_once``), writes what arrives and reports back
through the coordinator's queue: the accepted response, the body's rate every
``single.RATE_INTERVAL``, and the end (with the error, if any). Whether to retry, resume,
split, restart or give up is the coordinator's decision (``coordinator.py``).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import requests

from .context import CANCELLED
from .single import stream_once
from .task import FileTask, Segment

#: ``Report.kind`` values.
ACCEPTED = "accepted"
RATE = "rate"
ENDED = "ended"


@dataclass(frozen=True)
class Assignment:
    """One request to make: the segment, the URL (and its generation) and whether to ask
    for a Range."""

    seg: Segment
    url: str
    generation: int
    ask_range: bool


@dataclass(frozen=True)
class Report:
    """What a lane tells its coordinator.

    Attributes:
        lane: who reports.
        kind: ``ACCEPTED``, ``RATE`` or ``ENDED``.
        seg: the segment of the request.
        ranges: ACCEPTED: True for a 206 to a Range request, False for a 200 to one.
        rate: RATE: the body's bytes per second since the response began.
        error: ENDED: why the request failed (any exception, a bug too), or None.
        generation: ENDED: the URL generation the request used (for a refresh).
    """

    lane: Lane
    kind: str
    seg: Segment
    ranges: bool | None = None
    rate: float = 0.0
    error: BaseException | None = None
    generation: int = 0


class Lane:
    """One connection of a file, in its own thread, fed with ``Assignment``s.

    ``session``: the ``requests.Session`` to use (the file thread's, so keep-alive
    connections carry over from file to file); None: one of its own, closed when it ends
    (an idle keep-alive connection would count against the server's connection limit).
    """

    def __init__(
        self,
        task: FileTask,
        reports: queue.SimpleQueue[Report],
        session: requests.Session | None,
        name: str,
    ) -> None:
        self.task = task
        self._reports = reports
        self._session = session
        self._inbox: queue.SimpleQueue[Assignment | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def assign(self, work: Assignment | None) -> None:
        """Queue the next request; None ends the lane."""
        self._inbox.put(work)

    def join(self) -> None:
        """Wait for the thread to end (after ``assign(None)``)."""
        self._thread.join()

    # --- Reporter (called in the lane's thread by single.py) -----------------------------

    def accepted(self, seg: Segment, ranges: bool | None) -> None:
        """Tell the coordinator a response was accepted."""
        self._reports.put(Report(self, ACCEPTED, seg, ranges=ranges))

    def streaming(self, seg: Segment, rate: float) -> None:
        """Tell the coordinator how fast the body comes."""
        self._reports.put(Report(self, RATE, seg, rate=rate))

    # --- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        pool = self.task.run.sessions
        session = self._session or pool.get()
        try:
            while True:
                work = self._inbox.get()
                if work is None:
                    return
                error = self._request(work, session)
                self._reports.put(
                    Report(self, ENDED, work.seg, error=error, generation=work.generation)
                )
        finally:
            if self._session is None:
                pool.close_current()

    def _request(self, work: Assignment, session: requests.Session) -> BaseException | None:
        """Make one request for ``work`` within a connection slot; return what failed."""
        task = self.task
        limiter = task.run.limiter
        try:
            task.check_can_start()
            if not limiter.acquire(lambda: task.cancel_reason() is not None):
                raise task.cancel_error(task.cancel_reason() or CANCELLED)
            try:
                stream_once(task, work.seg, self, session, work.url, ask_range=work.ask_range)
            finally:
                limiter.release()
        except BaseException as exc:  # reported; the coordinator decides (a bug is re-raised)
            return exc
        return None
