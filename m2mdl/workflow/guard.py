"""The plan guard: a download does something bounded, and says what, before it starts.

Two decisions live here, and only here:

* **The default window.** A ``download`` with no ``--start``, ``--end``, scene ids or
  ``--from`` searches the last ``Settings.default_days`` days (30 unless configured), not
  the whole archive since 1972: against the real service an AOI with no dates plans
  thousands of scenes and terabytes. The CLI prints the window it chose on stderr.
* **The size limit.** A plan larger than ``--max-size`` (``Settings.max_size``, 100 GB by
  default) needs a yes: a prompt in a terminal, ``--yes`` otherwise. Without a terminal and
  without ``--yes`` the run stops with exit 2 and prints the plan's scenes, files and bytes
  and the flag that allows it, like ``apt-get`` without ``-y``. ``--dry-run`` always only
  shows the plan, so it is never refused.

Sizes follow the usual conventions (``rclone``, ``pip``): SI units are powers of 1000
(``500MB``, ``2TB``), IEC units powers of 1024 (``1.5GiB``), a bare number is bytes; case and a
space before the unit do not matter; ``0`` disables the limit (every plan proceeds).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from ..errors import InputError, ParameterError, literal

if TYPE_CHECKING:
    from .plan import PlannedFile

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "p": 1000**5,
    "pb": 1000**5,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
    "pib": 1024**5,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(text: str, what: str = "${max_size}") -> int:
    """Bytes in a size such as ``100GB``, ``500 MB``, ``1.5GiB``, ``2tb`` or ``1048576``.

    Args:
        text: the size.
        what: how an error names the value: a :class:`ParameterError` template, usually the
            parameter's placeholder (``${limit_rate}``), so the CLI names its flag.

    Raises:
        ParameterError: not a size (names the value and the accepted units).
    """
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ParameterError(
            f"{what} {literal(repr(text))} is not a size",
            hint="write a number and a unit, e.g. 500MB, 100GB, 2TB or 1.5GiB",
        )
    value = float(match.group(1)) * _UNITS[unit]
    if not math.isfinite(value):
        raise ParameterError(f"{what} {literal(repr(text))} is too large")
    return int(value)


def format_size(size: int) -> str:
    """A size in SI units with one decimal (``2.4 TB``), as the progress display shows them."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "PB":
            break
        value /= 1000
    else:
        unit = "PB"
    return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"


def default_window(days: int, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The (start, end) dates searched when a download names no dates: the last ``days`` days.

    Both ends are inclusive, as M2M's acquisitionFilter reads them: the window holds exactly
    ``days`` calendar days (UTC), today included.

    Raises:
        InputError: ``days`` is below 1.
    """
    if days < 1:
        raise InputError(f"default_days {days} must be at least 1")
    end = today or dt.datetime.now(dt.timezone.utc).date()
    return end - dt.timedelta(days=days - 1), end


def describe_window(start: dt.date, end: dt.date, days: int) -> str:
    """The stderr note about the window a download chose by itself (a
    :func:`m2mdl.errors.spell` template: the caller names ``${start}``/``${end}``)."""
    return (
        f"no dates given: searching the last {days} days ({start.isoformat()} to"
        f" {end.isoformat()}); use ${{start}}/${{end}} for another period"
    )


@dataclass(frozen=True)
class PlanTotals:
    """What a plan would fetch.

    Attributes:
        scenes: scenes in the plan.
        files: files to fetch (already present files excluded).
        size: their bytes, counting only files whose size is known.
        unknown: files whose size the service did not give.
        scale: the files are this fraction of their real size (the sandbox serves them at
            its ``data_scale``); the limit applies to the real size.
    """

    scenes: int
    files: int
    size: int
    unknown: int = 0
    scale: float = 1.0

    @property
    def real_size(self) -> int:
        """The bytes the plan would have at real size (``size`` unless scaled)."""
        return round(self.size / self.scale) if self.scale > 0 else self.size

    @classmethod
    def of(
        cls, files: Sequence[PlannedFile], present: Collection[str], scale: float = 1.0
    ) -> PlanTotals:
        """The totals of a plan's files that are not already ``present`` (keys)."""
        todo = [f for f in files if f.key not in present]
        return cls(
            scenes=len({f.scene_entity_id for f in todo}),
            files=len(todo),
            size=sum(f.size or 0 for f in todo),
            unknown=sum(1 for f in todo if f.size is None),
            scale=scale,
        )

    def describe(self) -> str:
        """``3 scenes, 66 files, 2.4 TB`` (with ``at least`` when sizes are missing)."""
        size = format_size(self.real_size)
        if self.scale != 1.0:
            size += (
                f" at real size ({format_size(self.size)} in the sandbox, at {self.scale:g} scale)"
            )
        if self.unknown:
            size = f"at least {size} ({self.unknown} file(s) of unknown size)"
        return f"{self.scenes} scene(s), {self.files} file(s), {size}"


class Decision(Enum):
    """What to do with a plan."""

    PROCEED = "proceed"
    ASK = "ask"  # over the limit, a terminal is there: ask the user
    REFUSE = "refuse"  # over the limit, nobody to ask: exit 2


class PlanTooLarge(ParameterError):
    """A plan over ``max_size`` without a terminal to confirm it and without ``yes``."""


def decide(
    totals: PlanTotals, max_size: int, *, yes: bool, dry_run: bool, interactive: bool
) -> Decision:
    """Whether a plan may start: within the limit, confirmed by ``--yes``, or only shown.

    Args:
        totals: the plan.
        max_size: the limit in bytes (0: no limit).
        yes: ``--yes`` was given.
        dry_run: ``--dry-run``: the plan is only shown, so it always proceeds.
        interactive: stdin and stderr are terminals, so the user can be asked.
    """
    if dry_run or yes or max_size <= 0 or totals.real_size <= max_size:
        return Decision.PROCEED
    return Decision.ASK if interactive else Decision.REFUSE


def confirmation_question(totals: PlanTotals, max_size: int) -> str:
    """The prompt shown in a terminal for a plan over the limit (a
    :func:`m2mdl.errors.spell` template naming ``${max_size}``)."""
    return (
        f"The plan is {literal(totals.describe())}, over ${{max_size}} {format_size(max_size)}."
        " Download?"
    )


def too_large(totals: PlanTotals, max_size: int) -> PlanTooLarge:
    """The error for a plan over the limit with nobody to confirm it (exit 2)."""
    return PlanTooLarge(
        f"the plan is {literal(totals.describe())}, over ${{max_size}} {format_size(max_size)};"
        " not started without confirmation",
        hint="add ${yes} to download it anyway, raise ${max_size}, or narrow the search"
        " (${start}/${end}, ${cloud_max}, ${limit}); ${dry_run} lists the plan",
    )


def check_plan(
    totals: PlanTotals,
    max_size: int,
    *,
    yes: bool,
    dry_run: bool,
    interactive: bool,
    confirm: Callable[[str], bool],
) -> None:
    """Let a plan start, or stop it: ask ``confirm`` in a terminal, refuse without one.

    Raises:
        PlanTooLarge: over the limit and nobody confirmed it (a "no" at the prompt too).
    """
    decision = decide(totals, max_size, yes=yes, dry_run=dry_run, interactive=interactive)
    if decision is Decision.PROCEED:
        return
    if decision is Decision.ASK and confirm(confirmation_question(totals, max_size)):
        return
    raise too_large(totals, max_size)
