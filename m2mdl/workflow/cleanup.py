"""``m2mdl cleanup``: remove what runs leave behind, on the server and on disk.

On the server: download orders whose label starts with ``m2mdl_`` (download-labels, then
download-order-remove) and the scene lists of those runs (scene lists persist across sessions
until removed, ../shared/m2m-api.md §2.12). On disk: ``.part`` files and journals older than a
threshold under a directory, taken under the directory lock so a running download is never
touched.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ApiError
from ..manifest import find_manifests, load
from ..transfer import DirectoryLock, find_stale_parts
from .context import Context

LABEL_PREFIX = "m2mdl_"


@dataclass
class CleanupReport:
    """What was (or, with --dry-run, would be) removed."""

    orders: list[str] = field(default_factory=list)
    scene_lists: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _scene_lists(directory: Path | None, labels: list[str]) -> list[str]:
    """Scene lists named in manifests under ``directory`` plus those of the server's labels."""
    lists: dict[str, None] = {}
    for label in labels:  # a run's lists are named after its label
        lists.setdefault(label, None)
        lists.setdefault(f"{label}_files", None)
    for path in find_manifests(directory) if directory and directory.is_dir() else []:
        with contextlib.suppress(OSError, ValueError):
            for list_id in load(path).get("scene_lists") or []:
                lists.setdefault(str(list_id), None)
    return list(lists)


def clean_server(
    ctx: Context, directory: Path | None, report: CleanupReport, *, dry_run: bool
) -> None:
    """Remove m2mdl's download orders and scene lists on the server."""
    client = ctx.client()
    labels = [o.label for o in client.download_labels() if o.label.startswith(LABEL_PREFIX)]
    report.orders = labels
    report.scene_lists = _scene_lists(directory, labels)
    if dry_run:
        return
    for label in labels:
        client.download_order_remove(label)
    for list_id in report.scene_lists:
        try:
            client.scene_list_remove(list_id)
        except ApiError as exc:  # already gone or never created: nothing to do
            report.warnings.append(f"scene list {list_id}: {exc.code or exc}")


def clean_local(
    directory: Path, report: CleanupReport, *, dry_run: bool, older_than: float
) -> None:
    """Remove stale ``.part`` files and journals under ``directory``.

    Raises:
        LockedError: a download is running in that directory.
    """
    with DirectoryLock(directory):
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
) -> CleanupReport:
    """Run the chosen parts of the cleanup."""
    report = CleanupReport()
    if local and directory is not None:
        clean_local(directory, report, dry_run=dry_run, older_than=older_than)
    if server:
        try:
            clean_server(ctx, directory, report, dry_run=dry_run)
        finally:
            ctx.close()
    return report
