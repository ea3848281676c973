"""``files_dir``: write requested files to disk so a static server (nginx) can serve them.

Layout (relative to ``files_dir``, and the URL path under ``files_url``):

* single files: ``data/collection02/level-2/standard/oli-tirs/<YYYY>/<PPP>/<RRR>/<displayId>/
  <displayId>_<SUFFIX>`` (the same path as the real landsatlook URL);
* bundles: ``gen-bundle/<displayId>.tar`` (the real URL is a query on ``/gen-bundle``, which a
  static server cannot map, so bundles get this fixed static path).

Files are written when a download-request (or download-retrieve, for items that became
ready) hands out their URL, at version 0 (``mutate_after`` does not touch static copies).
A file already present with the right size is not rewritten.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from m2mdl.sandbox.products import ServedFile

_CHUNK = 1 << 20


class StaticWriter:
    """Writes served files under a directory, once each, safely across threads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._busy: dict[str, threading.Lock] = {}

    def path_of(self, served: ServedFile) -> Path:
        """Where ``served`` lives under the root."""
        return self.root / served.static_path

    def ensure(self, served: ServedFile) -> Path:
        """Write ``served`` unless an equally long copy is already there."""
        target = self.path_of(served)
        with self._lock:
            lock = self._busy.setdefault(str(target), threading.Lock())
        with lock:
            if target.is_file() and target.stat().st_size == served.source.size:
                return target
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".sandbox-tmp")
            with tmp.open("wb") as fh:
                offset = 0
                while offset < served.source.size:
                    chunk = served.source.read(offset, _CHUNK)
                    fh.write(chunk)
                    offset += len(chunk)
            os.replace(tmp, target)
        return target
