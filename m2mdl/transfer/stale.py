"""Finding leftovers of interrupted downloads, for ``m2mdl cleanup``."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from .naming import JOURNAL_SUFFIX, PART_SUFFIX, TMP_SUFFIX

_ENDINGS = (PART_SUFFIX, JOURNAL_SUFFIX, TMP_SUFFIX)


def find_stale_parts(root: Path, older_than_s: float, *, now: float | None = None) -> list[Path]:
    """List partial files, journals and orphaned tmp files not modified for a while.

    Walks ``root`` recursively without following symbolic links. The caller should hold the
    ``DirectoryLock`` of each directory before deleting anything: a running download keeps
    touching its files, but a stopped one does not.

    Args:
        root: the directory to search.
        older_than_s: only files whose mtime is at least this many seconds old.
        now: the current time (``time.time()``); for tests.

    Returns:
        Sorted paths of ``*.part``, ``*.part.json`` and ``*.m2mdl-tmp`` regular files.
    """
    cutoff = (time.time() if now is None else now) - older_than_s
    found: list[Path] = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            if not name.endswith(_ENDINGS):
                continue
            path = Path(dirpath) / name
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_mtime <= cutoff:
                found.append(path)
    return sorted(found)
