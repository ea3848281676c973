"""``m2mdl cleanup``: remove what runs leave behind, on the server and on disk; only that.

On the server: download orders whose label starts with ``m2mdl_`` (download-labels, then
download-order-remove) and the scene lists of those runs (scene lists persist across sessions
until removed; docs/design.md, "M2M API"), but only of runs that are over
(:mod:`m2mdl.workflow.runs`): a run still holding its lease is never cut off, and a run this
machine knows nothing about is left alone until its label is older than
``UNKNOWN_RUN_AGE_S`` (3 days), unless a manifest under ``--dir`` says it finished.

On disk: only m2mdl's own partial files (a ``.part`` with a valid m2mdl journal next to it,
the journal, ``.m2mdl-tmp`` temporaries) older than a threshold, taken under the directory
lock so a running download is never touched. A lock left by a run that is gone (a dead pid
here, or another host's lock not refreshed for a minute) is taken over.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ApiError, literal
from ..manifest import find_manifests, load
from ..transfer import DirectoryLock, find_stale_parts
from .context import Context
from .runs import RunState, forget, run_state

LABEL_PREFIX = "m2mdl_"


@dataclass
class CleanupReport:
    """What was (or, with --dry-run, would be) removed, and what was left alone."""

    orders: list[str] = field(default_factory=list)
    scene_lists: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    #: :func:`m2mdl.errors.spell` templates: ``${directory}`` names the directory parameter.
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _DirRuns:
    """What the manifests under ``--dir`` say: finished labels, and each label's lists."""

    finished: frozenset[str] = frozenset()
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _read_dir(directory: Path | None) -> _DirRuns:
    finished: set[str] = set()
    lists: dict[str, tuple[str, ...]] = {}
    for path in find_manifests(directory) if directory and directory.is_dir() else []:
        with contextlib.suppress(OSError, ValueError, TypeError):
            data = load(path)
            label = data.get("label")
            if not isinstance(label, str) or not label.startswith(LABEL_PREFIX):
                continue
            if data.get("finished") or data.get("exit_code") is not None:
                finished.add(label)
            raw = data.get("scene_lists") or []
            lists[label] = tuple(str(x) for x in raw) if isinstance(raw, list) else ()
    return _DirRuns(frozenset(finished), lists)


def _lists_of(label: str, known: _DirRuns) -> list[str]:
    """A run's scene lists: named after its label, plus those its manifest recorded."""
    names = dict.fromkeys([label, f"{label}_files", *known.lists.get(label, ())])
    return list(names)


def clean_server(
    ctx: Context, directory: Path | None, report: CleanupReport, *, dry_run: bool
) -> None:
    """Remove the download orders and scene lists of m2mdl runs that are over."""
    client = ctx.client()
    known = _read_dir(directory)
    server_labels = {o.label for o in client.download_labels()}
    labels = sorted(
        {label for label in server_labels if label.startswith(LABEL_PREFIX)}
        | {label for label in known.lists if label in known.finished}
    )
    removable: list[str] = []
    for label in labels:
        state = run_state(label, finished=known.finished)
        if state is RunState.LIVE:
            report.warnings.append(f"kept {label}: its run is still going")
        elif state is RunState.UNKNOWN:
            report.warnings.append(
                f"kept {label}: started less than 3 days ago, maybe by a run on another"
                " machine; give its output directory with ${directory} to remove it now"
            )
        else:
            removable.append(label)
    _remove(ctx, removable, known, server_labels, report, dry_run=dry_run)


def _remove(
    ctx: Context,
    removable: Sequence[str],
    known: _DirRuns,
    server_labels: Collection[str],
    report: CleanupReport,
    *,
    dry_run: bool,
) -> None:
    """Remove the orders and scene lists of runs that are over (``removable``)."""
    client = ctx.client()
    report.orders = [label for label in removable if label in server_labels]
    candidates = [name for label in removable for name in _lists_of(label, known)]
    report.scene_lists = [name for name in candidates if _list_exists(ctx, name)]
    if dry_run:
        return
    for label in report.orders:
        client.download_order_remove(label)
    for list_id in list(report.scene_lists):
        try:
            client.scene_list_remove(list_id)
        except ApiError as exc:  # gone meanwhile: not removed by us, so not reported
            report.scene_lists.remove(list_id)
            report.warnings.append(f"scene list {list_id}: {literal(str(exc.code or exc))}")
    for label in removable:
        forget(label)


def completed_runs(directory: Path, completed: Collection[str], *, current: str) -> list[str]:
    """Previous runs into ``directory`` whose server state only waited for files whose keys
    are in ``completed``: finished runs that kept their download order because files were
    still preparing (docs/design.md, "download orders"), every one of which has been completed."""
    labels: list[str] = []
    for path in find_manifests(directory) if directory.is_dir() else []:
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            data = load(path)
            label, items = data.get("label"), data.get("items")
            finished = data.get("finished") or data.get("exit_code") is not None
            if label == current or not isinstance(label, str) or not finished:
                continue
            waiting = [i.get("key") for i in items or [] if i.get("status") == "preparing"]
            if waiting and all(key in completed for key in waiting):
                labels.append(label)
    return labels


def clean_runs(ctx: Context, directory: Path, labels: Sequence[str]) -> CleanupReport:
    """Remove the server state of ``labels``, runs into ``directory``, as ``cleanup`` does:
    only those that are over (a live run is never cut off), and only what exists."""
    report = CleanupReport()
    if not labels:
        return report
    known = _read_dir(directory)
    over = [label for label in labels if run_state(label, finished=known.finished) is RunState.OVER]
    if over:
        server_labels = {o.label for o in ctx.client().download_labels()}
        _remove(ctx, over, known, server_labels, report, dry_run=False)
    return report


def _list_exists(ctx: Context, list_id: str) -> bool:
    """Does the scene list hold anything? M2M answers an empty list for one that is gone
    (or was never created), so only lists that exist are reported as removed. A list whose
    state cannot be read is tried anyway."""
    try:
        return bool(ctx.client().scene_list_get(list_id))
    except ApiError:
        return True


def clean_local(
    directory: Path,
    report: CleanupReport,
    *,
    dry_run: bool,
    older_than: float,
    break_lock: bool = False,
) -> None:
    """Remove m2mdl's stale ``.part`` files, journals and temporaries under ``directory``.

    Raises:
        LockedError: a live download is running in that directory.
    """
    with DirectoryLock(directory, break_lock=break_lock):
        report.files = find_stale_parts(directory, older_than)
        if dry_run:
            return
        for path in report.files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def cleanup(
    ctx: Context,
    directory: Path | None,
    *,
    server: bool,
    local: bool,
    dry_run: bool,
    older_than: float,
    break_lock: bool = False,
) -> CleanupReport:
    """Run the chosen parts of the cleanup."""
    report = CleanupReport()
    if local and directory is not None:
        clean_local(
            directory, report, dry_run=dry_run, older_than=older_than, break_lock=break_lock
        )
    if server:
        clean_server(ctx, directory, report, dry_run=dry_run)
    return report
