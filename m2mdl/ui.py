"""Everything a person sees: rich tables, progress bars, messages. The only module that
imports rich (tests/test_layering.py).

stdout carries data only (tables, JSON); messages, warnings, errors and progress go to stderr.
Colour and live progress appear only on a terminal, never with NO_COLOR or --no-color; without
a terminal (cron) progress becomes a plain log line now and then.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

# Start-up: every command makes a Ui first, and a download's first API call comes before it
# prints anything (phase lines show on a terminal only). So rich, the models, the transfer
# engine and the workflow are imported where they are used, not here (tests/test_startup.py).
if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import ProgressColumn, TaskID

    from .models import FileGroup, Product, Scene
    from .transfer import FileResult, ProgressSink
    from .workflow.download import Outcome

#: Plain progress lines (no terminal) at most this often: cron mails stay short.
PLAIN_INTERVAL = 30.0
#: The width of stdout when it is not a terminal: wide enough that no table cell is cut.
PIPE_WIDTH = 10_000


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


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def plan_text(scenes: int, files: int, present: int, todo_bytes: int | None) -> str:
    """ "plan: 3 scenes, 24 files, 2 already present, 1.1 GB to download"."""
    size = "size unknown" if todo_bytes is None else f"{_human(todo_bytes)} to download"
    return (
        f"plan: {_plural(scenes, 'scene')}, {_plural(files, 'file')}, "
        f"{present} already present, {size}"
    )


def request_text(ready: int, preparing: int) -> str:
    """ "requested 22 files: 20 ready, 2 preparing on the server"."""
    return f"requested {_plural(ready + preparing, 'file')}: {ready} ready" + (
        f", {preparing} preparing on the server" if preparing else ""
    )


#: Sensor of a Landsat product id's second letter (``LC08`` -> C); "T" is TM before Landsat 8.
_SENSORS = {"C": "OLI/TIRS", "O": "OLI", "E": "ETM+", "M": "MSS"}
#: Landsat Collection 2 tiers, the last part of a product (display) id.
TIERS = ("T1", "T2", "RT")


def landsat_sensor(display_id: str) -> str:
    """``LC08_L2SP_...`` -> "L8 OLI/TIRS", ``LE07_...`` -> "L7 ETM+"; "" if not Landsat."""
    head = display_id[:4]
    if len(head) < 4 or head[0] != "L" or not head[2:].isdigit():
        return ""
    number = int(head[2:])
    sensor = "TIRS" if head[1] == "T" and number >= 8 else "TM" if head[1] == "T" else None
    sensor = sensor or _SENSORS.get(head[1], "")
    return f"L{number} {sensor}" if sensor else ""


def landsat_tier(display_id: str) -> str:
    """``..._02_T1`` -> "T1" (T1, T2 or RT); "" when the id carries no tier."""
    last = display_id.rsplit("_", 1)[-1]
    return last if last in TIERS else ""


@dataclass(frozen=True)
class TableColumn:
    """One column of a plain text table: its header, cells, alignment and drop priority."""

    header: str
    cells: tuple[str, ...]
    right: bool = False
    keep: int = 0  # higher is kept longer when the terminal is narrow; ids are never dropped

    @property
    def width(self) -> int:
        """The widest cell or the header."""
        return max([len(self.header), *(len(c) for c in self.cells)])


_ID_KEEP = 99


def scene_columns(scenes: Sequence[Scene]) -> list[TableColumn]:
    """Every column of the search table, in display order.

    Columns with no value at all (land cloud cover when the service sent none) are left out.
    """

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value:g}"

    def path_row(scene: Scene) -> str:
        pr = scene.path_row()
        return f"{pr[0]:03d}/{pr[1]:03d}" if pr else ""

    columns = [
        TableColumn("display id", tuple(s.display_id for s in scenes), keep=_ID_KEEP),
        TableColumn("entity id", tuple(s.entity_id for s in scenes), keep=_ID_KEEP),
        TableColumn(
            "acquired", tuple(s.acquired.isoformat() if s.acquired else "" for s in scenes), keep=4
        ),
        TableColumn("sensor", tuple(landsat_sensor(s.display_id) for s in scenes), keep=2),
        TableColumn("tier", tuple(landsat_tier(s.display_id) for s in scenes), keep=3),
        TableColumn("path/row", tuple(path_row(s) for s in scenes), keep=1),
        TableColumn("cloud %", tuple(pct(s.cloud_cover) for s in scenes), right=True, keep=6),
        TableColumn(
            "land cloud %",
            tuple(pct(s.land_cloud_cover) for s in scenes),
            right=True,
            keep=5,
        ),
    ]
    return [c for c in columns if c.keep == _ID_KEEP or any(c.cells)]


#: Spaces between two columns.
GAP = 2


def fit_columns(columns: Sequence[TableColumn], width: int) -> list[TableColumn]:
    """Drop the least useful columns until the rest fit ``width``; ids always stay."""
    kept = list(columns)
    while sum(c.width for c in kept) + GAP * (len(kept) - 1) > width:
        droppable = [c for c in kept if c.keep < _ID_KEEP]
        if not droppable:
            break
        kept.remove(min(droppable, key=lambda c: c.keep))
    return kept


def aligned_lines(columns: Sequence[TableColumn], rows: int) -> list[str]:
    """The header and ``rows`` rows, each column padded to its width (no trailing spaces)."""

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(c.width) if c.right else cell.ljust(c.width)
            for c, cell in zip(columns, cells, strict=True)
        ]
        return (" " * GAP).join(parts).rstrip()

    if not columns:
        return []
    lines = [line([c.header for c in columns])]
    lines += [line([c.cells[k] for c in columns]) for k in range(rows)]
    return lines


def _human(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover


#: A check's status -> (mark, plain-ASCII mark for terminals that cannot show it, rich style).
CHECK_MARKS = {
    "ok": ("✔", "ok", "green"),
    "warn": ("!", "!", "yellow"),
    "fail": ("✘", "x", "bold red"),
    "skip": ("·", "-", "dim"),
}


def check_mark(status: str, encoding: str | None) -> tuple[str, str]:
    """The mark of a check's ``status`` that ``encoding`` can show, and its rich style."""
    mark, plain, style = CHECK_MARKS[status]
    try:
        mark.encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        mark = plain
    return mark, style


def escape(text: str) -> str:
    """``text`` with rich markup escaped (rich's :func:`rich.markup.escape`)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def may_be_terminal(stream: IO[str] | None, environ: dict[str, str] | None = None) -> bool:
    """False only when rich's ``Console(file=stream).is_terminal`` is certainly False.

    rich treats a stream as a terminal when ``TTY_COMPATIBLE=1`` or a non-empty
    ``FORCE_COLOR`` is set, or else when the stream is a tty. Without any of these, :class:`Ui`
    knows that no status line is due without building a console, and so without importing
    rich before a command's first API call. rich stays the judge whenever this says True.
    """
    env = os.environ if environ is None else environ
    if env.get("TTY_COMPATIBLE", "") == "1" or env.get("FORCE_COLOR"):
        return True
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


@functools.cache
def _console_class() -> type[Console]:
    """rich's Console, except that a closed pipe is m2mdl's :class:`OutputClosed`.

    rich's own :meth:`~rich.console.Console.on_broken_pipe` raises ``SystemExit(1)``, which
    would pass by ``cli._app``'s error handler: a reader such as ``head`` that quits early
    must give the documented exit code (2, nothing printed) whichever command was writing,
    and whether rich or a plain write met the closed pipe.
    """
    from rich.console import Console

    from .errors import OutputClosed

    class PipeAwareConsole(Console):
        """A Console whose broken pipe is an :class:`OutputClosed` error."""

        def on_broken_pipe(self) -> None:
            """Write nothing more and raise :class:`OutputClosed` (quiet)."""
            self.quiet = True
            raise OutputClosed("the standard output was closed (broken pipe)", quiet=True)

    return PipeAwareConsole


@dataclass
class Ui:
    """The two consoles and the verbosity of one command.

    The consoles (``out`` for data, ``err`` for messages) are made when first used; a test
    or a caller may set either to a console of its own.
    """

    quiet: bool = False
    verbose: bool = False
    color: bool = True
    _out: Console | None = field(default=None, init=False, repr=False)
    _err: Console | None = field(default=None, init=False, repr=False)

    @property
    def _no_color(self) -> bool:
        return not self.color or "NO_COLOR" in os.environ

    @property
    def out(self) -> Console:
        """stdout's console: as wide as the terminal, or unlimited when piped."""
        if self._out is None:
            Console = _console_class()

            out = Console(file=sys.stdout, no_color=self._no_color, highlight=False, soft_wrap=True)
            if not out.is_terminal:
                # Piped or redirected: tables as wide as their content, never cut to 80 columns.
                out = Console(
                    file=sys.stdout, no_color=self._no_color, highlight=False, width=PIPE_WIDTH
                )
            self._out = out
        return self._out

    @out.setter
    def out(self, console: Console) -> None:
        self._out = console

    @property
    def err(self) -> Console:
        """stderr's console (messages, warnings, progress)."""
        if self._err is None:
            Console = _console_class()

            self._err = Console(
                file=sys.stderr, no_color=self._no_color, highlight=False, soft_wrap=True
            )
        return self._err

    @err.setter
    def err(self, console: Console) -> None:
        self._err = console

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

    def check_line(self, status: str, name: str, detail: str, fix: str | None = None) -> None:
        """One check of ``m2mdl doctor`` on stdout: its mark, name and detail; the fix below."""
        mark, style = check_mark(status, sys.stdout.encoding)
        self.out.print(f"[{style}]{mark}[/] {escape(name)}: {escape(detail)}", highlight=False)
        if fix:
            self.out.print(f"  [cyan]fix:[/] {escape(fix)}", highlight=False)

    def data(self, text: str) -> None:
        """Machine output on stdout, written as is (no markup, no wrapping)."""
        sys.stdout.write(text)
        sys.stdout.flush()

    # --- phases (Reporter protocol) -------------------------------------------------------------

    @property
    def live(self) -> bool:
        """True when stderr is a real terminal and --quiet is off: status lines are shown."""
        if self.quiet or (self._err is None and not may_be_terminal(sys.stderr)):
            return False
        return self.err.is_terminal and not self.err.is_dumb_terminal

    def phase(self, message: str) -> None:
        """A status line for a step that takes a while ("searching ...", "requesting ...").

        Shown on a terminal only: logs and cron mails keep their old, shorter form (the same
        steps are logged with --verbose).
        """
        if self.live:
            self.err.print(f"[bold blue]>[/] {escape(message)}", highlight=False)

    def plan_line(self, scenes: int, files: int, present: int, todo_bytes: int | None) -> None:
        """The plan in one line: scenes, files, bytes to download, already present."""
        self.phase(plan_text(scenes, files, present, todo_bytes))

    def request_line(self, ready: int, preparing: int) -> None:
        """After download-request: how many files can start now and how many are preparing."""
        self.phase(request_text(ready, preparing))

    # --- progress -----------------------------------------------------------------------------

    def progress(self, total_files: int, total_bytes: int | None) -> ProgressSink:
        """The progress display that fits: rich bars, plain lines, or nothing."""
        if self.quiet:
            from .transfer import NullSink

            return NullSink()
        if self.err.is_terminal and not self.err.is_dumb_terminal:
            return RichProgress(self.err, total_files, total_bytes)
        return PlainProgress(self.err, total_files, total_bytes)

    # --- tables -------------------------------------------------------------------------------

    def scenes_table(self, scenes: Sequence[Scene], total_hits: int) -> None:
        """The search results as a table on stdout; the count goes to stderr.

        Ids are never cut. On a terminal, columns that do not fit are left out, least useful
        first (path/row, sensor and tier can be read from the display id); piped or
        redirected, every column is written in full as plain aligned text.
        """
        self.info(
            f"{len(scenes)} scene(s)"
            + (f" of {total_hits} hits" if total_hits > len(scenes) else "")
        )
        columns = scene_columns(scenes)
        if self.out.is_terminal:
            columns = fit_columns(columns, self.out.width)
        lines = aligned_lines(columns, len(scenes))
        if self.out.is_terminal and lines:
            self.out.print(escape(lines[0]), style="bold", soft_wrap=True)
            for line in lines[1:]:
                self.out.print(escape(line), soft_wrap=True)
        else:
            self.data("".join(line + "\n" for line in lines))

    def options_tables(self, products: Sequence[Product], groups: Sequence[FileGroup]) -> None:
        """Per scene: bundles, single files and band groups."""
        from rich.table import Table

        from .workflow.plan import secondary_files

        by_scene: dict[str, list[Product]] = {}
        for product in products:
            by_scene.setdefault(product.display_id, []).append(product)
        for display_id, items in by_scene.items():
            table = Table(title=display_id, show_lines=False)
            for column in ("kind", "name", "product", "system", "size", "available"):
                table.add_column(column, overflow="fold")
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
                table.add_column(column, overflow="fold")
            for group in groups:
                table.add_row(group.group_id, group.label, str(len(group.files)))
            self.out.print(table)

    def plan_table(self, outcome: Outcome) -> None:
        """The dry-run plan: scenes x files, sizes, what is already present."""
        from rich.table import Table

        table = Table(title="download plan (dry run: nothing was requested)")
        for column in ("file", "scene", "product", "size", "state"):
            table.add_column(column, overflow="fold")
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


class Tally:
    """What one run's transfers did, for the display and its closing line (thread-safe).

    Bytes that were already on disk when a file resumed count toward the overall bar but never
    toward speed, ETA or the average: they did not cross the network in this run. A file
    stopped by Ctrl-C or ``--deadline`` is not a failure: it is *interrupted* when it had
    started (its ``.part`` resumes next run) and *not started* otherwise.
    """

    #: Speed is averaged over this many recent seconds (like aria2c's and rich's window).
    WINDOW = 10.0

    def __init__(
        self, total_files: int, total_bytes: int | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lock = threading.Lock()
        self.clock = clock
        self.total_files, self.total_bytes = total_files, total_bytes
        self.started_at = clock()
        self.run_bytes = 0  # bytes received in this run, re-sent ones included
        self.disk_bytes = 0  # bytes of this run's files on disk, resumed ones included
        self.done = self.failed = self.interrupted = 0
        self.stopped: str | None = None  # "interrupted" or "deadline" once a stop was seen
        self.resent_bytes = 0  # bytes of this run that a restart from a lower offset threw away
        self._started: set[str] = set()
        self._on_disk: dict[str, int] = {}  # each file's share of disk_bytes
        self._moved: dict[str, int] = {}  # each file's bytes of this run still on disk
        self._samples: deque[tuple[float, int]] = deque([(self.started_at, 0)])

    def start(self, key: str, done: int) -> None:
        """A file (re)starts with ``done`` bytes already on disk.

        A restart replaces the file's share of :attr:`disk_bytes` with ``done``: a file that
        starts over from byte 0 counts once, never twice (the overall bar stays within its
        total). Bytes of this run that the restart threw away count as :attr:`resent_bytes`.
        """
        self._started.add(key)
        before = self._on_disk.get(key, 0)
        dropped = min(max(before - done, 0), self._moved.get(key, 0))
        if dropped:
            self.resent_bytes += dropped
            self._moved[key] -= dropped
        self.disk_bytes += done - before
        self._on_disk[key] = done

    def advance(self, nbytes: int, key: str | None = None) -> None:
        """``nbytes`` more bytes of file ``key`` arrived over the network."""
        self.run_bytes += nbytes
        self.disk_bytes += nbytes
        if key is not None:
            self._on_disk[key] = self._on_disk.get(key, 0) + nbytes
            self._moved[key] = self._moved.get(key, 0) + nbytes
        now = self.clock()
        self._samples.append((now, self.run_bytes))
        while len(self._samples) > 2 and self._samples[1][0] < now - self.WINDOW:
            self._samples.popleft()

    def finish(self, result: FileResult) -> str:
        """Count a result; returns "done", "failed", "interrupted" or "not started"."""
        if result.ok:
            self.done += 1
            return "done"
        if result.error_kind in STOP_KINDS:
            self.stopped = result.error_kind
            if result.key in self._started:
                self.interrupted += 1
                return "interrupted"
            return "not started"
        self.failed += 1
        return "failed"

    @property
    def finished(self) -> int:
        """Files with a final outcome (done or failed), the counter's numerator."""
        return self.done + self.failed

    @property
    def not_started(self) -> int:
        """Files never begun in this run (all of them, once a stop was seen)."""
        return self.total_files - self.finished - self.interrupted

    def elapsed(self) -> float:
        """Seconds since the display started."""
        return self.clock() - self.started_at

    def speed(self) -> float | None:
        """Bytes per second over the last ``WINDOW`` seconds of this run, None before data."""
        now = self.clock()
        first_t, first_b = self._samples[0]
        if self.run_bytes == 0 or now - first_t < 0.5:
            return None
        return (self.run_bytes - first_b) / (now - first_t)

    def eta(self) -> float | None:
        """Seconds left at the current speed, None when unknown."""
        speed = self.speed()
        if not speed or self.total_bytes is None:
            return None
        return max(self.total_bytes - self.disk_bytes, 0) / speed

    def closing_line(self) -> str:
        """The last line of a run: what happened, how long it took, the average speed.

        The size is what this run added to the files (each byte once); bytes a restart
        discarded and the server sent again are named apart, as "re-sent".
        """
        elapsed = self.elapsed()
        kept = self.run_bytes - self.resent_bytes
        average = kept / elapsed if elapsed > 0 else 0.0
        moved = f"{_human(kept)} in {duration(elapsed)} ({_human(int(average))}/s)"
        if self.resent_bytes:
            moved += f" (+{_human(self.resent_bytes)} re-sent)"
        if self.stopped is not None:
            reason = "deadline reached" if self.stopped == "deadline" else "interrupted"
            return (
                f"{reason}: {self.done} done, {self.interrupted} interrupted (resumes next run),"
                f" {self.not_started} not started"
                + (f", {self.failed} failed" if self.failed else "")
                + f"; {moved}"
            )
        failed = f", {self.failed} failed" if self.failed else ""
        return f"{self.done} of {self.total_files} file(s) done{failed}: {moved}"


#: FileResult.error_kind values that mean "stopped before the end", not "went wrong".
STOP_KINDS = frozenset({"interrupted", "deadline"})


def duration(seconds: float) -> str:
    """``75.2`` -> "1 min 15 s"; "0.4 s" under 10 s; hours when long."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


@functools.cache
def _tally_columns() -> tuple[type[ProgressColumn], type[ProgressColumn]]:
    """The speed and ETA columns of :class:`RichProgress` (rich's base class is imported
    with the first progress bar, not with this module)."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class SpeedColumn(ProgressColumn):
        """Speed from the task's ``speed`` field (set from a Tally) or rich's own estimate."""

        def render(self, task: Task) -> Text:
            """ "12.3 MB/s", or "?" before any byte arrived."""
            speed = task.fields.get("speed", task.speed)
            text = "?" if not speed else f"{_human(int(speed))}/s"
            return Text(text, style="progress.data.speed")

    class EtaColumn(ProgressColumn):
        """Time left from the task's ``eta`` field (set from a Tally) or rich's own estimate."""

        def render(self, task: Task) -> Text:
            """ "0:01:05", or "-:--:--" when unknown."""
            eta = task.fields.get("eta", task.time_remaining)
            if eta is None:
                return Text("-:--:--", style="progress.remaining")
            minutes, seconds = divmod(int(eta), 60)
            hours, minutes = divmod(minutes, 60)
            return Text(f"{hours}:{minutes:02d}:{seconds:02d}", style="progress.remaining")

    return SpeedColumn, EtaColumn


def bar_layout(width: int) -> tuple[int, int]:
    """(label width, bar width) for a terminal ``width`` columns wide, fixed for a whole run.

    Labels get about a third of the line (20 to 36 columns, enough for
    "068018 2020-03-10 SR_B5.TIF"); the bar takes what is left after the fixed-width
    numbers, 10 to 40 columns. Computing both once keeps every bar in place when the longest
    label finishes.
    """
    label = max(20, min(36, int(width * 0.36)))
    numbers = _SIZE_WIDTH + _SPEED_WIDTH + _ETA_WIDTH + 4  # four one-space gaps
    return label, max(10, min(40, width - label - numbers - 1))


_SIZE_WIDTH, _SPEED_WIDTH, _ETA_WIDTH = 17, 11, 7


class RichProgress:
    """rich bars: one overall (bytes, speed, ETA, files done) and one per active transfer.

    Every column has a fixed width computed once, so bars never move sideways. The overall
    speed and ETA come from a :class:`Tally` (bytes moved in this run only). ``close()``
    prints the closing line: totals, elapsed time and average speed, or on Ctrl-C what was
    done, interrupted and not started.
    """

    def __init__(
        self,
        console: Console,
        total_files: int,
        total_bytes: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
        from rich.table import Column

        speed_column, eta_column = _tally_columns()
        self._lock = threading.Lock()
        self.tally = Tally(total_files, total_bytes, clock)
        label_width, bar_width = bar_layout(console.width)
        self._progress = Progress(
            TextColumn(
                "{task.description}",
                table_column=Column(width=label_width, no_wrap=True, overflow="ellipsis"),
            ),
            BarColumn(bar_width=bar_width),
            DownloadColumn(table_column=Column(width=_SIZE_WIDTH, justify="right")),
            speed_column(table_column=Column(width=_SPEED_WIDTH, justify="right")),
            eta_column(table_column=Column(width=_ETA_WIDTH, justify="right")),
            console=console,
            refresh_per_second=10,
            transient=False,
        )
        self._overall = self._progress.add_task(self._overall_label(), total=total_bytes or None)
        self._tasks: dict[str, TaskID] = {}
        self._closed = False
        self._progress.start()

    def _overall_label(self) -> str:
        return f"[bold]all[/] {self.tally.finished}/{self.tally.total_files} files"

    def _refresh_overall(self) -> None:
        self._progress.update(
            self._overall,
            completed=self.tally.disk_bytes,
            description=self._overall_label(),
            speed=self.tally.speed(),
            eta=self.tally.eta(),
        )

    def file_started(self, key: str, name: str, total: int | None, done: int) -> None:
        """Add (or reset) the file's bar."""
        with self._lock:
            self.tally.start(key, done)
            if key in self._tasks:
                self._progress.reset(self._tasks[key], total=total, completed=done)
                return
            self._tasks[key] = self._progress.add_task(
                escape(short_name(name)), total=total, completed=done
            )
            self._refresh_overall()

    def file_advanced(self, key: str, nbytes: int) -> None:
        """Advance the file's and the overall bar."""
        with self._lock:
            self.tally.advance(nbytes, key)
            task = self._tasks.get(key)
            if task is not None:
                self._progress.advance(task, nbytes)
            self._refresh_overall()

    def file_retrying(self, key: str, attempt: int, reason: str, delay: float) -> None:
        """Show the retry in the file's description."""
        with self._lock:
            task = self._tasks.get(key)
            if task is not None:
                self._progress.update(
                    task, description=f"[yellow]retry {attempt}[/] {escape(reason[:40])}"
                )

    def file_finished(self, result: FileResult) -> None:
        """Remove the file's bar; count it; print real failures above the bars."""
        with self._lock:
            task = self._tasks.pop(result.key, None)
            if task is not None:
                self._progress.remove_task(task)
            outcome = self.tally.finish(result)
            self._refresh_overall()
            if outcome == "failed":
                self._progress.console.print(
                    f"[red]failed[/] {escape(result.dest.name)}: {escape(result.error or '')}"
                )

    def snapshot(self) -> list[str]:
        """The bars as the terminal shows them now, as plain text lines."""
        with self._lock:
            console = self._progress.console
            lines = console.render_lines(self._progress.get_renderable(), pad=False)
            return ["".join(segment.text for segment in line).rstrip() for line in lines]

    def close(self) -> None:
        """Stop refreshing and print the closing line (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._refresh_overall()
            self._progress.stop()
            self._progress.console.print(escape(self.tally.closing_line()), highlight=False)


class PlainProgress:
    """Progress for logs and cron: a line every PLAIN_INTERVAL seconds and one per failure.

    The rate counts only bytes moved in this run; files stopped by a signal or ``--deadline``
    are not printed as failures (the manifest keeps them pending).
    """

    def __init__(
        self,
        console: Console,
        total_files: int,
        total_bytes: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._console = console
        self._lock = threading.Lock()
        self.tally = Tally(total_files, total_bytes, clock)
        self._last = self.tally.started_at

    def file_started(self, key: str, name: str, total: int | None, done: int) -> None:
        """Count bytes already on disk."""
        with self._lock:
            self.tally.start(key, done)

    def file_advanced(self, key: str, nbytes: int) -> None:
        """Count bytes; print a line now and then."""
        with self._lock:
            tally = self.tally
            tally.advance(nbytes, key)
            now = tally.clock()
            if now - self._last >= PLAIN_INTERVAL:
                self._last = now
                rate = tally.run_bytes / max(tally.elapsed(), 1e-6)
                self._console.print(
                    f"progress: {tally.finished}/{tally.total_files} files, "
                    f"{_human(tally.disk_bytes)} of {_human(tally.total_bytes)}, "
                    f"{_human(int(rate))}/s",
                    highlight=False,
                )

    def file_retrying(self, key: str, attempt: int, reason: str, delay: float) -> None:
        """Retries are routine; they show in the manifest, not in cron mail."""

    def file_finished(self, result: FileResult) -> None:
        """Count the file; print failures."""
        with self._lock:
            if self.tally.finish(result) == "failed":
                self._console.print(f"failed: {result.dest.name}: {result.error}", highlight=False)
