"""What a request asks and what its response means for the file: the coordinator's side.

A connection (``lane.py``) sends the request the coordinator built (``request_headers``),
reports the response's status and headers (``Heard``) and waits for the decision
(``Verdict``) before it reads a byte of the body; at the end of a body of unknown length it
reports that too (``body_ended``). Every check here compares the response with the file's
state, and every change it implies (size, validators, preallocation, where the segment ends)
is made in the coordinator's thread (``coordinator.py``), so connections only move bytes
(docs/design.md §Transfer engine: file coordinator and ordered pieces).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from m2mdl.util.net import parse_retry_after

from . import checks
from .errors import (
    ConnectionProblem,
    FatalHttp,
    HeaderError,
    HttpStatusError,
    IntegrityError,
    RestartNeeded,
    TransferError,
)
from .http_parse import parse_content_range, parse_unsatisfied_range
from .task import FileTask, Segment


@dataclass(frozen=True)
class Heard:
    """The status line and headers of one response, as its connection received them.

    Attributes:
        status: the HTTP status code.
        reason: the status line's reason phrase ("" when the server sent none).
        headers: the response's headers; names are looked up case-insensitively
            (a copy of requests' ``CaseInsensitiveDict``).
        asked_range: the request carried a Range header.
    """

    status: int
    reason: str
    headers: Mapping[str, str]
    asked_range: bool


@dataclass(frozen=True)
class Verdict:
    """The coordinator's decision about a response, sent back to its connection.

    Attributes:
        read: read the body into the segment (False: nothing is left to read there).
        body_end: where the body ends when the server sent less than asked (a shorter
            206, ``check_partial``), else None: at the segment's end or the body's.
        error: the request failed; the connection raises this and reports the end.
    """

    read: bool
    body_end: int | None = None
    error: TransferError | None = None


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


def judge(task: FileTask, seg: Segment, heard: Heard) -> Verdict:
    """Decide about the response a connection received for ``seg`` (``accept_response``)."""
    try:
        read = accept_response(task, seg, heard)
    except TransferError as exc:
        return Verdict(read=False, error=exc)
    return Verdict(read=read, body_end=seg.short_end)


def accept_response(task: FileTask, seg: Segment, heard: Heard) -> bool:
    """Check status and headers; adopt size and validators. False: nothing left to read.

    Raises:
        TransferError: the response cannot be used (see the subclasses).
    """
    status, headers = heard.status, heard.headers
    seg.short_end = None
    if status == 416:
        confirm_complete(task, seg, heard)
        return False
    if not 200 <= status <= 299:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        raise HttpStatusError(status, heard.reason, retry_after=retry_after)
    checks.check_content_type(headers.get("Content-Type"), task.job.dest.name)
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise FatalHttp(f"the server compressed the file (Content-Encoding {encoding})")
    if status == 206 and heard.asked_range:
        total = check_partial(seg, heard)
    else:
        total = check_full(task, seg, heard)
    check_validators(task, heard)
    check_totals(task, total)
    task.part.adopt(total, headers.get("ETag"), headers.get("Last-Modified"))
    if seg.end is None and task.part.total is not None:
        seg.end = task.part.total
    return not seg.finished()


def check_partial(seg: Segment, heard: Heard) -> int | None:
    """Check a 206's Content-Range against what was asked; return the total it names."""
    try:
        start, end, total = parse_content_range(heard.headers.get("Content-Range", ""))
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


def check_full(task: FileTask, seg: Segment, heard: Heard) -> int | None:
    """Check a 200: usable only from byte 0 of a file with nothing written yet.

    A 200 to ``bytes=0-`` shows the server ignores Range: later drops restart at once
    instead of asking again, and a planned split is dropped.
    """
    if seg.start > 0 or task.part.done() > 0:
        # Never append a full body to a partial file (the sentinelsat/landsatxplore bug):
        # the file changed (If-Range failed) or the server ignores Range.
        same = _same_version(task, heard)
        raise RestartNeeded(
            "the server sent the whole file to a range request; starting over",
            ranges_broken=same,
        )
    if heard.asked_range:
        seg.end = None  # the whole body comes, whatever range was planned (the coordinator
        # marks Range as not honoured once the body is to be read)
    length = heard.headers.get("Content-Length")
    return int(length) if length is not None and length.isdigit() else None


def check_validators(task: FileTask, heard: Heard) -> None:
    """Restart if the response's ETag/Last-Modified differ from the stored ones."""
    if task.part.done() > 0 and not _same_version(task, heard):
        raise RestartNeeded("the file changed on the server; starting over")


def _same_version(task: FileTask, heard: Heard) -> bool:
    """Compare validators, ETag first; unknown on either side counts as the same."""
    journal = task.part.journal
    etag = heard.headers.get("ETag")
    if journal.etag is not None and etag is not None:
        return journal.etag == etag
    modified = heard.headers.get("Last-Modified")
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


def confirm_complete(task: FileTask, seg: Segment, heard: Heard) -> None:
    """Handle a 416: done if the server's size equals what we hold, else restart."""
    try:
        total = parse_unsatisfied_range(heard.headers.get("Content-Range", ""))
    except HeaderError as exc:
        raise RestartNeeded(f"416 with {exc.message}; starting over") from exc
    part = task.part
    held = seg.end is None and seg.start == total and part.done() == total
    if held and part.total in (None, total):
        part.set_total(total)
        seg.end = total
        return
    raise RestartNeeded(f"the server cannot serve bytes from {seg.start} (416); starting over")


def body_ended(task: FileTask, seg: Segment) -> None:
    """A body without Content-Length ended at ``seg.start``: take that as the file's size,
    if plausible.

    Raises:
        ConnectionProblem: the expected size is larger (a close-delimited body cannot tell
            a drop from the end: resume).
    """
    expected = task.job.expected_size
    if expected is not None and seg.start < expected:
        raise ConnectionProblem(f"the body ended at byte {seg.start} of {expected}")
    task.part.set_total(seg.start)
    seg.end = seg.start
