"""Finding leftovers of interrupted downloads, for ``m2mdl cleanup``.

Only what m2mdl itself made is ever listed: a ``NAME.part`` counts only when a valid m2mdl
journal ``NAME.part.json`` sits next to it (so ``Downloads/ubuntu.iso.part`` from a browser
is never touched), a journal only when it parses as m2mdl's journal format, and temporaries
only with m2mdl's own ``.m2mdl-tmp`` suffix.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from .journal import load_journal
from .naming import JOURNAL_SUFFIX, PART_SUFFIX, TMP_SUFFIX


def _regular_mtime(path: Path) -> float | None:
    try:
        info = path.lstat()
    except OSError:
        return None
    return info.st_mtime if stat.S_ISREG(info.st_mode) else None


def find_stale_parts(root: Path, older_than_s: float, *, now: float | None = None) -> list[Path]:
    """List m2mdl's partial files, journals and orphaned tmp files not modified for a while.

    Walks ``root`` recursively without following symbolic links. The caller should hold the
    ``DirectoryLock`` of each directory before deleting anything: a running download keeps
    touching its files, but a stopped one does not.

    Args:
        root: the directory to search.
        older_than_s: only files whose mtime is at least this many seconds old (for a
            ``.part``, its journal must be that old too).
        now: the current time (``time.time()``); for tests.

    Returns:
        Sorted paths: ``*.part.json`` journals m2mdl can read, the ``*.part`` next to each,
        and ``*.m2mdl-tmp`` regular files.
    """
    cutoff = (time.time() if now is None else now) - older_than_s
    found: list[Path] = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            mtime = _regular_mtime(path)
            if mtime is None or mtime > cutoff:
                continue
            if name.endswith(TMP_SUFFIX):
                found.append(path)
            elif name.endswith(JOURNAL_SUFFIX) and load_journal(path) is not None:
                found.append(path)
                part = path.with_name(name[: -len(JOURNAL_SUFFIX)] + PART_SUFFIX)
                part_mtime = _regular_mtime(part)
                if part_mtime is not None and part_mtime <= cutoff:
                    found.append(part)
    return sorted(found)
