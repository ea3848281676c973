"""One request on one connection: the request, the body loop.

``stream_once`` sends the request the file's coordinator built for a ``Segment``
(``coordinator.py``), reports the response's status and headers and waits for the
coordinator's decision (``response.py``), then writes the body it was told to read. It never
retries and changes nothing of the file's state but the bytes it writes and the start of its
own segment (``Segment.claim``); it only moves bytes, and reports the body's rate and how it
ended.
"""

from __future__ import annotations

import http.client
import time
from typing import Protocol

import requests
import urllib3

from m2mdl.util.net import redact_url

from .errors import ConnectionProblem, IntegrityError
from .model import ERROR_LIMIT
from .response import Heard, Verdict
from .task import FileTask, Segment
from .watchdog import Watch


class Reporter(Protocol):
    """Where a request tells its coordinator what it learns (``lane.Lane``)."""

    def responded(self, seg: Segment, heard: Heard) -> Verdict:
        """A response for ``seg`` arrived: report its status and headers and wait for the
        coordinator's decision (``response.judge``)."""

    def streaming(self, seg: Segment, rate: float) -> None:
        """``seg``'s body has run a while at ``rate`` bytes per second."""


_READ_ERRORS = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)
#: How often a stream reports its rate to the coordinator, in seconds (the first report comes
#: after this long too, so the rate is measured over at least this long). Each interval on
#: one connection costs a capped file time: measured, 256 MiB from nginx capped at 20 MiB/s
#: per connection, 4 segments planned up front 3.83 s (median of 3), split late after 0.5 s
#: 4.23 s, after 0.25 s 3.94 s.
RATE_INTERVAL = 0.25


def stream_once(
    task: FileTask,
    seg: Segment,
    reporter: Reporter,
    session: requests.Session,
    url: str,
    headers: dict[str, str],
) -> bool:
    """Make one request to ``url`` with ``headers`` for the rest of ``seg`` on ``session``
    and write what arrives, as far as the coordinator's ``Verdict`` says.

    Returns:
        True when the body had no length and ended (at ``seg.start``): the coordinator
        decides whether that is the file's end (``response.body_ended``).

    Raises:
        TransferError: the attempt failed (the coordinator decides what happens next).
    """
    task.count_attempt()
    opts = task.options
    try:
        response = session.get(
            url,
            headers=headers,
            stream=True,
            timeout=(opts.connect_timeout, opts.read_timeout),
            verify=opts.verify_tls,
            allow_redirects=True,
        )
    except requests.RequestException as exc:
        raise ConnectionProblem(describe_request_error(exc)) from exc
    with response:
        heard = Heard(
            response.status_code,
            response.reason or "",
            response.headers.copy(),
            asked_range="Range" in headers,
        )
        verdict = reporter.responded(seg, heard)
        if verdict.error is not None:
            raise verdict.error
        if not verdict.read:
            return False
        return read_body(task, seg, response, reporter, verdict.body_end)


def read_body(
    task: FileTask,
    seg: Segment,
    response: requests.Response,
    reporter: Reporter,
    body_end: int | None,
) -> bool:
    """Write the body at ``seg.start`` onwards until the segment ends or the body does;
    True when a body of unknown length ended (``_end_of_body``). ``body_end``: where the
    body ends when the server sent less than asked (the coordinator's ``Verdict``).

    The one body loop: urllib3's public ``read1`` (``decode_content=False``; Accept-Encoding
    is always identity and a Content-Encoding is refused) returns what one ``recv`` brought,
    up to a chunk, as a new ``bytes`` that the disk write and the hasher's helper thread
    share without a copy (``PartFile.write``). http.client under it keeps the body's length
    and decodes chunked framing. A body read to its very end hands its connection back to
    the pool (keep-alive, done by urllib3); one left unread (a segment the coordinator cut
    short to give its rest to another connection, a failure) is closed with the response.
    """
    raw = response.raw
    meter = RateMeter(seg, reporter)
    with task.run.watchdog.watch(raw, task.cancel_reason) as watch:
        while not seg.finished():
            if watch.reason is not None:
                raise task.cancel_error(watch.reason)
            task.check_can_start()
            data = _read(task, raw, read_size(task, seg), watch)
            if not data:
                return _end_of_body(task, seg, watch, body_end)
            nbytes = len(data)
            check_overflow(task, seg, nbytes)
            offset, keep = seg.claim(nbytes)  # fewer when the coordinator cut the segment
            if keep:
                task.part.write(offset, data if keep == nbytes else data[:keep])
                task.received(keep)
            watch.add(nbytes)
            throttle(task, nbytes)
            meter.add(nbytes)
    return False


def read_size(task: FileTask, seg: Segment) -> int:
    """The next read's size: a chunk, no more than the segment needs or the rate limit allows."""
    want = task.options.chunk_size
    if seg.end is not None:
        want = min(want, seg.end - seg.start)
    bucket = task.run.bucket
    return want if bucket is None else bucket.read_size(want)


class RateMeter:
    """Measures one response's body rate and reports it to the coordinator every so often."""

    def __init__(self, seg: Segment, reporter: Reporter) -> None:
        self._seg = seg
        self._reporter = reporter
        self._began = time.monotonic()
        self._next = self._began + RATE_INTERVAL
        self._bytes = 0

    def add(self, nbytes: int) -> None:
        """Count ``nbytes`` read; report the rate since the response began when it is due."""
        self._bytes += nbytes
        now = time.monotonic()
        if now < self._next or self._seg.finished():
            return
        self._next = now + RATE_INTERVAL
        self._reporter.streaming(self._seg, self._bytes / (now - self._began))


def throttle(task: FileTask, nbytes: int) -> None:
    """Pay ``nbytes`` to the run's rate limit, waiting while it is overdrawn (or until a stop)."""
    bucket = task.run.bucket
    if bucket is not None:
        bucket.take(nbytes, lambda: task.cancel_reason() is not None, task.run.stop)


def _read(task: FileTask, raw: urllib3.BaseHTTPResponse, want: int, watch: Watch) -> bytes:
    """One read of at most ``want`` bytes: whatever has arrived (b"" at the end of the body).

    ``read1`` returns after one ``recv``, so a slow server still shows progress to the
    stall detector and a fast one is read in large blocks (1.3-3 MB per call on loopback).
    """
    try:
        return raw.read1(want, decode_content=False) or b""
    except _READ_ERRORS as exc:
        if watch.reason is not None:
            raise task.cancel_error(watch.reason) from exc
        raise ConnectionProblem(redact_url(f"connection broken: {exc}", limit=ERROR_LIMIT)) from exc


def _end_of_body(task: FileTask, seg: Segment, watch: Watch, body_end: int | None) -> bool:
    """The body ended: True for a body of unknown length (its end may be the file's), False
    for a shorter 206 that ended at ``body_end``; otherwise the transfer broke.

    Raises:
        TransferError: the stream was aborted, or the connection closed early.
    """
    if watch.reason is not None:
        raise task.cancel_error(watch.reason)
    if body_end is not None and seg.start >= body_end:
        return False
    if seg.end is not None:
        raise ConnectionProblem(f"connection closed at byte {seg.start} of {seg.end}")
    return True


def check_overflow(task: FileTask, seg: Segment, nbytes: int) -> None:
    """A body of unknown length must not grow past the expected size."""
    expected = task.job.expected_size
    if seg.end is None and expected is not None and seg.start + nbytes > expected:
        raise IntegrityError(f"the server sent more than the expected {expected} bytes")


def describe_request_error(exc: requests.RequestException) -> str:
    """One line for a failed request, without the URL's query string."""
    kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
    return redact_url(f"{kind}: {exc}", limit=ERROR_LIMIT)
