"""The JSON manifest of a download run: what was asked, planned, fetched, skipped and failed.

The manifest lives in the output directory (``m2mdl-manifest-<run id>.json``) so it travels
with the data. It is rewritten atomically (tmp file, fsync, ``os.replace``, directory fsync)
after every state change: at once if the last write is older than MIN_SAVE_INTERVAL, else by
a timer at the end of that interval, and always at the end of the run. Coalescing keeps a run
of thousands of files O(n) in manifest writes instead of O(n^2); a Ctrl-C or a kill -9 leaves
valid JSON at most MIN_SAVE_INTERVAL behind, and what is on disk (verified files, ``.part``
journals) is the
source of truth for a rerun: the manifest is the report.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from . import __version__
from .errors import NO_SPACE_ERRNOS, DiskFull, DownloadError
from .util.fs import atomic_write_bytes
from .util.jsontypes import JsonMapping, JsonObject, JsonValue

if TYPE_CHECKING:
    from typing_extensions import Unpack

log = logging.getLogger("m2mdl.manifest")

#: 2: ``sha256`` became ``sha512``; ``verified``, ``verify_note``, ``members``,
#: ``tree_sha512`` and ``mtime_ns`` were added per item.
SCHEMA_VERSION = 2
MANIFEST_PREFIX = "m2mdl-manifest-"
#: Rewrites while transfers run are coalesced to this interval; final states always flush.
MIN_SAVE_INTERVAL = 0.25


class Status(str, Enum):
    """The state of one planned file."""

    PENDING = "pending"
    DOWNLOADING = "downloading"
    DONE = "done"
    SKIPPED = "skipped"  # already on disk and verified; not requested again
    FAILED = "failed"
    PREPARING = "preparing"  # M2M is still staging it; the next run picks it up


FINAL = frozenset({Status.DONE, Status.SKIPPED})


@dataclass
class Item:
    """One file of the run."""

    key: str
    entity_id: str
    display_id: str
    product: str
    file_name: str
    path: str  # relative to the manifest's directory: the manifest travels with the data
    size: int | None = None
    #: the SHA-512 of the file's bytes; null for a bundle identified by ``tree_sha512``
    sha512: str | None = None
    #: a bundle's tree digest (m2mdl/transfer/tarscan.py): each member's data replaced by
    #: its SHA-512; not the SHA-512 of the file, which no one publishes for a bundle
    tree_sha512: str | None = None
    #: how the bytes were checked: "usgs-stac" (the SHA-512 in USGS's STAC item),
    #: "bundle-stac" (a bundle's members against its own *_stac.json), "m2m" (M2M's
    #: checksum field) or "size" (size and leading bytes only: nothing published).
    verified: str | None = None
    verify_note: str | None = None  # why a file is only "size"-verified (STAC down...)
    members: dict[str, dict[str, str]] | None = None  # tar member -> sha512, verified
    mtime_ns: int | None = None  # of the final file when m2mdl wrote or checked it
    status: Status = Status.PENDING
    attempts: int = 0
    last_error: str | None = None
    error_kind: str | None = None  # network, http, integrity, disk_full, deadline, ...
    download_id: int | None = None
    url: str | None = None  # without its query: the signature is a credential
    bytes_received: int = 0

    def to_json(self) -> JsonObject:
        """The item as JSON (status as its string value)."""
        data = asdict(self)
        data["status"] = self.status.value
        return data


class ItemChanges(TypedDict, total=False):
    """The fields of an :class:`Item` that :meth:`Manifest.update` may change, with their
    types: mypy checks each call's names and values (``tests/test_manifest.py`` keeps this
    in step with ``Item``)."""

    size: int | None
    sha512: str | None
    tree_sha512: str | None
    verified: str | None
    verify_note: str | None
    members: dict[str, dict[str, str]] | None
    mtime_ns: int | None
    status: Status
    attempts: int
    last_error: str | None
    error_kind: str | None
    download_id: int | None
    url: str | None
    bytes_received: int


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique run id: UTC time to the millisecond plus 4 random hex digits.

    Milliseconds keep two runs in the same second in order ("newest manifest" is the last by
    name); the random part keeps two machines sharing a directory apart.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(2)}"


@dataclass
class Manifest:
    """A run's manifest; thread-safe updates, atomic saves."""

    out_dir: Path
    run_id: str
    command: str
    arguments: JsonObject
    dataset: str | None = None
    aoi: JsonValue = None  # GeoJSON of the AOI
    filetype: str | None = None
    label: str | None = None
    scene_lists: list[str] = field(default_factory=list)
    started: str = field(default_factory=lambda: _utc_now())
    finished: str | None = None
    exit_code: int | None = None
    scenes: list[JsonObject] = field(default_factory=list)
    items: dict[str, Item] = field(default_factory=dict)
    #: The local STAC catalog's path relative to the manifest's directory (null until a run
    #: writes one).
    catalog: str | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _last_save: float = field(default=0.0, repr=False)
    _dirty: bool = field(default=False, repr=False)
    _timer: threading.Timer | None = field(default=None, repr=False)
    #: the last interim save failed (disk full...): raised again by ``finish``.
    save_error: DownloadError | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        """Where this manifest is written."""
        return self.out_dir / f"{MANIFEST_PREFIX}{self.run_id}.json"

    def add(self, item: Item) -> None:
        """Add (or replace) a planned item."""
        with self._lock:
            self.items[item.key] = item
            self._dirty = True

    def update(self, key: str, *, force: bool = False, **changes: Unpack[ItemChanges]) -> None:
        """Change fields of one item and save (now, or within MIN_SAVE_INTERVAL)."""
        with self._lock:
            item = self.items[key]
            for name, value in changes.items():
                setattr(item, name, value)
            self._dirty = True
            if force:
                self._save_quietly()
                return
            wait = MIN_SAVE_INTERVAL - (time.monotonic() - self._last_save)
            if wait <= 0:
                self._save_quietly()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self._save_pending)
                self._timer.daemon = True
                self._timer.start()

    def _save_pending(self) -> None:
        with self._lock:
            self._timer = None
            if self._dirty:
                self._save_quietly()

    def _save_quietly(self) -> None:
        """An interim save (from worker threads): a failure is kept for ``finish``.

        The file on disk stays the last version that was written completely.
        """
        try:
            self.save()
        except DownloadError as exc:
            if self.save_error is None:
                log.warning("could not update the manifest: %s", exc)
            self.save_error = exc
            self._last_save = time.monotonic()  # retry at the next interval, not per event

    def counts(self) -> dict[str, int]:
        """How many items are in each state."""
        with self._lock:
            counts = {s.value: 0 for s in Status}
            for item in self.items.values():
                counts[item.status.value] += 1
            return counts

    def to_json(self) -> JsonObject:
        """The whole manifest as JSON (schema documented in the README)."""
        with self._lock:
            return {
                "schema_version": SCHEMA_VERSION,
                "m2mdl_version": __version__,
                "run_id": self.run_id,
                "command": self.command,
                "arguments": self.arguments,
                "started": self.started,
                "finished": self.finished,
                "exit_code": self.exit_code,
                "dataset": self.dataset,
                "aoi": self.aoi,
                "filetype": self.filetype,
                "label": self.label,
                "scene_lists": list(self.scene_lists),
                "summary": self.counts(),
                "scenes": list(self.scenes),
                "items": [i.to_json() for i in self.items.values()],
                "catalog": self.catalog,
            }

    def save(self, *, force: bool = True) -> None:
        """Write atomically; with ``force=False`` skip if saved within MIN_SAVE_INTERVAL."""
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last_save < MIN_SAVE_INTERVAL:
                return
            atomic_write_json(self.path, self.to_json())
            self._last_save = now
            self._dirty = False
            self.save_error = None

    def finish(self, exit_code: int) -> None:
        """Record the end of the run and save."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self.finished = _utc_now()
            self.exit_code = exit_code
            for item in self.items.values():
                if item.status is Status.DOWNLOADING:
                    item.status = Status.PENDING  # interrupted mid-file; the .part resumes
            self.save()


def atomic_write_json(path: Path, data: JsonMapping) -> None:
    """Write JSON to ``path`` durably: tmp file, fsync, rename, directory fsync.

    The writing is :func:`m2mdl.util.fs.atomic_write_bytes`; this only maps its errors.

    Raises:
        DiskFull: no space or no inode left (ENOSPC, EDQUOT); ``path`` is unchanged.
        DownloadError: any other write error; ``path`` is unchanged.
    """
    payload = json.dumps(data, indent=2, sort_keys=False).encode("utf-8")
    try:
        atomic_write_bytes(path, payload)
    except (DiskFull, OSError) as exc:  # one message, naming the manifest
        if isinstance(exc, DiskFull) or getattr(exc, "errno", None) in NO_SPACE_ERRNOS:
            raise DiskFull(f"no space left on the device to write {path.name}") from exc
        strerror = exc.strerror if isinstance(exc, OSError) else None
        raise DownloadError(f"cannot write {path}: {strerror or exc}") from exc


def load(path: Path) -> JsonObject:
    """Read a manifest file (for ``cleanup`` and for tests)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a manifest")
    return data


def read_items(path: Path) -> list[JsonObject] | None:
    """The well-formed items of an earlier manifest, or None when the file is unusable.

    Earlier manifests are input: a file that is not JSON, not an object, whose items are not
    a list, or that holds an item whose fields have the wrong types (``size`` of "2 MB",
    ``[1]``, ``1e999``, a negative number, a bool...) is unusable as a whole (None), so the
    caller warns once and skips it. Nothing raises.
    """
    try:
        data = load(path)
    except (OSError, ValueError, RecursionError):
        return None
    items = data.get("items")
    if not isinstance(items, list) or not all(_item_ok(item) for item in items):
        return None
    return items


def _item_ok(item: object) -> bool:
    if not isinstance(item, dict):
        return False
    if not isinstance(item.get("file_name"), str) or not isinstance(item.get("status"), str):
        return False
    for name in ("size", "mtime_ns"):
        value = item.get(name)
        if value is not None and not _count(value):
            return False
    for name in ("sha512", "tree_sha512", "verified", "path"):
        if item.get(name) is not None and not isinstance(item.get(name), str):
            return False
    members = item.get("members")
    return members is None or isinstance(members, dict)


def _count(value: object) -> bool:
    """A non-negative integer (not a bool, not a float such as 1e999)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def find_manifests(directory: Path) -> list[Path]:
    """Manifests in a directory, oldest first."""
    return sorted(directory.glob(f"{MANIFEST_PREFIX}*.json"))


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
