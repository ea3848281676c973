"""A connection of one file: a thread that runs the requests its coordinator assigns.

It only moves bytes. For each ``Assignment`` it waits for a connection slot, sends the
request the coordinator built (``single.stream_once``), reports the response's status and
headers and waits for the coordinator's ``Verdict`` (``response.py``), writes the body it was
told to read and reports back through the coordinator's queue: the body's rate every
``single.RATE_INTERVAL``, and the end (with the error, if any). What a response means for
the file (its size, validators, where the segment ends) and whether to retry, resume,
split, restart or give up are the coordinator's decisions (``coordinator.py``).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import requests

from .context import CANCELLED
from .response import Heard, Verdict
from .single import stream_once
from .task import FileTask, Segment

#: ``Report.kind`` values.
RESPONSE = "response"
RATE = "rate"
ENDED = "ended"


@dataclass(frozen=True)
class Assignment:
    """One request to make: the segment, the URL (and its generation) and the request's
    headers (Range and If-Range included, ``response.request_headers``)."""

    seg: Segment
    url: str
    generation: int
    headers: dict[str, str]


@dataclass(frozen=True)
class Report:
    """What a lane tells its coordinator.

    Attributes:
        lane: who reports.
        kind: ``RESPONSE``, ``RATE`` or ``ENDED``.
        seg: the segment of the request.
        heard: RESPONSE: the response's status and headers (the lane waits for the
            coordinator's ``Lane.decide``).
        rate: RATE: the body's bytes per second since the response began.
        error: ENDED: why the request failed (any exception, a bug too), or None.
        generation: ENDED: the URL generation the request used (for a refresh).
        open_end: ENDED: a body of unknown length ended, at ``seg.start``.
    """

    lane: Lane
    kind: str
    seg: Segment
    heard: Heard | None = None
    rate: float = 0.0
    error: BaseException | None = None
    generation: int = 0
    open_end: bool = False


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
        # Assignments, the verdict on a response, or None: end the thread.
        self._inbox: queue.SimpleQueue[Assignment | Verdict | None] = queue.SimpleQueue()
        self._closing = False  # None came while a verdict was awaited: end after the request
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def assign(self, work: Assignment | None) -> None:
        """Queue the next request; None ends the lane."""
        self._inbox.put(work)

    def decide(self, verdict: Verdict) -> None:
        """Answer the lane's RESPONSE report (the coordinator's thread)."""
        self._inbox.put(verdict)

    def join(self) -> None:
        """Wait for the thread to end (after ``assign(None)``)."""
        self._thread.join()

    # --- Reporter (called in the lane's thread by single.py) -----------------------------

    def responded(self, seg: Segment, heard: Heard) -> Verdict:
        """Report a response's status and headers; wait for the coordinator's verdict."""
        self._reports.put(Report(self, RESPONSE, seg, heard=heard))
        answer = self._inbox.get()
        if answer is None:  # the coordinator is closing its lanes (after a bug): stop
            self._closing = True
            task = self.task
            return Verdict(read=False, error=task.cancel_error(task.cancel_reason() or CANCELLED))
        assert isinstance(answer, Verdict), "an assignment while a request is in flight"
        return answer

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
                assert isinstance(work, Assignment), "a verdict without a request in flight"
                open_end, error = self._request(work, session)
                self._reports.put(
                    Report(
                        self,
                        ENDED,
                        work.seg,
                        error=error,
                        generation=work.generation,
                        open_end=open_end,
                    )
                )
                if self._closing:
                    return
        finally:
            if self._session is None:
                pool.close_current()

    def _request(
        self, work: Assignment, session: requests.Session
    ) -> tuple[bool, BaseException | None]:
        """Make one request for ``work`` within a connection slot; return whether a body of
        unknown length ended, and what failed."""
        task = self.task
        limiter = task.run.limiter
        try:
            task.check_can_start()
            if not limiter.acquire(lambda: task.cancel_reason() is not None):
                raise task.cancel_error(task.cancel_reason() or CANCELLED)
            try:
                open_end = stream_once(task, work.seg, self, session, work.url, work.headers)
            finally:
                limiter.release()
        except BaseException as exc:  # reported; the coordinator decides (a bug is re-raised)
            return False, exc
        return open_end, None
