"""The ``NAME.part.json`` journal: what of ``NAME.part`` is durable, and which version it is.

It records only bytes that were fsynced before the journal was written, so after a crash or
kill -9 every byte it claims is really on disk (docs/design.md §Transfer engine: fsync and the
journal). A preallocated ``.part`` has its final size long before it is complete, so its size means
nothing: the journal is the only proof of progress.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .fsutil import atomic_write_bytes
from .ranges import Range, is_valid

VERSION = 1


@dataclass
class Journal:
    """The journal's content.

    Attributes:
        url: the URL without its query string (for people; never compared).
        etag: the ETag of the version being downloaded, or None.
        last_modified: its Last-Modified, or None.
        size: the total size, or None while unknown (no Content-Length).
        ranges: durable byte ranges, sorted half-open pairs.
        updated_at: UTC time of the last write (ISO 8601).
    """

    url: str
    etag: str | None = None
    last_modified: str | None = None
    size: int | None = None
    ranges: list[Range] = field(default_factory=list)
    updated_at: str = ""

    def to_json(self) -> bytes:
        """Serialize, stamping ``updated_at``."""
        self.updated_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        body = {
            "version": VERSION,
            "url": self.url,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "size": self.size,
            "ranges": [list(pair) for pair in self.ranges],
            "updated_at": self.updated_at,
        }
        return json.dumps(body, indent=1).encode() + b"\n"

    def save(self, path: Path) -> None:
        """Write atomically and durably (tmp + fsync + rename + dir fsync)."""
        atomic_write_bytes(path, self.to_json())


def load_journal(path: Path) -> Journal | None:
    """Read a journal; None when it is missing, unreadable or inconsistent."""
    try:
        data: Any = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    size = data.get("size")
    if size is not None and (type(size) is not int or size < 0):
        return None
    if not is_valid(data.get("ranges"), size):
        return None
    texts = [data.get(name) for name in ("url", "etag", "last_modified", "updated_at")]
    if not all(value is None or isinstance(value, str) for value in texts):
        return None
    return Journal(
        url=data.get("url") or "",
        etag=data.get("etag"),
        last_modified=data.get("last_modified"),
        size=size,
        ranges=[(lo, hi) for lo, hi in data["ranges"]],
        updated_at=data.get("updated_at") or "",
    )
