"""``run_transfers``: runs each file's coordinator in a worker thread and collects the results."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import requests

from .context import RunContext
from .coordinator import Coordinator
from .errors import NoSpace, TransferError, TransferInterrupted
from .filerun import not_started
from .model import FileJob, FileResult, ProgressSink, TransferOptions
from .partfile import PartFile
from .task import FileTask, reason_error


def run_transfers(
    jobs: Sequence[FileJob],
    options: TransferOptions,
    sink: ProgressSink,
    *,
    stop: threading.Event | None = None,
    session_factory: Callable[[], requests.Session] | None = None,
) -> list[FileResult]:
    """Download, verify and publish every job; return one result per job, in job order.

    Up to ``options.workers`` files run at once, each in its own thread; when files are
    fewer than connections, large files are split into Range segments. Every HTTP request
    holds one slot of an adaptive limit that starts at ``workers``. The sink is called from
    worker threads, so it must be thread-safe.

    A file's failure becomes a failed ``FileResult``; this function does not raise for it.
    When the first file hits a full disk, the others stop too and fail with "disk_full".

    Args:
        jobs: the files; two jobs must not share a ``dest``.
        options: tuning knobs.
        sink: receives progress events (from worker threads).
        stop: set it (e.g. from a SIGINT/SIGTERM handler) to stop: every stream flushes its
            data and journal and returns; the engine installs no signal handler itself.
        session_factory: makes one ``requests.Session`` per thread (default: a plain
            Session). Its sessions should not retry by themselves (no urllib3 ``Retry`` on
            status codes), or 503s bypass the engine's backoff and adaptive limit.

    Returns:
        One ``FileResult`` per job, in job order.

    Raises:
        TransferInterrupted: (an ``Interrupted``) when ``stop`` was set before every file
            finished; its ``results`` holds every file's result.
        ValueError: two jobs share a destination.
    """
    destinations = [job.dest.absolute() for job in jobs]
    if len(set(destinations)) != len(destinations):
        raise ValueError("two jobs have the same destination")
    run = RunContext(options, sink, stop or threading.Event(), session_factory, len(jobs))
    try:
        results = _run_all(run, jobs)
    finally:
        run.close()
    if any(result.error_kind == "interrupted" for result in results):
        raise TransferInterrupted(results)
    return results


def _run_all(run: RunContext, jobs: Sequence[FileJob]) -> list[FileResult]:
    if not jobs:
        return []
    workers = min(run.options.workers, len(jobs))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="m2mdl-file") as pool:
        futures = [pool.submit(_guarded, run, job) for job in jobs]
        return [future.result() for future in futures]


def _guarded(run: RunContext, job: FileJob) -> FileResult:
    """Run one file; a bug stops the other files (they flush) before it propagates."""
    try:
        return run_file(run, job)
    except BaseException:
        run.crashed.set()
        raise


def run_file(run: RunContext, job: FileJob) -> FileResult:
    """Download, verify and publish one file; report it to the sink; never raise for it.

    Programming errors propagate.
    """
    try:
        result = _run_file(run, job)
    finally:
        run.file_finished()
    run.sink.file_finished(result)
    return result


def _run_file(run: RunContext, job: FileJob) -> FileResult:
    """Open the partial file and let the file's coordinator take it to its result."""
    reason = run.run_reason()
    if reason is not None:  # stopped, disk full or deadline before this file began
        return not_started(job, reason_error(reason, run.options))
    try:
        part = PartFile.open(
            job.dest,
            job.url,
            job.expected_size,
            run.options.journal_interval,
            scan_tar=job.check_members is not None,
        )
    except TransferError as exc:
        if isinstance(exc, NoSpace):
            run.disk_full.set()
        return not_started(job, exc)
    try:
        return Coordinator(FileTask(run, job, part)).run()
    finally:
        part.close()
