"""The benchmark cases, one module each, in the order they run.

Every case module has ``TITLE``, ``run(bench)`` (measure), ``evaluate(summary, sizes,
targets)`` (add its targets, each met or not) and ``render(summary, config, notes)`` (its section of
``latest.md``). ``CASES`` maps the case number used by ``--cases`` to its module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from cases import api_calls, capped_bundle, many_files, memory, one_stream, startup

if TYPE_CHECKING:
    from harness import Sizes
    from report import Summary, Targets
    from session import Bench


class Case(Protocol):
    """What a case module provides."""

    TITLE: str

    def run(self, bench: Bench) -> None:
        """Measure every tool of the case, in interleaved rounds."""

    def evaluate(self, summary: Summary, sizes: Sizes, targets: Targets) -> None:
        """Add the case's targets."""

    def render(self, summary: Summary, config: dict[str, Any], notes: dict[str, Any]) -> list[str]:
        """The case's section of the report (empty when it did not run)."""


#: ``--cases`` number -> module.
CASES: dict[str, Case] = {
    "1": one_stream,
    "2": many_files,
    "3": capped_bundle,
    "4": memory,
    "5": api_calls,
    "6": startup,
}
