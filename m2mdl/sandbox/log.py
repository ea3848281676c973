"""Request log: one JSON line per request, in memory and optionally in a file.

Records never hold API keys, tokens or URL signatures: the server passes paths with the
``requestSignature`` removed and never passes headers or bodies.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from .jsontypes import JSON


class RequestLog:
    """Thread-safe list of request records, mirrored to ``path`` as JSON lines."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._fh = path.open("a", encoding="utf-8") if path is not None else None

    def add(self, record: JSON) -> None:
        """Append one record (``t`` is filled in)."""
        rec = {"t": round(time.time(), 6), **record}
        line = json.dumps(rec, separators=(",", ":"))
        with self._lock:
            self._records.append(rec)
            if self._fh is not None:
                self._fh.write(line + "\n")
                self._fh.flush()

    def records(self) -> list[JSON]:
        """A copy of every record so far."""
        with self._lock:
            return [dict(r) for r in self._records]

    def close(self) -> None:
        """Close the file (records stay available)."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
