"""The Typer app, its global options, and the one place where errors become messages.

Only the ``m2mdl.cli`` package imports typer.

Errors become messages in exactly one place, :func:`handle`: an :class:`M2mdlError` prints
``error: ...`` and ``hint: ...`` on stderr and exits with its class's code; an OSError the user
or the OS can cause (full disk: 6; a bad path, stdout closed: 2) is translated first; Ctrl-C
exits 130; anything else is a bug: one line and exit 1. ``--debug`` prints the traceback too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import io
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from .. import __version__
from ..errors import ExitCode, InputError, Interrupted, M2mdlError, OutputClosed, from_os_error

app = typer.Typer(
    name="m2mdl",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
    help="Search and download Landsat Collection 2 data through the USGS M2M API.\n\n"
    "Exit codes: 0 done, 2 bad input, 3 authentication, 4 API refused, 5 network, "
    "6 some files failed or still preparing, 130 interrupted.",
)

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("m2mdl")


@dataclass
class State:
    """What the global options set up for a command."""

    flags: dict[str, Any]
    quiet: bool = False
    verbose: bool = False
    debug: bool = False
    color: bool = True
    sandbox: bool = False
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    def ui(self) -> Any:
        """The UI (rich is imported only when a command needs it)."""
        from ..ui import Ui

        return Ui(quiet=self.quiet, verbose=self.verbose, color=self.color)

    def context(self, ui: Any) -> Any:
        """A workflow Context with settings, credential store and reporter."""
        from ..auth import SecretFilter
        from ..config import resolve
        from ..workflow.context import Context

        secret_filter = SecretFilter()
        _setup_logging(self, secret_filter)
        if self.sandbox:
            store, api_url, stac_url = self._start_sandbox()
            settings = resolve(dict(self.flags, api_url=api_url, stac_url=stac_url))
        else:
            from ..auth import open_store

            settings = resolve(self.flags)
            store = open_store(ui.warn)
        return Context(settings=settings, store=store, reporter=ui, secret_filter=secret_filter)

    def _start_sandbox(self) -> tuple[Any, str, str]:
        from ..auth import Credentials, MemoryStore, StoredSession
        from ..sandbox import Sandbox, SandboxConfig

        # M2MDL_SANDBOX_LOG: the in-process sandbox logs every request there (JSON lines), so
        # a user can see for themselves what a run asked for and what was re-sent.
        log_path = os.environ.get("M2MDL_SANDBOX_LOG")
        sandbox = Sandbox(SandboxConfig(log_path=Path(log_path) if log_path else None)).start()
        self._cleanups.append(sandbox.stop)
        store = MemoryStore()  # trying m2mdl never touches real credentials
        store.save(StoredSession(Credentials("demo", "demo-token")))
        return store, sandbox.api_url, sandbox.stac_url

    def close(self) -> None:
        """Stop what the command started (the in-process sandbox)."""
        while self._cleanups:
            self._cleanups.pop()()


def _setup_logging(state: State, secret_filter: Any) -> None:
    level = logging.DEBUG if state.debug else logging.INFO if state.verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(secret_filter)  # secrets are redacted whatever the level
    root = logging.getLogger("m2mdl")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def handle(func: F) -> F:
    """Turn errors into one message and an exit code (the only place that does).

    m2mdl's own errors print their line and hint; an OSError a user or the OS can cause (full
    disk, a bad path, stdout closed) is translated by :func:`m2mdl.errors.from_os_error`
    first; anything else is a bug. ``--debug`` adds the traceback above the line, for every
    kind of error.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # Not isinstance(ctx, typer.Context): the context typer passes is its vendored click's
        # class, so that test failed and --debug was silently lost here.
        found = getattr(kwargs.get("ctx"), "obj", None)
        state = found if isinstance(found, State) else State(flags={})
        _guard_closed_stdout()
        try:
            result = func(*args, **kwargs)
            sys.stdout.flush()  # a closed pipe shows up here, not in the interpreter's exit
            return result
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            _print_error(state, "interrupted", Interrupted.default_hint)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Exception as exc:
            raise typer.Exit(_report(state, exc)) from None
        finally:
            state.close()

    return wrapper  # type: ignore[return-value]


def _report(state: State, exc: Exception) -> int:
    """Print ``exc`` as one error line and a hint (the traceback first with --debug)."""
    error = from_os_error(exc) if isinstance(exc, OSError) else None
    if isinstance(exc, M2mdlError):
        error = exc
    if isinstance(error, OutputClosed):
        _silence_stdout()
        if error.quiet:
            return int(error.exit_code)
    if state.debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    if error is not None:
        _print_error(state, str(error), error.hint)
        return int(error.exit_code)
    _print_error(
        state,
        f"internal error: {type(exc).__name__}: {exc}",
        "this is a bug in m2mdl; re-run with --debug for the traceback",
    )
    return int(ExitCode.BUG)


class _ClosedStream(io.TextIOBase):
    """Stands in for a stdout that was closed before m2mdl started (``>&-``)."""

    def write(self, text: str) -> int:
        """Refuse, as writing to a closed descriptor does."""
        raise OSError(errno.EBADF, "the standard output is closed")


def _guard_closed_stdout() -> None:
    """Python sets ``sys.stdout`` to None when fd 1 is closed at start-up, and print() then
    drops everything silently: make writes fail instead, so the error reaches the user."""
    if sys.stdout is None:
        sys.stdout = _ClosedStream()


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so that the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)


def _print_error(state: State, message: str, hint: str | None) -> None:
    try:
        state.ui().error(message, hint)
    except Exception:  # rich unusable (broken stderr encoding): plain text still reaches cron
        print(f"error: {message}", file=sys.stderr)


def _version(value: bool) -> None:
    if value:
        print(f"m2mdl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    api_url: Annotated[
        str | None,
        typer.Option(
            help="M2M service URL [env: M2MDL_API_URL; default: the real stable endpoint]",
            show_default=False,
        ),
    ] = None,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox", help="Run against a local M2M sandbox started in-process, as user demo."
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Config file [env: M2MDL_CONFIG; default: config.toml in the config dir]"
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no notes.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log steps on stderr.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Log everything (secrets redacted) and show tracebacks.")
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour (also NO_COLOR).")
    ] = False,
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = None,
) -> None:
    """Search and download Landsat Collection 2 data through the USGS M2M API."""
    if config is not None:
        os.environ["M2MDL_CONFIG"] = str(config)
    ctx.obj = State(
        flags={"api_url": api_url},
        quiet=quiet,
        verbose=verbose or debug,
        debug=debug or os.environ.get("M2MDL_DEBUG") == "1",
        color=not no_color,
        sandbox=sandbox,
    )


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT, SIGTERM and SIGHUP set an event the transfer engine watches; a second SIGINT
    aborts.

    SIGHUP is what a run gets when its ssh session or terminal goes away: it stops the run
    cleanly like SIGTERM (journals flushed, manifest saved, server state removed) instead of
    killing it outright. Use ``nohup`` or tmux to keep a run going after logging out.
    """
    stop = threading.Event()
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
            continue  # started under nohup: the user asked to survive the hang-up
        previous[sig] = signal.signal(sig, on_signal)
    try:
        yield stop
    finally:
        for old_sig, handler in previous.items():
            signal.signal(old_sig, handler)


def parse_date(value: str | None, flag: str) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) or None.

    Raises:
        InputError: not an ISO date.
    """
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None
