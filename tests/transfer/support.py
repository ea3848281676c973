"""Helpers shared by the engine tests: a recording sink and post-run assertions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from m2mdl.transfer import FileResult


class RecordingSink:
    """A thread-safe ``ProgressSink`` that records events and can act at a byte count."""

    def __init__(self, at_bytes: int | None = None, action: Callable[[], None] | None = None):
        self.started: list[tuple[str, str, int | None, int]] = []
        self.retries: list[tuple[str, int, str, float]] = []
        self.advanced = 0
        self.finished: list[FileResult] = []
        self._at = at_bytes
        self._action = action
        self._lock = threading.Lock()

    def file_started(self, key: str, name: str, total: int | None, done: int) -> None:
        with self._lock:
            self.started.append((key, name, total, done))

    def file_advanced(self, key: str, nbytes: int) -> None:
        fire = False
        with self._lock:
            self.advanced += nbytes
            if self._at is not None and self.advanced >= self._at:
                self._at = None
                fire = True
        if fire and self._action is not None:
            self._action()

    def file_retrying(self, key: str, attempt: int, reason: str, delay: float) -> None:
        with self._lock:
            self.retries.append((key, attempt, reason, delay))

    def file_finished(self, result: FileResult) -> None:
        with self._lock:
            self.finished.append(result)

    def reasons(self) -> list[str]:
        """The reasons of every retry event."""
        with self._lock:
            return [reason for _key, _attempt, reason, _delay in self.retries]


def leftovers(directory: Path) -> list[str]:
    """Names of engine side files (.part, journal, tmp) in ``directory``."""
    endings = (".part", ".part.json", ".m2mdl-tmp")
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(endings))
