"""The Typer app, its global options, and the one place where errors become messages.

Only the ``m2mdl.cli`` package imports typer.

Errors become messages in exactly one place, :func:`_handle`: an :class:`M2mdlError` prints
``error: ...`` and ``hint: ...`` on stderr and exits with its class's code; Ctrl-C exits 130;
anything else is a bug: one line (the traceback with --debug) and exit 1.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from .. import __version__
from ..errors import ExitCode, InputError, Interrupted, M2mdlError

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
    """Turn errors into one message and an exit code (the only place that does)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = kwargs.get("ctx")
        state: State = ctx.obj if isinstance(ctx, typer.Context) else State(flags={})
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except M2mdlError as exc:
            _print_error(state, str(exc), exc.hint)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            _print_error(state, "interrupted", Interrupted.default_hint)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Exception as exc:
            if state.debug:
                raise
            _print_error(
                state,
                f"internal error: {type(exc).__name__}: {exc}",
                "this is a bug in m2mdl; re-run with --debug for the traceback",
            )
            raise typer.Exit(int(ExitCode.BUG)) from None
        finally:
            state.close()

    return wrapper  # type: ignore[return-value]


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
    """SIGINT/SIGTERM set an event the transfer engine watches; a second SIGINT aborts."""
    stop = threading.Event()
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
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
