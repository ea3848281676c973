"""The registry of this machine's download runs, so that ``cleanup`` never cuts off a live one.

A download's server state (its download order and scene lists, named after its label
``m2mdl_<run id>``) must outlive nothing but the run. ``cleanup`` finds labels on the server;
this registry says which of them are still running.

In ``<state dir>/runs/`` each run holds ``<label>.lock`` for its whole life: a
:class:`~m2mdl.transfer.lock.Lease` (flock plus a heartbeat that refreshes its mtime). When
the run ends it writes ``<label>.done``. A label is

* **live** while its lease is held (flock held, a live pid here, or a fresh heartbeat from
  another host sharing the state dir);
* **over** when it is marked done, when its lease file was left by a dead holder, when a
  manifest in the directory given to ``cleanup --dir`` says its run finished, or when the run
  id (a UTC timestamp) is older than :data:`UNKNOWN_RUN_AGE_S`;
* **unknown** otherwise (e.g. a run started on another machine a few hours ago): left alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import time
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

from ..config import state_dir
from ..transfer.lock import Lease, holder_is_live

log = logging.getLogger("m2mdl.workflow")

#: A label of a run this machine knows nothing about is removed only after this long:
#: longer than any download's wait for preparing files.
UNKNOWN_RUN_AGE_S = 3 * 86400.0
_LABEL_TIME = re.compile(r"^m2mdl_(\d{8}T\d{6})(\d{3})Z")


class RunState(Enum):
    """What cleanup may do with a run's server state."""

    LIVE = "live"
    OVER = "over"
    UNKNOWN = "unknown"


def registry_dir() -> Path:
    """``<state dir>/runs``."""
    return state_dir() / "runs"


def label_time(label: str) -> float | None:
    """The POSIX time a run started, read from its label, or None for another format."""
    match = _LABEL_TIME.match(label)
    if match is None:
        return None
    start = dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=dt.timezone.utc)
    return start.timestamp() + int(match.group(2)) / 1000


@contextlib.contextmanager
def registered(label: str, out_dir: Path) -> Iterator[None]:
    """Hold the run's lease for the duration of the block, then mark the run done.

    A registry that cannot be written (read-only or full state dir) does not stop a
    download: cleanup then treats the run as unknown and leaves it alone until it is old.
    """
    directory = registry_dir()
    lease: Lease | None = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lease = Lease(
            directory / f"{label}.lock", label, extra={"label": label, "out_dir": str(out_dir)}
        )
        lease.acquire()
    except OSError as exc:
        log.warning(
            "cannot register the run in %s (%s); cleanup will leave it alone",
            directory,
            exc.strerror,
        )
        lease = None
    try:
        yield
    finally:
        if lease is not None:
            with contextlib.suppress(OSError):
                (directory / f"{label}.done").touch()
            lease.release()


def run_state(
    label: str, *, finished: frozenset[str] = frozenset(), now: float | None = None
) -> RunState:
    """Whether the run of ``label`` is live, over, or unknown here.

    Args:
        label: the download label (``m2mdl_<run id>``).
        finished: labels whose manifests say their run finished.
        now: the current time, for tests.
    """
    directory = registry_dir()
    lock = directory / f"{label}.lock"
    if lock.exists() and holder_is_live(lock):
        return RunState.LIVE
    if label in finished or (directory / f"{label}.done").exists() or lock.exists():
        return RunState.OVER
    started = label_time(label)
    age = (time.time() if now is None else now) - started if started is not None else None
    return RunState.OVER if age is not None and age > UNKNOWN_RUN_AGE_S else RunState.UNKNOWN


def forget(label: str) -> None:
    """Drop the registry's files of a run whose server state was removed."""
    for suffix in (".done", ".lock"):
        with contextlib.suppress(OSError):
            (registry_dir() / f"{label}{suffix}").unlink()
