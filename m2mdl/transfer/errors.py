"""Exceptions of the transfer engine.

They subclass ``m2mdl.errors`` classes so that anything escaping to the CLI still maps to the
right exit code. Most of them never leave the engine: a file's failure becomes a
``FileResult`` whose ``error_kind`` is the exception's ``kind``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from m2mdl.errors import DiskFull, DownloadError, Interrupted

if TYPE_CHECKING:  # naming (and so the directory lock) imports this module: keep it light
    from .model import FileResult


class TransferError(DownloadError):
    """A failed attempt (or file) with the facts the retry loop needs.

    Attributes:
        kind: the ``FileResult.error_kind`` this becomes if the file finally fails.
        retryable: another attempt may succeed.
        refreshable: a fresh URL (``FileJob.refresh_url``) may help.
        retry_after: the server's Retry-After in seconds (already capped), or None.
        throttled: the server asked us to slow down (429/503): lower the connection limit.
    """

    kind = "network"
    retryable = True
    refreshable = False

    def __init__(
        self, message: str, *, retry_after: float | None = None, throttled: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.throttled = throttled


class ConnectionProblem(TransferError):
    """Connecting, a timeout, a mid-stream break or a stall: resume after a backoff."""


class HttpStatusError(TransferError):
    """An HTTP status we cannot use. Retryable for 408/429/5xx; refreshable for 401/403/410."""

    kind = "http"

    def __init__(self, status: int, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(
            f"HTTP {status} {reason}".rstrip(),
            retry_after=retry_after,
            throttled=status in (429, 503),
        )
        self.status = status
        self.retryable = status in (408, 429) or 500 <= status <= 599
        self.refreshable = status in (401, 403, 410)


class ErrorPage(TransferError):
    """An HTML or JSON page arrived where the file was expected (docs/design.md §Transfer engine:
    peer behaviour under faults; all three CLIs saved such pages and exited 0). Retry, after
    refreshing the URL when possible."""

    kind = "http"
    refreshable = True


class FatalHttp(TransferError):
    """A response no retry will fix (e.g. a Content-Encoding we did not ask for)."""

    kind = "http"
    retryable = False


class IntegrityError(TransferError):
    """The bytes are not what was expected: wrong size, magic or checksum."""

    kind = "integrity"
    retryable = False


class ChecksumMismatch(IntegrityError):
    """A complete file's SHA-512 (or a tar member's) differs from the expected one.

    Attributes:
        digest: the SHA-512 of the whole file that was checked, to tell whether two
            downloads gave the same bytes.
    """

    kind = "checksum_mismatch"

    def __init__(self, message: str, digest: str) -> None:
        super().__init__(message)
        self.digest = digest


def digest_difference(got: str, expected: str, width: int = 16) -> str:
    """``got`` and ``expected`` shortened to ``width`` hex digits from where they first differ
    (``SHA-512 …a41c… differs from the expected …a41d…``): two digests that share their first
    digits must not read as equal in a one-line message."""
    got, expected = got.lower(), expected.lower()
    at = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), 0)
    start = max(0, min(at - width // 2, len(got) - width))

    def part(text: str) -> str:
        end = start + width
        return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")

    return f"SHA-512 {part(got)} differs from the expected {part(expected)}"


class RefreshFailed(TransferError):
    """``FileJob.refresh_url`` raised or there was none to call."""

    kind = "refresh"
    retryable = False


class RestartNeeded(TransferError):
    """The partial file cannot be continued: truncate it and start again from byte 0.

    Raised for a 200 answer to a Range request, changed validators or total size, a 416 that
    does not confirm a complete file, and a Content-Range that starts elsewhere.

    Attributes:
        ranges_broken: the server mishandles Range requests; use a single plain stream.
    """

    kind = "http"

    def __init__(self, message: str, *, ranges_broken: bool = False) -> None:
        super().__init__(message)
        self.ranges_broken = ranges_broken


class DeadlineReached(TransferError):
    """The run's global deadline passed."""

    kind = "deadline"
    retryable = False


class Stopped(TransferError):
    """The caller's stop event was set (SIGINT/SIGTERM)."""

    kind = "interrupted"
    retryable = False


class Cancelled(TransferError):
    """Another segment of the same file failed, so this one stops too."""

    retryable = False


class NoSpace(TransferError, DiskFull):
    """The disk (or quota) is full. Fails this file and, fail-fast, every other file."""

    kind = "disk_full"
    retryable = False


class LocalIOError(TransferError):
    """Writing the local file failed for a reason other than space (EIO, EACCES, EROFS...)."""

    kind = "io"
    retryable = False


class HeaderError(DownloadError):
    """A response header is malformed (e.g. Content-Range)."""


class UnsafeFileName(DownloadError):
    """A server-provided file name leaves nothing usable after sanitizing."""


class TransferInterrupted(Interrupted):
    """``run_transfers`` stopped because the caller's stop event was set.

    Attributes:
        results: a result per job, in job order; unfinished files have error_kind
            "interrupted" and their ``.part`` and journal are flushed for the next run.
    """

    def __init__(self, results: list[FileResult]) -> None:
        unfinished = sum(1 for result in results if not result.ok)
        super().__init__(f"interrupted; {unfinished} file(s) not finished, progress kept")
        self.results = results
