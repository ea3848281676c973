"""How one fetch of a file ends: publish, refetch after a checksum mismatch, restart from
zero, or fail; and the file's ``FileResult``.

The file's coordinator (``coordinator.py``) decides which of these applies and calls them in
its thread; each returns the file's result, or None when the file is fetched again.
"""

from __future__ import annotations

import dataclasses

from m2mdl.util.net import backoff_delay, redact_url

from .errors import (
    ChecksumMismatch,
    ConnectionProblem,
    IntegrityError,
    NoSpace,
    RestartNeeded,
    Stopped,
    TransferError,
)
from .journal import load_journal
from .model import ERROR_LIMIT, FileJob, FileResult
from .naming import journal_path
from .ranges import covered
from .task import FileTask

#: Complete downloads of one file allowed per run when its checksum keeps differing.
MAX_FULL_DOWNLOADS = 3
#: Suffix of a file whose bytes came twice the same and differ from the expected digest.
MISMATCH_SUFFIX = ".checksum-mismatch"


def publish(task: FileTask) -> FileResult:
    """Check the complete file and move it to its final name; the successful result.

    Raises:
        ChecksumMismatch: the file or a member differs from its expected digest.
        TransferError: another check failed, or the file system did.
    """
    job, part = task.job, task.part
    if not part.complete():  # defensive: keep the data, let the next run resume
        raise ConnectionProblem("the transfer ended before the file was complete")
    size, digest, verdict = part.publish(
        expected_size=job.expected_size,
        kind=job.kind,
        expected_sha512=job.expected_sha512,
        check_members=job.check_members,
    )
    task.flush_progress()
    result = _result(task, ok=True, size=size, sha512=digest)
    checked = job.expected_sha512 is not None
    if verdict is None:
        return dataclasses.replace(result, checksum_checked=checked)
    return dataclasses.replace(
        result,
        checksum_checked=checked,
        members=dict(verdict.checked),
        members_sha512=part.member_digests(),
    )


def mismatch(task: FileTask, exc: ChecksumMismatch) -> FileResult | None:
    """A complete file differs from its expected digest: fetch it again from zero, or stop.

    Two complete downloads with the same bytes that both differ mean the expected digest
    is wrong (stale metadata), not the transfer: the bytes are kept aside under
    ``NAME.checksum-mismatch`` and the file fails. Different bytes each time (a flaky path)
    are retried up to ``MAX_FULL_DOWNLOADS`` complete downloads, then discarded.
    """
    seen = task.mismatches
    repeated = exc.digest in seen
    seen.append(exc.digest)
    if repeated:
        try:
            aside = task.part.keep_aside(MISMATCH_SUFFIX)
        except TransferError as error:
            return fail(task, error)
        message = (
            f"{exc.message}: {len(seen)} downloads gave the same bytes, so the published"
            f" checksum may be stale; the bytes are kept as {aside.name}"
        )
        return _result(task, ok=False, size=0, sha512=exc.digest, error=message, kind=exc.kind)
    if len(seen) >= MAX_FULL_DOWNLOADS:
        message = f"{exc.message} in {len(seen)} downloads, each with different bytes"
        return fail(task, IntegrityError(message))
    task.run.sink.file_retrying(task.job.key, task.attempts, exc.message, 0.0)
    task.flush_progress(drop=True)
    try:
        task.part.reset()
    except TransferError as error:
        return fail(task, error)
    task.run.sink.file_started(task.job.key, task.job.dest.name, task.job.expected_size, 0)
    return None


def restart(task: FileTask, exc: RestartNeeded) -> FileResult | None:
    """Truncate and start over (counts against the budget); a result if the budget is spent."""
    allowed, failures = task.budget.spend(task.part.done())
    if not allowed:
        return fail(
            task, exc.with_message(f"{exc.message} (gave up after {task.attempts} attempts)")
        )
    if exc.ranges_broken:
        task.ranges.ignored()
    task.flush_progress(drop=True)
    delay = 0.0
    if failures > 1:  # a file that keeps changing: back off like any other failure
        opts = task.options
        delay = backoff_delay(failures - 1, base=opts.backoff_base, cap=opts.backoff_cap)
    task.run.sink.file_retrying(task.job.key, task.attempts, exc.message, delay)
    try:
        task.part.reset()
    except TransferError as error:
        return fail(task, error)
    task.run.sink.file_started(task.job.key, task.job.dest.name, task.job.expected_size, 0)
    task.sleep(delay)
    return None


def fail(task: FileTask, exc: TransferError) -> FileResult:
    """Keep what is durable (or discard a file that failed its checks) and build the result."""
    task.flush_progress()
    if isinstance(exc, NoSpace):
        task.run.disk_full.set()  # fail fast: the other files stop too (they share the disk)
    if isinstance(exc, IntegrityError):
        task.part.discard()
    else:
        try:
            task.part.flush()  # a no-op after a disk-full error: the journal stays consistent
        except TransferError as error:
            if isinstance(error, NoSpace):
                task.run.disk_full.set()
    message = exc.message if not isinstance(exc, Stopped) else "interrupted"
    return _result(task, ok=False, size=task.part.durable(), error=message, kind=exc.kind)


def _result(
    task: FileTask,
    *,
    ok: bool,
    size: int,
    sha512: str | None = None,
    error: str | None = None,
    kind: str | None = None,
) -> FileResult:
    return FileResult(
        key=task.job.key,
        dest=task.job.dest,
        ok=ok,
        size=size,
        sha512=sha512,
        attempts=task.attempts,
        bytes_received=task.bytes_received,
        error=redact_url(error, limit=ERROR_LIMIT) if error is not None else None,
        error_kind=kind,
    )


def not_started(job: FileJob, exc: TransferError) -> FileResult:
    journal = load_journal(journal_path(job.dest))
    return FileResult(
        key=job.key,
        dest=job.dest,
        ok=False,
        size=covered(journal.ranges) if journal is not None else 0,
        sha512=None,
        attempts=0,
        bytes_received=0,
        error=redact_url(
            exc.message if not isinstance(exc, Stopped) else "interrupted", limit=ERROR_LIMIT
        ),
        error_kind=exc.kind,
    )
