"""The progress display: phase lines, fixed columns, this run's speed, truthful endings."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from m2mdl.transfer import FileResult
from m2mdl.ui import (
    PlainProgress,
    RichProgress,
    Tally,
    Ui,
    bar_layout,
    duration,
    plan_text,
    request_text,
)

MB = 1_000_000
NAMES = [
    "LC08_L2SP_068018_20200310_20200822_02_T1_SR_B5.TIF",
    "LC08_L2SP_068018_20200310_20200822_02_T1_ANG.txt",
    "LC08_L2SP_068018_20200310_20200822_02_T1_QA_AEROSOL.TIF",
]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def result(key: str, ok: bool = True, kind: str | None = None, size: int = 0) -> FileResult:
    return FileResult(
        key=key,
        dest=Path(f"/out/{key}"),
        ok=ok,
        size=size,
        sha512="0" * 128 if ok else None,
        attempts=1,
        bytes_received=size,
        error=None if ok else f"{kind}: stopped",
        error_kind=kind,
    )


def terminal(width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=width, no_color=True), buffer


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


# --- the tally: what moved in this run ----------------------------------------------------------


def test_resumed_bytes_fill_the_bar_but_not_the_speed() -> None:
    clock = Clock()
    tally = Tally(2, 100 * MB, clock)
    tally.start("a", 60 * MB)  # 60 MB were on disk from an earlier run
    for _ in range(10):
        clock.now += 1
        tally.advance(2 * MB, "a")
    assert tally.disk_bytes == 80 * MB and tally.run_bytes == 20 * MB
    assert tally.speed() == pytest.approx(2 * MB)
    assert tally.eta() == pytest.approx(10.0)
    tally.start("a", 0)  # a restart from byte 0: the file's bytes count once, not twice
    assert tally.disk_bytes == 0 and tally.resent_bytes == 20 * MB


def test_speed_follows_the_last_ten_seconds() -> None:
    clock = Clock()
    tally = Tally(1, None, clock)
    assert tally.speed() is None
    for _ in range(20):
        clock.now += 1
        tally.advance(10 * MB)
    for _ in range(15):
        clock.now += 1
        tally.advance(1 * MB)
    assert tally.speed() == pytest.approx(1 * MB, rel=0.15)
    assert tally.eta() is None  # total unknown


def test_closing_line_after_a_full_run() -> None:
    clock = Clock()
    tally = Tally(3, 30 * MB, clock)
    for key in "abc":
        tally.start(key, 0)
        tally.advance(10 * MB)
    clock.now += 75
    for key in "ab":
        assert tally.finish(result(key)) == "done"
    assert tally.finish(result("c", ok=False, kind="http")) == "failed"
    assert (
        tally.closing_line() == "2 of 3 file(s) done, 1 failed: 30.0 MB in 1 min 15 s (400.0 kB/s)"
    )


def test_ctrl_c_counts_done_interrupted_and_not_started() -> None:
    clock = Clock()
    tally = Tally(5, 50 * MB, clock)
    tally.start("a", 0)
    tally.advance(10 * MB)
    tally.finish(result("a"))
    tally.start("b", 0)
    tally.advance(4 * MB)
    clock.now += 7
    assert tally.finish(result("b", ok=False, kind="interrupted")) == "interrupted"
    for key in "cde":  # the engine reports unstarted jobs as interrupted too
        assert tally.finish(result(key, ok=False, kind="interrupted")) == "not started"
    assert (tally.done, tally.finished, tally.interrupted, tally.not_started) == (1, 1, 1, 3)
    assert tally.closing_line() == (
        "interrupted: 1 done, 1 interrupted (resumes next run), 3 not started;"
        " 14.0 MB in 7.0 s (2.0 MB/s)"
    )


def test_deadline_is_named_as_such() -> None:
    tally = Tally(2, None, Clock())
    tally.finish(result("a", ok=False, kind="deadline"))
    assert tally.closing_line().startswith("deadline reached: 0 done, 0 interrupted")


def test_durations_read_like_a_person_would_say_them() -> None:
    assert duration(0.42) == "0.4 s"
    assert duration(75.2) == "1 min 15 s"
    assert duration(42) == "42 s"
    assert duration(3 * 3600 + 125) == "3 h 2 min"


# --- phase lines ------------------------------------------------------------------------------


def _ui(tty: bool, quiet: bool = False) -> tuple[Ui, io.StringIO]:
    ui = Ui(quiet=quiet, color=False)
    buffer = io.StringIO()
    ui.err = Console(file=buffer, force_terminal=tty, width=100, no_color=True)
    return ui, buffer


def test_phase_lines_on_a_terminal() -> None:
    ui, buffer = _ui(tty=True)
    ui.phase("searching landsat_ot_c2_l2")
    ui.plan_line(3, 24, 2, 1_100 * MB)
    ui.request_line(20, 2)
    assert plain(buffer.getvalue()).splitlines() == [
        "> searching landsat_ot_c2_l2",
        "> plan: 3 scenes, 24 files, 2 already present, 1.1 GB to download",
        "> requested 22 files: 20 ready, 2 preparing on the server",
    ]


@pytest.mark.parametrize(("tty", "quiet"), [(False, False), (True, True)])
def test_no_phase_lines_in_logs_or_with_quiet(tty: bool, quiet: bool) -> None:
    ui, buffer = _ui(tty=tty, quiet=quiet)
    ui.phase("searching")
    ui.plan_line(1, 1, 0, None)
    ui.request_line(1, 0)
    assert buffer.getvalue() == ""


def test_phase_texts_count_properly() -> None:
    assert plan_text(1, 1, 0, None) == "plan: 1 scene, 1 file, 0 already present, size unknown"
    assert request_text(1, 0) == "requested 1 file: 1 ready"


# --- the rich bars ------------------------------------------------------------------------------


def bar_starts(lines: list[str]) -> set[int]:
    """Column of the first bar character on each line that has a bar."""
    return {m.start() for line in lines if (m := re.search(r"[━╸╺]", line))}


@pytest.mark.parametrize("width", [80, 160])
def test_bars_do_not_move_when_the_longest_label_finishes(width: int) -> None:
    console, _ = terminal(width)
    clock = Clock()
    bars = RichProgress(console, 3, 30 * MB, clock)
    try:
        for key, name in zip("abc", NAMES, strict=True):
            bars.file_started(key, name, 10 * MB, 0)
            bars.file_advanced(key, 3 * MB)
        before = bars.snapshot()
        bars.file_finished(result("c"))  # the longest label goes away
        clock.now += 1
        bars.file_advanced("a", 2 * MB)
        after = bars.snapshot()
    finally:
        bars.close()
    assert len(before) == 4 and len(after) == 3
    assert len(bar_starts(before)) == 1
    assert bar_starts(before) == bar_starts(after)
    assert all(len(line) <= width for line in before + after)
    label_width, _ = bar_layout(width)
    assert bar_starts(before) == {label_width + 1}


def test_overall_speed_ignores_resumed_bytes() -> None:
    console, _ = terminal(120)
    clock = Clock()
    bars = RichProgress(console, 1, 100 * MB, clock)
    try:
        bars.file_started("a", NAMES[0], 100 * MB, 90 * MB)
        for _ in range(5):
            clock.now += 1
            bars.file_advanced("a", 1 * MB)
        overall = bars.snapshot()[0]
    finally:
        bars.close()
    assert "0/1 files" in overall and "95.0/100.0 MB" in overall
    assert "1.0 MB/s" in overall and "0:00:05" in overall


def test_ctrl_c_prints_no_failures_and_a_truthful_summary() -> None:
    console, buffer = terminal(100)
    clock = Clock()
    bars = RichProgress(console, 4, 40 * MB, clock)
    bars.file_started("a", NAMES[0], 10 * MB, 0)
    bars.file_advanced("a", 10 * MB)
    bars.file_finished(result("a", size=10 * MB))
    bars.file_started("b", NAMES[1], 10 * MB, 0)
    bars.file_advanced("b", 5 * MB)
    clock.now += 3
    bars.file_finished(result("b", ok=False, kind="interrupted"))
    bars.file_finished(result("c", ok=False, kind="interrupted"))
    bars.file_finished(result("d", ok=False, kind="interrupted"))
    assert "1/4 files" in bars.snapshot()[0]  # not 4/4
    bars.close()
    bars.close()
    text = plain(buffer.getvalue())
    assert "failed" not in text
    summary = "interrupted: 1 done, 1 interrupted (resumes next run), 2 not started;"
    assert text.count(summary) == 1


def test_real_failures_are_still_printed() -> None:
    console, buffer = terminal(100)
    bars = RichProgress(console, 1, None, Clock())
    bars.file_started("a", NAMES[0], None, 0)
    bars.file_finished(result("a", ok=False, kind="http"))
    bars.close()
    text = plain(buffer.getvalue())
    assert "failed a: http: stopped" in text
    assert "0 of 1 file(s) done, 1 failed: 0 B in 0.0 s (0 B/s)" in text


# --- plain progress (logs, cron) ---------------------------------------------------------------


def test_plain_progress_counts_only_this_runs_bytes_and_no_stopped_files() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    clock = Clock()
    sink = PlainProgress(console, 2, 100 * MB, clock)
    sink.file_started("a", NAMES[0], 100 * MB, 70 * MB)
    clock.now += 31
    sink.file_advanced("a", 31 * MB)
    sink.file_finished(result("b", ok=False, kind="deadline"))
    sink.file_finished(result("a", ok=False, kind="http"))
    assert buffer.getvalue().splitlines() == [
        "progress: 0/2 files, 101.0 MB of 100.0 MB, 1.0 MB/s",
        "failed: a: http: stopped",
    ]
