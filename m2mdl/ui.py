"""Everything a person sees: rich tables, progress bars, messages. The only module besides
cli.py that imports rich.

stdout carries data only (tables, JSON); messages, warnings, errors and progress go to stderr.
Colour and live progress appear only on a terminal, never with NO_COLOR or --no-color; without
a terminal (cron) progress becomes a plain log line now and then.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from .models import FileGroup, Product, Scene
from .transfer import FileResult, NullSink, ProgressSink
from .workflow.download import Outcome
from .workflow.plan import secondary_files

#: Plain progress lines (no terminal) at most this often: cron mails stay short.
PLAIN_INTERVAL = 30.0


def short_name(name: str) -> str:
    """A Landsat file name as "068018 2020-03-10 SR_B5.TIF": path/row, date, suffix.

    Full names (``LC08_L2SP_068018_20200310_20200822_02_T1_SR_B5.TIF``) do not fit next to a
    progress bar; these three parts are what tells files apart. Other names are cut from the
    left to 40 characters.
    """
    parts = name.split("_", 7)
    if len(parts) >= 7 and len(parts[2]) == 6 and len(parts[3]) == 8 and parts[3].isdigit():
        date = f"{parts[3][:4]}-{parts[3][4:6]}-{parts[3][6:]}"
        suffix = parts[7] if len(parts) == 8 else "bundle" + name[name.rfind(".") :]
        return f"{parts[2]} {date} {suffix}"
    return name if len(name) <= 40 else "…" + name[-39:]


def _human(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover


@dataclass
class Ui:
    """The two consoles and the verbosity of one command."""

    quiet: bool = False
    verbose: bool = False
    color: bool = True

    def __post_init__(self) -> None:
        no_color = not self.color or "NO_COLOR" in os.environ
        self.out = Console(file=sys.stdout, no_color=no_color, highlight=False, soft_wrap=True)
        self.err = Console(file=sys.stderr, no_color=no_color, highlight=False, soft_wrap=True)

    # --- messages (Reporter protocol) ----------------------------------------------------------

    def info(self, message: str) -> None:
        """A note on stderr, hidden by --quiet."""
        if not self.quiet:
            self.err.print(escape(message), style="dim")

    def warn(self, message: str, hint: str | None = None) -> None:
        """A warning (and an optional hint) on stderr, shown even with --quiet."""
        self.err.print(f"warning: {escape(message)}", style="yellow")
        if hint:
            self.err.print(f"hint: {escape(hint)}", style="cyan")

    def error(self, message: str, hint: str | None) -> None:
        """One error line and an optional hint line on stderr."""
        self.err.print(f"error: {escape(message)}", style="bold red")
        if hint:
            self.err.print(f"hint: {escape(hint)}", style="cyan")

    def data(self, text: str) -> None:
        """Machine output on stdout, written as is (no markup, no wrapping)."""
        sys.stdout.write(text)
        sys.stdout.flush()

    # --- progress -----------------------------------------------------------------------------

    def progress(self, total_files: int, total_bytes: int | None) -> ProgressSink:
        """The progress display that fits: rich bars, plain lines, or nothing."""
        if self.quiet:
            return NullSink()
        if self.err.is_terminal and not self.err.is_dumb_terminal:
            return RichProgress(self.err, total_files, total_bytes)
        return PlainProgress(self.err, total_files, total_bytes)

    # --- tables -------------------------------------------------------------------------------

    def scenes_table(self, scenes: Sequence[Scene], total_hits: int) -> None:
        """The search results as a table on stdout."""
        table = Table(
            title=f"{len(scenes)} scene(s)"
            + (f" of {total_hits} hits" if total_hits > len(scenes) else "")
        )
        for column in ("display id", "entity id", "acquired", "cloud %", "path/row"):
            table.add_column(column, justify="right" if column == "cloud %" else "left")
        for scene in scenes:
            path_row = scene.path_row()
            table.add_row(
                scene.display_id,
                scene.entity_id,
                scene.acquired.isoformat() if scene.acquired else "",
                "" if scene.cloud_cover is None else f"{scene.cloud_cover:g}",
                f"{path_row[0]:03d}/{path_row[1]:03d}" if path_row else "",
            )
        self.out.print(table)

    def options_tables(self, products: Sequence[Product], groups: Sequence[FileGroup]) -> None:
        """Per scene: bundles, single files and band groups."""
        by_scene: dict[str, list[Product]] = {}
        for product in products:
            by_scene.setdefault(product.display_id, []).append(product)
        for display_id, items in by_scene.items():
            table = Table(title=display_id, show_lines=False)
            for column in ("kind", "name", "product", "system", "size", "available"):
                table.add_column(column)
            for p in items:
                if not p.is_folder:
                    table.add_row(
                        "bundle",
                        f"{display_id}.tar",
                        p.product_code or p.product_id,
                        p.download_system or "",
                        _human(p.filesize),
                        "yes" if p.available else "no",
                    )
            for _, sec in secondary_files(items):
                table.add_row(
                    "file",
                    sec.file_name,
                    ",".join(sec.file_groups) or "-",
                    sec.download_system or "",
                    _human(sec.filesize or None),
                    "yes" if sec.available or sec.bulk_available else "no",
                )
            self.out.print(table)
        if groups:
            table = Table(title="band groups (--filetype band_group --group ID)")
            for column in ("group", "label", "files"):
                table.add_column(column)
            for group in groups:
                table.add_row(group.group_id, group.label, str(len(group.files)))
            self.out.print(table)

    def plan_table(self, outcome: Outcome) -> None:
        """The dry-run plan: scenes x files, sizes, what is already present."""
        table = Table(title="download plan (dry run: nothing was requested)")
        for column in ("file", "scene", "product", "size", "state"):
            table.add_column(column)
        total = 0
        for planned in outcome.plan.files:
            present = planned.key in outcome.present
            total += 0 if present else planned.size or 0
            table.add_row(
                planned.file_name,
                planned.scene_display_id,
                planned.product,
                _human(planned.size),
                "present" if present else "to download",
            )
        for display_id, reason in outcome.plan.unavailable:
            table.add_row("-", display_id, "-", "-", f"unavailable: {reason}")
        self.out.print(table)
        scenes = len({f.scene_entity_id for f in outcome.plan.files})
        self.err.print(
            f"{len(outcome.plan.files)} file(s) over {scenes} scene(s); "
            f"{len(outcome.present)} already present; {_human(total)} to download"
        )

    def summary(self, outcome: Outcome) -> None:
        """One line per state after a run, and where the manifest is."""
        if outcome.manifest is None or self.quiet:
            return
        counts = {k: v for k, v in outcome.counts.items() if v}
        states = ", ".join(f"{v} {k}" for k, v in counts.items()) or "nothing to do"
        self.err.print(f"{states}; manifest: {outcome.manifest.path}")


class RichProgress:
    """rich bars: one overall (bytes, rate, ETA, files done) and one per active transfer."""

    def __init__(self, console: Console, total_files: int, total_bytes: int | None) -> None:
        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            refresh_per_second=10,
            transient=False,
        )
        self._files_total = total_files
        self._files_done = 0
        self._overall = self._progress.add_task(self._overall_label(), total=total_bytes or None)
        self._tasks: dict[str, TaskID] = {}
        self._progress.start()

    def _overall_label(self) -> str:
        return f"[bold]all[/] {self._files_done}/{self._files_total} files"

    def file_started(self, key: str, name: str, total: int | None, done: int) -> None:
        """Add (or reset) the file's bar."""
        with self._lock:
            if key in self._tasks:
                self._progress.reset(self._tasks[key], total=total, completed=done)
                return
            self._tasks[key] = self._progress.add_task(
                escape(short_name(name)), total=total, completed=done
            )
            self._progress.advance(self._overall, done)

    def file_advanced(self, key: str, nbytes: int) -> None:
        """Advance the file's and the overall bar."""
        with self._lock:
            task = self._tasks.get(key)
            if task is not None:
                self._progress.advance(task, nbytes)
            self._progress.advance(self._overall, nbytes)

    def file_retrying(self, key: str, attempt: int, reason: str, delay: float) -> None:
        """Show the retry in the file's description."""
        with self._lock:
            task = self._tasks.get(key)
            if task is not None:
                self._progress.update(
                    task, description=f"[yellow]retry {attempt}[/] {escape(reason[:40])}"
                )

    def file_finished(self, result: FileResult) -> None:
        """Remove the file's bar; count it; print failures above the bars."""
        with self._lock:
            task = self._tasks.pop(result.key, None)
            if task is not None:
                self._progress.remove_task(task)
            self._files_done += 1
            self._progress.update(self._overall, description=self._overall_label())
            if not result.ok:
                self._progress.console.print(
                    f"[red]failed[/] {escape(result.dest.name)}: {escape(result.error or '')}"
                )
            if self._files_done >= self._files_total:
                self._progress.stop()

    def close(self) -> None:
        """Stop refreshing (idempotent)."""
        self._progress.stop()


class PlainProgress:
    """Progress for logs and cron: a line every PLAIN_INTERVAL seconds and one per failure."""

    def __init__(self, console: Console, total_files: int, total_bytes: int | None) -> None:
        self._console = console
        self._lock = threading.Lock()
        self._files_total, self._files_done = total_files, 0
        self._total_bytes, self._done_bytes = total_bytes, 0
        self._started = time.monotonic()
        self._last = self._started

    def file_started(self, key: str, name: str, total: int | None, done: int) -> None:
        """Count bytes already on disk."""
        with self._lock:
            self._done_bytes += done

    def file_advanced(self, key: str, nbytes: int) -> None:
        """Count bytes; print a line now and then."""
        with self._lock:
            self._done_bytes += nbytes
            now = time.monotonic()
            if now - self._last >= PLAIN_INTERVAL:
                self._last = now
                rate = self._done_bytes / max(now - self._started, 1e-6)
                self._console.print(
                    f"progress: {self._files_done}/{self._files_total} files, "
                    f"{_human(self._done_bytes)} of {_human(self._total_bytes)}, "
                    f"{_human(int(rate))}/s",
                    highlight=False,
                )

    def file_retrying(self, key: str, attempt: int, reason: str, delay: float) -> None:
        """Retries are routine; they show in the manifest, not in cron mail."""

    def file_finished(self, result: FileResult) -> None:
        """Count the file; print failures."""
        with self._lock:
            self._files_done += 1
            if not result.ok:
                self._console.print(f"failed: {result.dest.name}: {result.error}", highlight=False)
