"""One request on one connection: the request, the response checks, the body loop.

``stream_once`` makes one request for the rest of a ``Segment`` the file's coordinator
assigned (``coordinator.py``) and writes what arrives; it reports the response's acceptance
and the body's rate to the coordinator and raises what went wrong. It never retries and
decides nothing about other ranges: the coordinator does.
"""

from __future__ import annotations

import http.client
import time
from typing import Protocol

import requests
import urllib3

from m2mdl.util.net import parse_retry_after, redact_url

from . import checks
from .errors import (
    ConnectionProblem,
    FatalHttp,
    HeaderError,
    HttpStatusError,
    IntegrityError,
    RestartNeeded,
)
from .http_parse import parse_content_range, parse_unsatisfied_range
from .model import ERROR_LIMIT
from .task import FileTask, Segment
from .watchdog import Watch


class Reporter(Protocol):
    """Where a request tells its coordinator what it learns (``lane.Lane``)."""

    def accepted(self, seg: Segment, ranges: bool | None) -> None:
        """A response for ``seg`` was accepted; its body is about to be read. ``ranges``:
        True for a 206 to a Range request, False for a 200 to one, None without Range."""

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
    *,
    ask_range: bool = True,
) -> None:
    """Make one request to ``url`` for the rest of ``seg`` on ``session`` and write what
    arrives.

    ``ask_range`` False: a plain GET (the server showed it mishandles Range requests).

    Raises:
        TransferError: the attempt failed (the coordinator decides what happens next).
    """
    headers = request_headers(task, seg, ask_range=ask_range)
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
        asked = "Range" in headers
        if accept_response(task, seg, response, asked_range=asked):
            task.run.limiter.succeeded()
            ranges = None if not asked else response.status_code == 206
            reporter.accepted(seg, ranges)
            read_body(task, seg, response, reporter)
    if seg.eof:
        finish_open_ended(task, seg)


def request_headers(task: FileTask, seg: Segment, *, ask_range: bool = True) -> dict[str, str]:
    """Headers for a request starting at ``seg.start``.

    Always ``Accept-Encoding: identity`` (a gzip body breaks byte counts, docs/design.md §CLI and
    error model: pitfalls). Always a Range unless the server proved it mishandles them: ``bytes=0-``
    on a fresh file doubles as a probe (a 206 shows segments will work). If-Range carries the stored
    validator whenever one is known, so a changed file comes back as a 200 (restart), never
    as a mix of versions (the corruption curl/wget/aria2 produced in docs/design.md §Transfer
    engine: peer behaviour under faults).
    """
    headers = {"Accept-Encoding": "identity", "User-Agent": task.options.user_agent}
    if not ask_range:
        return headers
    last = "" if seg.end is None else str(seg.end - 1)
    headers["Range"] = f"bytes={seg.start}-{last}"
    validator = task.part.if_range()
    if validator is not None:
        headers["If-Range"] = validator
    return headers


def accept_response(
    task: FileTask, seg: Segment, response: requests.Response, *, asked_range: bool
) -> bool:
    """Check status and headers; adopt size and validators. False: nothing left to read.

    Raises:
        TransferError: the response cannot be used (see the subclasses).
    """
    status = response.status_code
    seg.short_end = None
    if status == 416:
        confirm_complete(task, seg, response)
        return False
    if not 200 <= status <= 299:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise HttpStatusError(status, response.reason or "", retry_after=retry_after)
    checks.check_content_type(response.headers.get("Content-Type"), task.job.dest.name)
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise FatalHttp(f"the server compressed the file (Content-Encoding {encoding})")
    if status == 206 and asked_range:
        total = check_partial(task, seg, response)
    else:
        total = check_full(task, seg, response, asked_range=asked_range)
    check_validators(task, response)
    check_totals(task, total)
    task.part.adopt(total, response.headers.get("ETag"), response.headers.get("Last-Modified"))
    if seg.end is None and task.part.total is not None:
        seg.end = task.part.total
    return not seg.finished()


def check_partial(task: FileTask, seg: Segment, response: requests.Response) -> int | None:
    """Check a 206's Content-Range against what was asked; return the total it names."""
    try:
        start, end, total = parse_content_range(response.headers.get("Content-Range", ""))
    except HeaderError as exc:
        raise RestartNeeded(f"{exc.message}; starting over", ranges_broken=True) from exc
    if total is None:  # "bytes a-b/*": the end of this answer is not the end of the file
        raise RestartNeeded(
            "the server does not tell the size in Content-Range", ranges_broken=True
        )
    if start != seg.start or (seg.end is not None and end >= seg.end):
        raise RestartNeeded(
            f"asked for bytes from {seg.start}, the server sent {start}-{end}; starting over",
            ranges_broken=True,
        )
    # A shorter answer is legal (RFC 9110 §14.2 lets a server send less than asked) and is
    # progress: the body ends at ``short_end`` without an error and the next request asks
    # for the rest, without spending the attempt budget.
    want_end = seg.end if seg.end is not None else total
    seg.short_end = end + 1 if end + 1 < want_end else None
    return total


def check_full(
    task: FileTask, seg: Segment, response: requests.Response, *, asked_range: bool
) -> int | None:
    """Check a 200: usable only from byte 0 of a file with nothing written yet.

    A 200 to ``bytes=0-`` shows the server ignores Range: later drops restart at once
    instead of asking again, and a planned split is dropped.
    """
    if seg.start > 0 or task.part.done() > 0:
        # Never append a full body to a partial file (the sentinelsat/landsatxplore bug):
        # the file changed (If-Range failed) or the server ignores Range.
        same = _same_version(task, response)
        raise RestartNeeded(
            "the server sent the whole file to a range request; starting over",
            ranges_broken=same,
        )
    if asked_range:
        seg.end = None  # the whole body comes, whatever range was planned (the coordinator
        # learns from the report that Range is not honoured)
    length = response.headers.get("Content-Length")
    return int(length) if length is not None and length.isdigit() else None


def check_validators(task: FileTask, response: requests.Response) -> None:
    """Restart if the response's ETag/Last-Modified differ from the stored ones."""
    if task.part.done() > 0 and not _same_version(task, response):
        raise RestartNeeded("the file changed on the server; starting over")


def _same_version(task: FileTask, response: requests.Response) -> bool:
    """Compare validators, ETag first; unknown on either side counts as the same."""
    journal = task.part.journal
    etag = response.headers.get("ETag")
    if journal.etag is not None and etag is not None:
        return journal.etag == etag
    modified = response.headers.get("Last-Modified")
    if journal.last_modified is not None and modified is not None:
        return journal.last_modified == modified
    return True


def check_totals(task: FileTask, total: int | None) -> None:
    """The server's total must match the stored and the expected size."""
    known = task.part.total
    if total is not None and known is not None and total != known:
        raise RestartNeeded(f"the file size changed from {known} to {total}; starting over")
    expected = task.job.expected_size
    if total is not None and expected is not None and total != expected:
        raise IntegrityError(f"the server's size {total} differs from the expected {expected}")


def confirm_complete(task: FileTask, seg: Segment, response: requests.Response) -> None:
    """Handle a 416: done if the server's size equals what we hold, else restart."""
    try:
        total = parse_unsatisfied_range(response.headers.get("Content-Range", ""))
    except HeaderError as exc:
        raise RestartNeeded(f"416 with {exc.message}; starting over") from exc
    part = task.part
    held = seg.end is None and seg.start == total and part.done() == total
    if held and part.total in (None, total):
        part.set_total(total)
        seg.end = total
        return
    raise RestartNeeded(f"the server cannot serve bytes from {seg.start} (416); starting over")


def read_body(
    task: FileTask, seg: Segment, response: requests.Response, reporter: Reporter
) -> None:
    """Write the body at ``seg.start`` onwards until the segment ends or the body does.

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
                _end_of_body(task, seg, watch)
                return
            nbytes = len(data)
            check_overflow(task, seg, nbytes)
            offset, keep = seg.claim(nbytes)  # fewer when the coordinator cut the segment
            if keep:
                task.part.write(offset, data if keep == nbytes else data[:keep])
                task.received(keep)
            watch.add(nbytes)
            throttle(task, nbytes)
            meter.add(nbytes)


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


def _end_of_body(task: FileTask, seg: Segment, watch: Watch) -> None:
    """The body ended: fine for a close-delimited body, otherwise a broken transfer."""
    if watch.reason is not None:
        raise task.cancel_error(watch.reason)
    if seg.short_end is not None and seg.start >= seg.short_end:
        seg.short_end = None  # a shorter 206 ended where its Content-Range said
        return
    if seg.end is not None:
        raise ConnectionProblem(f"connection closed at byte {seg.start} of {seg.end}")
    seg.eof = True


def check_overflow(task: FileTask, seg: Segment, nbytes: int) -> None:
    """A body of unknown length must not grow past the expected size."""
    expected = task.job.expected_size
    if seg.end is None and expected is not None and seg.start + nbytes > expected:
        raise IntegrityError(f"the server sent more than the expected {expected} bytes")


def finish_open_ended(task: FileTask, seg: Segment) -> None:
    """A body without Content-Length ended: take its length as the size, if plausible."""
    expected = task.job.expected_size
    if expected is not None and seg.start < expected:
        seg.eof = False  # a close-delimited body cannot tell a drop from the end: resume
        raise ConnectionProblem(f"the body ended at byte {seg.start} of {expected}")
    task.part.set_total(seg.start)
    seg.end = seg.start


def describe_request_error(exc: requests.RequestException) -> str:
    """One line for a failed request, without the URL's query string."""
    kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
    return redact_url(f"{kind}: {exc}", limit=ERROR_LIMIT)
