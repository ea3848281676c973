"""Unit tests of the plan guard: sizes, the default window, and the decision."""

from __future__ import annotations

import datetime as dt

import pytest

from m2mdl.cli.flags import FLAG_NAMES
from m2mdl.errors import ExitCode, InputError
from m2mdl.workflow.guard import (
    Decision,
    PlanTooLarge,
    PlanTotals,
    check_plan,
    decide,
    default_window,
    describe_window,
    format_size,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100GB", 100 * 1000**3),
        ("500MB", 500 * 1000**2),
        ("2TB", 2 * 1000**4),
        ("1.5GiB", int(1.5 * 1024**3)),
        ("1048576", 1048576),
        ("10 kb", 10_000),
        ("3 MiB", 3 * 1024**2),
        ("0", 0),
        (".5G", 500_000_000),
    ],
)
def test_parse_size_reads_si_and_iec_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "GB", "12 parsecs", "-5GB", "1e3", "1,5GB", "nan"])
def test_parse_size_refuses_what_is_not_a_size(text: str) -> None:
    with pytest.raises(InputError, match="is not a size") as info:
        parse_size(text)
    assert info.value.exit_code == ExitCode.INPUT
    assert repr(text) in str(info.value)


def test_format_size_uses_si_units() -> None:
    assert format_size(999) == "999 B"
    assert format_size(2_400_000_000_000) == "2.4 TB"
    assert format_size(56_700_000) == "56.7 MB"
    assert format_size(3 * 1000**5) == "3.0 PB"


def test_default_window_holds_exactly_the_last_days_including_today() -> None:
    start, end = default_window(30, dt.date(2026, 3, 31))
    assert (start, end) == (dt.date(2026, 3, 2), dt.date(2026, 3, 31))
    assert (end - start).days + 1 == 30
    note = describe_window(start, end, 30)
    assert "30 days" in note and "2026-03-02" in note and "2026-03-31" in note


def test_default_window_refuses_zero_days() -> None:
    with pytest.raises(InputError, match="default_days 0"):
        default_window(0, dt.date(2026, 1, 1))


BIG = PlanTotals(scenes=2572, files=56584, size=2_400_000_000_000)
SMALL = PlanTotals(scenes=3, files=3, size=30_000_000)
LIMIT = 100 * 1000**3


@pytest.mark.parametrize(
    ("totals", "yes", "dry_run", "interactive", "expected"),
    [
        (SMALL, False, False, False, Decision.PROCEED),
        (BIG, False, False, False, Decision.REFUSE),
        (BIG, False, False, True, Decision.ASK),
        (BIG, True, False, False, Decision.PROCEED),
        (BIG, False, True, False, Decision.PROCEED),
    ],
)
def test_decide(
    totals: PlanTotals, yes: bool, dry_run: bool, interactive: bool, expected: Decision
) -> None:
    assert decide(totals, LIMIT, yes=yes, dry_run=dry_run, interactive=interactive) is expected


def test_a_zero_limit_lets_every_plan_proceed() -> None:
    assert decide(BIG, 0, yes=False, dry_run=False, interactive=False) is Decision.PROCEED


def test_refusal_names_scenes_files_bytes_and_the_flag() -> None:
    with pytest.raises(PlanTooLarge) as info:
        check_plan(BIG, LIMIT, yes=False, dry_run=False, interactive=False, confirm=lambda q: True)
    error = info.value
    assert error.exit_code == ExitCode.INPUT
    assert "2572 scene(s)" in error.message and "56584 file(s)" in error.message
    assert "2.4 TB" in error.message and "100.0 GB" in error.message
    assert error.hint is not None and "add yes to download it anyway" in error.hint
    assert "over max_size 100.0 GB" in error.message, "a Python caller reads parameter names"
    spelled = error.spelled(FLAG_NAMES)
    assert spelled.hint is not None and "add --yes to download it anyway" in spelled.hint
    assert "over --max-size 100.0 GB" in spelled.message, "the CLI reads flags"


def test_the_prompt_decides_in_a_terminal() -> None:
    asked: list[str] = []

    def yes(question: str) -> bool:
        asked.append(question)
        return True

    check_plan(BIG, LIMIT, yes=False, dry_run=False, interactive=True, confirm=yes)
    assert len(asked) == 1 and "2.4 TB" in asked[0]
    with pytest.raises(PlanTooLarge):
        check_plan(BIG, LIMIT, yes=False, dry_run=False, interactive=True, confirm=lambda q: False)


def test_unknown_sizes_are_called_a_lower_bound() -> None:
    totals = PlanTotals(scenes=1, files=4, size=1000, unknown=2)
    assert "at least 1.0 KB (2 file(s) of unknown size)" in totals.describe()


def test_totals_count_only_files_still_to_fetch() -> None:
    from m2mdl.workflow.plan import PlannedFile

    def planned(scene: str, name: str, size: int | None) -> PlannedFile:
        return PlannedFile(f"{scene}/{name}", scene, scene, scene, "p", "b", name, size)

    files = [planned("A", "a1", 10), planned("A", "a2", None), planned("B", "b1", 5)]
    totals = PlanTotals.of(files, {"B/b1"})
    assert totals == PlanTotals(scenes=1, files=2, size=10, unknown=1)


def test_a_scaled_plan_is_judged_at_real_size() -> None:
    """The sandbox serves files at 1/100 of their size; the limit applies to the real size."""
    sandboxed = PlanTotals(scenes=2572, files=56584, size=24_000_000_000, scale=0.01)
    assert sandboxed.real_size == 2_400_000_000_000
    limit = parse_size("100GB")
    assert decide(sandboxed, limit, yes=False, dry_run=False, interactive=False) is Decision.REFUSE
    text = sandboxed.describe()
    assert "2.4 TB at real size" in text and "24.0 GB in the sandbox" in text, text
    assert PlanTotals(scenes=1, files=1, size=10).describe().endswith("10 B"), "unscaled"
