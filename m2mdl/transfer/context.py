"""Shared state of one ``run_transfers`` call: options, sink, stop, limiter, sessions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests

from .model import ProgressSink, TransferOptions
from .ratelimit import TokenBucket
from .retry import AdaptiveLimiter
from .watchdog import Watchdog

STOPPED = "stopped"
DISK_FULL = "disk_full"
DEADLINE = "deadline"
CANCELLED = "cancelled"


class SessionPool:
    """One ``requests.Session`` per thread (Session is not thread-safe), closed at the end."""

    def __init__(self, factory: Callable[[], requests.Session] | None) -> None:
        self._factory = factory or requests.Session
        self._local = threading.local()
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()

    def get(self) -> requests.Session:
        """Return this thread's session, creating it on first use."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._factory()
            self._local.session = session
            with self._lock:
                self._all.append(session)
        return session

    def close_current(self) -> None:
        """Close this thread's session (a connection's own, as its lane ends): its idle
        keep-alive connection would otherwise count against USGS's connection limit."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            return
        self._local.session = None
        with self._lock:
            self._all.remove(session)
        session.close()

    def close_all(self) -> None:
        """Close every session made."""
        with self._lock:
            sessions, self._all = self._all, []
        for session in sessions:
            session.close()


class RunContext:
    """What every file task of one run shares."""

    def __init__(
        self,
        options: TransferOptions,
        sink: ProgressSink,
        stop: threading.Event,
        session_factory: Callable[[], requests.Session] | None,
        n_files: int,
    ) -> None:
        self.options = options
        self.sink = sink
        self.stop = stop
        self.limiter = AdaptiveLimiter(options.workers, options.adaptive_successes)
        self.watchdog = Watchdog(options.stall_bytes, options.stall_seconds)
        self.disk_full = threading.Event()  # fail fast: one full disk stops every file
        self.crashed = threading.Event()  # a bug in one thread stops the others
        self.sessions = SessionPool(session_factory)
        self.bucket = TokenBucket(options.limit_rate) if options.limit_rate else None
        self._unfinished = n_files
        self._file_threads = min(options.workers, n_files)  # the engine's pool size
        self._lock = threading.Lock()

    def run_reason(self) -> str | None:
        """Why every transfer must stop now, or None."""
        if self.stop.is_set() or self.crashed.is_set():
            return STOPPED
        if self.disk_full.is_set():
            return DISK_FULL
        if self.deadline_passed():
            return DEADLINE
        return None

    def deadline_passed(self) -> bool:
        """True once the global deadline (a monotonic time) is reached."""
        deadline = self.options.deadline
        return deadline is not None and time.monotonic() >= deadline

    def file_finished(self) -> None:
        """Count a finished file (used to share connections between files and segments)."""
        with self._lock:
            self._unfinished -= 1

    def unfinished(self) -> int:
        """Files not finished yet, running or queued."""
        with self._lock:
            return self._unfinished

    def idle_connections(self) -> int:
        """Connections free now that no queued file will take: what a split may use.

        Each of the pool's file threads takes the next queued file as soon as it is free,
        so files waiting for a thread will each want a slot first (files before segments).
        """
        with self._lock:
            queued = max(0, self._unfinished - self._file_threads)
        return max(0, self.limiter.idle() - queued)

    def close(self) -> None:
        """Stop the watchdog and close the sessions."""
        self.watchdog.close()
        self.sessions.close_all()
