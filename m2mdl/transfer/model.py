"""The public data types of the transfer engine: jobs, results, options and the progress sink.

Nothing here does I/O. ``run_transfers`` (in ``engine.py``) consumes these types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .tarscan import TarContents

#: The content kinds whose leading bytes ("magic") the engine knows how to check.
KINDS = frozenset({"tar", "tiff", "text"})

#: Longest ``FileResult.error`` (and retry message), in characters: one line in a table.
ERROR_LIMIT = 300

#: Values of ``FileResult.error_kind``.
ERROR_KINDS = frozenset(
    {
        "network",
        "http",
        "integrity",
        "checksum_mismatch",
        "disk_full",
        "deadline",
        "interrupted",
        "refresh",
        "io",
    }
)


@dataclass(frozen=True)
class MemberVerdict:
    """The caller's judgement of a tar's members (see ``FileJob.check_members``).

    Attributes:
        checked: member name -> a label saying what it was compared with (the caller's
            vocabulary; the engine only records it).
        mismatched: members whose digest differs from the one the caller expected. Any
            entry makes the file a checksum mismatch (refetched, then kept aside).
        missing: why the tar cannot be checked at all, or None (a tar that ended early or
            has a damaged header is an integrity failure before this is asked).
    """

    checked: dict[str, str]
    mismatched: tuple[str, ...] = ()
    missing: str | None = None


#: Called before a tar is published with what the in-order hash pass found in it.
MemberCheck = Callable[[TarContents], MemberVerdict]


@dataclass
class FileJob:
    """One file to download.

    Attributes:
        key: the caller's opaque id, echoed in sink events and in the result.
        url: where to GET the file. Its query string (often a token) never appears in errors,
            events or the journal.
        dest: the final path; the caller has already made it safe (see ``safe_join``).
            ``dest.part`` and ``dest.part.json`` are written beside it.
        expected_size: the size the caller expects (M2M ``filesize``), checked before
            publishing, or None.
        kind: "tar", "tiff", "text" or None: which leading bytes to check before publishing.
        refresh_url: called (from a worker thread) after a 401/403/410 or an error page where
            the file was expected; returns a fresh URL. It may raise; the file then fails with
            error_kind "refresh".
        expected_sha512: the hex SHA-512 the finished file must have, or None. A file that
            differs is never published: it is fetched again from zero (at most
            ``MAX_FULL_DOWNLOADS`` complete downloads); when two complete downloads give the
            same bytes and both differ, the expected digest is taken to be wrong or stale,
            the bytes are kept as ``NAME.checksum-mismatch`` and the file fails with
            error_kind "checksum_mismatch".
        check_members: for a tar: called before publishing with each member's SHA-512 (and
            the bytes of small JSON members), all computed in the one in-order hash pass.
            A verdict with mismatched members is handled like a wrong ``expected_sha512``.
            Without ``expected_sha512`` the tar's result then carries its tree digest
            (``tree_digest``), not its SHA-512: each byte is hashed once.
    """

    key: str
    url: str
    dest: Path
    expected_size: int | None = None
    kind: str | None = None
    refresh_url: Callable[[], str] | None = None
    expected_sha512: str | None = None
    check_members: MemberCheck | None = None

    @property
    def tree_digest(self) -> bool:
        """True when this job's ``FileResult.sha512`` is the tar's tree digest
        (``tarscan.py``), not the SHA-512 of the file: a tar whose members are checked and
        whose own SHA-512 is not expected (``PartFile.publish``)."""
        return self.check_members is not None and self.expected_sha512 is None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.expected_size is not None and self.expected_size < 0:
            raise ValueError("expected_size must not be negative")


@dataclass(frozen=True)
class FileResult:
    """What happened to one ``FileJob``.

    Attributes:
        key: the job's key.
        dest: the job's final path (it exists only when ``ok``).
        ok: True when the verified file was published at ``dest``.
        size: the final size when ok, else the bytes safely on disk in ``dest.part``.
        sha512: hex SHA-512 of the published file (or of the bytes kept aside after a
            checksum mismatch), or None; for a job whose ``tree_digest`` is True, the tar's
            tree digest instead (``tarscan.py``).
        checksum_checked: True when ``sha512`` was compared with ``expected_sha512`` and
            matched.
        members: for a tar with ``check_members``: the verdict's labels per member.
        members_sha512: for a tar with ``check_members``: each regular member's SHA-512.
        attempts: HTTP requests made for this file in this run (all segments).
        bytes_received: body bytes received over the network in this run, including bytes that
            had to be thrown away (so ``bytes_received - size`` is the waste).
        error: one line without secrets or URL query strings (at most ``ERROR_LIMIT``
            characters), or None when ok.
        error_kind: one of "network", "http", "integrity", "disk_full", "deadline",
            "interrupted", "refresh", "checksum_mismatch", "io" (a local write error other
            than a full disk: EIO, EACCES, EROFS...), or None when ok.
    """

    key: str
    dest: Path
    ok: bool
    size: int
    sha512: str | None
    attempts: int
    bytes_received: int
    error: str | None
    error_kind: str | None
    checksum_checked: bool = False
    members: dict[str, str] | None = None
    members_sha512: dict[str, str] | None = None


class ProgressSink(Protocol):
    """Receives progress events. Called from worker threads, so implementations must lock.

    Per file the order is: ``file_started`` (again whenever the file restarts from byte 0,
    with ``done`` = 0), any number of ``file_advanced``/``file_retrying``, then exactly one
    ``file_finished``. ``file_advanced`` is coalesced to about 10 calls per second per stream.
    """

    def file_started(self, key: str, name: str, total: int | None, done: int) -> None:
        """A file begins (or restarts); ``done`` bytes are already on disk."""

    def file_advanced(self, key: str, nbytes: int) -> None:
        """``nbytes`` more bytes were written to the file."""

    def file_retrying(self, key: str, attempt: int, reason: str, delay: float) -> None:
        """Attempt ``attempt`` failed for ``reason``; the next starts in ``delay`` seconds."""

    def file_finished(self, result: FileResult) -> None:
        """The file is done, successfully or not."""


class NullSink:
    """A ``ProgressSink`` that ignores every event (for --quiet and tests)."""

    def file_started(self, key: str, name: str, total: int | None, done: int) -> None:
        """Ignore the event."""

    def file_advanced(self, key: str, nbytes: int) -> None:
        """Ignore the event."""

    def file_retrying(self, key: str, attempt: int, reason: str, delay: float) -> None:
        """Ignore the event."""

    def file_finished(self, result: FileResult) -> None:
        """Ignore the event."""


@dataclass(frozen=True)
class TransferOptions:
    """Tuning knobs. The defaults follow docs/design.md §Transfer engine: engine defaults (4
    connections, 1 MiB chunks, ...).

    Attributes:
        workers: HTTP connections in all, across files and segments.
        segments: Range segments (connections) per file at most; a file is split only
            when connections are idle (see ``split_after``). 1: never split.
        segment_min_size: files smaller than this are never split.
        chunk_size: the largest read (and write) in bytes; segments are at least 4 chunks.
        journal_interval: at most this many written bytes per file are ever missing from
            the journal on disk (so a kill -9 re-sends at most about this much per file).
            A helper thread fsyncs the data and rewrites the journal after every half
            interval (``partfile.py``), so 16 MiB flushes every 8 MiB, as often as an
            8 MiB interval flushed inline would. Measured, 1 GiB in one stream from nginx on
            loopback, 6 interleaved rounds: flushing every 4 MiB (8 MiB interval) 0.66x
            curl, every 8 MiB 0.80x, every 16 MiB 0.81x: below 8 MiB the fsync + journal
            rewrite (7-10 ms each) no longer keeps up with the stream.
        max_attempts: failed attempts allowed per file without forward progress.
        backoff_base: first backoff ceiling in seconds (full jitter: uniform(0, ceiling)).
        backoff_cap: the backoff ceiling never exceeds this.
        retry_after_cap: a server's Retry-After is honoured up to this many seconds.
        connect_timeout: seconds to connect.
        read_timeout: seconds of silence allowed while waiting for headers or body bytes.
        stall_bytes: fewer than this many bytes within ``stall_seconds`` is a stall ...
        stall_seconds: ... and the connection is aborted and resumed.
        deadline: a ``time.monotonic()`` value after which no attempt starts and running
            ones stop; unfinished files fail with error_kind "deadline". None: no deadline.
        verify_tls: verify TLS certificates.
        user_agent: the User-Agent header sent with every request.
        adaptive_successes: successful responses needed to raise the connection limit by one
            after it was lowered by a 503/429.
        limit_rate: a cap on the total download rate of the run in bytes per second, over
            all connections (a token bucket shared by every stream, ``ratelimit.py``), or
            None for no cap.
        split_after: a file that streams on one connection is split into segments (up to
            ``segments``) when connections are idle and its remaining bytes, at the rate
            its stream has shown, would take longer than this many seconds; so a fast link
            is never split and a capped one is (``segmented.py``). 0 splits a file of known
            size before its first request, as soon as connections are spare.
    """

    workers: int = 4
    segments: int = 4
    segment_min_size: int = 32 * 2**20
    chunk_size: int = 2**20
    journal_interval: int = 16 * 2**20
    max_attempts: int = 8
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    retry_after_cap: float = 300.0
    connect_timeout: float = 20.0
    read_timeout: float = 60.0
    stall_bytes: int = 64 * 1024
    stall_seconds: float = 60.0
    deadline: float | None = None
    verify_tls: bool = True
    user_agent: str = "m2mdl"
    adaptive_successes: int = 8
    limit_rate: int | None = None
    split_after: float = 3.0

    def __post_init__(self) -> None:
        positive = {
            "workers": self.workers,
            "segments": self.segments,
            "chunk_size": self.chunk_size,
            "journal_interval": self.journal_interval,
            "max_attempts": self.max_attempts,
            "adaptive_successes": self.adaptive_successes,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"TransferOptions.{name} must be at least 1, got {value}")
        if min(self.backoff_base, self.backoff_cap, self.retry_after_cap) < 0:
            raise ValueError("TransferOptions backoff values must not be negative")
        if self.limit_rate is not None and self.limit_rate < 1:
            raise ValueError(
                f"TransferOptions.limit_rate must be at least 1, got {self.limit_rate}"
            )
        if self.split_after < 0:
            raise ValueError("TransferOptions.split_after must not be negative")
        if min(self.connect_timeout, self.read_timeout, self.stall_seconds) <= 0:
            raise ValueError("TransferOptions timeouts must be positive")
