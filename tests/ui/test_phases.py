"""Context.phases: the CLI's Ui shows the steps; a library reporter without them still works."""

from __future__ import annotations

from m2mdl.auth import MemoryStore
from m2mdl.config import resolve
from m2mdl.ui import Ui
from m2mdl.workflow.context import Context, PhaseReporter, Reporter, SilentReporter


class NotesOnly:
    """A library user's reporter from before phases existed: info and warn only."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def info(self, message: str) -> None:
        self.seen.append(message)

    def warn(self, message: str) -> None:
        self.seen.append(message)


def _context(reporter: Reporter) -> Context:
    return Context(settings=resolve({}), store=MemoryStore(), reporter=reporter)


def test_the_cli_ui_receives_phases() -> None:
    ui = Ui(quiet=True)
    assert isinstance(ui, PhaseReporter)
    assert _context(ui).phases is ui


def test_a_reporter_without_phases_gets_a_silent_stand_in() -> None:
    reporter = NotesOnly()
    phases = _context(reporter).phases
    assert isinstance(phases, SilentReporter)
    phases.phase("searching")
    phases.plan_line(1, 2, 0, None)
    phases.request_line(2, 0)
    assert reporter.seen == []
