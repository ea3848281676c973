"""What a command opens, it closes: the HTTP sessions of its M2M clients and the sandbox.

The workflow :class:`~m2mdl.workflow.context.Context` owns every client it makes (the shared
one and those ``new_client()`` makes for login and logout) and closes their sessions when it
is closed; the CLI's ``State.session()`` closes the context and then stops the in-process
sandbox it started, on success and on error alike.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from m2mdl import sandbox as sandbox_package
from m2mdl.auth import MemoryStore
from m2mdl.config import resolve
from m2mdl.errors import ExitCode
from m2mdl.http import make_session as make_session_of_contexts
from m2mdl.sandbox import Sandbox
from m2mdl.workflow import context as context_module
from m2mdl.workflow.context import Context

from .cli_helpers import ANCHORAGE, env_for, run

SEARCH = ["search", "--aoi", str(ANCHORAGE), "--start", "2020-03-01", "--end", "2020-03-15"]


@dataclass
class Spy:
    """The sessions ``make_session`` made for contexts, and the ones closed since."""

    made: list[requests.Session] = field(default_factory=list)
    closed: list[requests.Session] = field(default_factory=list)

    def open(self) -> list[requests.Session]:
        """Sessions made and not closed."""
        return [s for s in self.made if not any(s is c for c in self.closed)]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    found = Spy()
    real: Callable[..., requests.Session] = make_session_of_contexts

    def make_session(**kwargs: object) -> requests.Session:
        session = real(**kwargs)
        close = session.close

        def closing() -> None:
            found.closed.append(session)
            close()

        session.close = closing  # type: ignore[method-assign]
        found.made.append(session)
        return session

    monkeypatch.setattr(context_module, "make_session", make_session)
    return found


@dataclass
class Sandboxes:
    """Every sandbox started in-process, and the ones stopped since."""

    started: list[Sandbox] = field(default_factory=list)
    stopped: list[Sandbox] = field(default_factory=list)


@pytest.fixture
def sandboxes(monkeypatch: pytest.MonkeyPatch) -> Sandboxes:
    found = Sandboxes()
    start, stop = Sandbox.start, Sandbox.stop

    def starting(self: Sandbox) -> Sandbox:
        found.started.append(self)
        return start(self)

    def stopping(self: Sandbox) -> None:
        found.stopped.append(self)
        stop(self)

    monkeypatch.setattr(sandbox_package.Sandbox, "start", starting)
    monkeypatch.setattr(sandbox_package.Sandbox, "stop", stopping)
    return found


def _refuses_connections(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=2):
            return False
    except OSError:
        return True


def test_context_close_closes_the_session_of_every_client_it_made(spy: Spy) -> None:
    ctx = Context(settings=resolve({"api_url": "http://127.0.0.1:9/"}), store=MemoryStore())
    first, second = ctx.new_client(), ctx.new_client("a-key")
    assert [first.session, second.session] == spy.made and spy.open() == spy.made
    ctx.close()
    assert spy.open() == []
    ctx.close()  # twice is harmless
    assert len(spy.closed) == 2


def test_login_search_and_logout_close_every_session(sandbox: Sandbox, spy: Spy) -> None:
    env = env_for(sandbox, M2MDL_USERNAME=None, M2MDL_TOKEN=None)  # type: ignore[arg-type]
    login = run(["login", "--username", "demo", "--token-stdin"], env, "demo-token\n")
    assert login.exit_code == 0, login.stderr
    made_by_login = len(spy.made)
    search = run(SEARCH, env)
    assert search.exit_code == 0, search.stderr
    logout = run(["logout"], env)
    assert logout.exit_code == 0, logout.stderr
    # login: new_client(); search: client(); logout: new_client(the stored key).
    assert made_by_login >= 1 and len(spy.made) >= made_by_login + 2, spy.made
    assert spy.open() == [], f"{len(spy.open())} of {len(spy.made)} sessions left open"


def test_a_failed_command_closes_its_sessions_too(sandbox: Sandbox, spy: Spy) -> None:
    env = env_for(sandbox, M2MDL_TOKEN="not-the-token")
    result = run(SEARCH, env)
    assert result.exit_code == ExitCode.AUTH, result.stderr
    assert spy.made and spy.open() == []


def test_the_sandbox_stops_when_the_command_ends(spy: Spy, sandboxes: Sandboxes) -> None:
    result = run(["--sandbox", *SEARCH, "--output", "json"])
    assert result.exit_code == 0, result.stderr
    assert len(sandboxes.started) == 1 and sandboxes.stopped == sandboxes.started
    assert _refuses_connections(sandboxes.started[0].api_url)
    assert spy.made and spy.open() == []


def test_the_sandbox_stops_when_the_session_cannot_be_set_up(
    tmp_path: Path, sandboxes: Sandboxes
) -> None:
    """The sandbox starts before the settings are read: a bad --config must not leave it up."""
    missing = tmp_path / "nonexistent.toml"
    result = run(["--sandbox", "--config", str(missing), *SEARCH])
    assert result.exit_code == ExitCode.INPUT, result.stderr
    assert len(sandboxes.started) == 1 and sandboxes.stopped == sandboxes.started
    assert _refuses_connections(sandboxes.started[0].api_url)


def test_the_sandbox_stops_after_the_context_is_closed(
    spy: Spy, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The context closes first (it may still talk to the sandbox), the sandbox last."""
    order: list[str] = []
    close = Context.close

    def closing(self: Context) -> None:
        order.append("context" if not sandboxes.stopped else "context after the sandbox")
        close(self)

    monkeypatch.setattr(Context, "close", closing)
    result = run(["--sandbox", *SEARCH, "--output", "json"])
    assert result.exit_code == 0, result.stderr
    assert order == ["context"] and len(sandboxes.stopped) == 1
