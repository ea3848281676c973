"""The transfer engine: resumable, verified, parallel HTTP downloads.

It knows nothing about M2M. The caller builds ``FileJob``s and calls ``run_transfers``.
Only ``m2mdl.errors`` is imported from the rest of m2mdl; neither typer nor rich is used.
"""

from __future__ import annotations

from .checks import looks_complete, verify_existing
from .engine import run_transfers
from .errors import TransferInterrupted, UnsafeFileName
from .http_parse import parse_content_disposition, parse_content_range
from .lock import DirectoryLock, DirectoryLocked
from .model import FileJob, FileResult, NullSink, ProgressSink, TransferOptions
from .naming import safe_join
from .stale import find_stale_parts

__all__ = [
    "DirectoryLock",
    "DirectoryLocked",
    "FileJob",
    "FileResult",
    "NullSink",
    "ProgressSink",
    "TransferInterrupted",
    "TransferOptions",
    "UnsafeFileName",
    "find_stale_parts",
    "looks_complete",
    "parse_content_disposition",
    "parse_content_range",
    "run_transfers",
    "safe_join",
    "verify_existing",
]
