"""The shape shared by the engine's per-file helper threads (hashing, journal flushes)."""

from __future__ import annotations

import threading


class HelperThreadOwner:
    """An object that may start one helper thread, woken through ``_cond``.

    Subclasses set ``_cond``, ``_closed`` and ``_thread`` in their ``__init__`` and make the
    thread's loop end once ``_closed`` is set and its queue is empty.
    """

    _cond: threading.Condition
    _closed: bool
    _thread: threading.Thread | None

    def close(self) -> None:
        """Let the helper finish its queued work and end it (idempotent; errors stay recorded)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
