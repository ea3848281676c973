"""The Typer app, its global options, and the one place where errors become messages.

Only the ``m2mdl.cli`` package imports typer.

Errors become messages in exactly one place, :func:`handle`: an :class:`M2mdlError` prints
``error: ...`` and ``hint: ...`` on stderr and exits with its class's code; an OSError the user
or the OS can cause (full disk: 6; a bad path, stdout closed: 2) is translated first; Ctrl-C
exits 130; anything else is a bug: one line and exit 1. ``--debug`` prints the traceback too.

Questions to the user go through :func:`ask` and :func:`confirm`, the one place that reads the
terminal: the end of input (Ctrl-D) there is a missing answer (exit 2) or a "no", never a bug.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import importlib
import inspect
import io
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from .. import __version__
from ..errors import (
    ExitCode,
    InputError,
    Interrupted,
    M2mdlError,
    OutputClosed,
    ParameterError,
    from_os_error,
)
from .flags import FLAG_NAMES

if TYPE_CHECKING:  # real types for mypy; at run time these are imported when first needed
    from ..auth import CredentialStore, SecretFilter
    from ..ui import Ui
    from ..workflow.context import Context

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

# A typer command takes any parameters: the decorator keeps whatever signature it wraps.
F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("m2mdl")


@dataclass
class State:
    """What the global options set up for a command."""

    # Values for config.resolve(): str, int, bool or None by flag (resolve() checks them).
    flags: dict[str, Any]
    quiet: bool = False
    verbose: bool = False
    debug: bool = False
    color: bool = True
    sandbox: bool = False
    config: Path | None = None
    #: The in-process sandbox serves files at this fraction of their real size (1.0 otherwise);
    #: the plan guard compares real sizes, so ``--sandbox`` behaves as USGS would.
    size_scale: float = 1.0

    def ui(self) -> Ui:
        """The UI (rich is imported only when a command needs it)."""
        from ..ui import Ui

        return Ui(quiet=self.quiet, verbose=self.verbose, color=self.color)

    @contextmanager
    def session(self, ui: Ui) -> Iterator[Context]:
        """The command's :class:`Context`; on the way out, whatever happened, the context is
        closed and then the in-process sandbox (``--sandbox``) is stopped.

        The one owner of a session's lifecycle in the CLI: every command uses
        ``with state.session(ui) as context:``. Closing the context records when the session
        key was last used (M2M keys expire after two idle hours), even after an error, and
        closes the HTTP sessions of its clients; the sandbox they talked to stops last.
        """
        with contextlib.ExitStack() as stack:
            context = stack.enter_context(self._context(ui, stack))
            yield context

    def _context(self, ui: Ui, stack: contextlib.ExitStack) -> Context:
        """A workflow Context with settings, credential store and reporter (for :meth:`session`,
        which owns closing it); a sandbox it starts is stopped by ``stack``."""
        from ..auth import SecretFilter
        from ..config import resolve
        from ..workflow.context import Context

        secret_filter = SecretFilter()
        _setup_logging(self, secret_filter, ui)
        store: CredentialStore
        named = self.config is not None  # --config: the file must exist, see config.load_file
        if self.sandbox:
            store, api_url, stac_url = self._start_sandbox(stack)
            flags = dict(self.flags, api_url=api_url, stac_url=stac_url)
            settings = resolve(flags, path=self.config, required=named)
        else:
            from ..auth import open_store

            settings = resolve(self.flags, path=self.config, required=named)
            store = open_store(ui.warn)
        return Context(settings=settings, store=store, reporter=ui, secret_filter=secret_filter)

    def _start_sandbox(self, stack: contextlib.ExitStack) -> tuple[CredentialStore, str, str]:
        from ..auth import Credentials, MemoryStore, StoredSession
        from ..sandbox import Sandbox, SandboxConfig

        # M2MDL_SANDBOX_LOG: the in-process sandbox logs every request there (JSON lines), so
        # a user can see for themselves what a run asked for and what was re-sent.
        log_path = os.environ.get("M2MDL_SANDBOX_LOG")
        sandbox = Sandbox(SandboxConfig(log_path=Path(log_path) if log_path else None)).start()
        stack.callback(sandbox.stop)
        self.size_scale = sandbox.config.data_scale
        store = MemoryStore()  # trying m2mdl never touches real credentials
        store.save(StoredSession(Credentials("demo", "demo-token")))
        return store, sandbox.api_url, sandbox.stac_url


#: A log message shown at normal verbosity is cut to this many characters (one short line).
NOTICE_CHARS = 160


class _UiLogHandler(logging.Handler):
    """Log records at normal verbosity: one short ``warning:`` line each, through the UI.

    Printed by the UI's own console, a notice lands above live progress bars instead of
    through them, and it never carries a level name, a logger name or a second line: the
    details (a server's HTML page, a traceback) are for ``-v`` and ``--debug``.
    """

    def __init__(self, ui: Ui) -> None:
        super().__init__(logging.WARNING)
        self.ui = ui

    def emit(self, record: logging.LogRecord) -> None:
        """Print the record's first line, shortened."""
        try:
            lines = self.format(record).strip().splitlines() or [""]
            text = lines[0]
            if len(text) > NOTICE_CHARS:
                text = text[: NOTICE_CHARS - 1] + "…"
            self.ui.warn(text)
        except Exception:  # a log line never stops a command (logging's own rule)
            self.handleError(record)


def _setup_logging(state: State, secret_filter: SecretFilter, ui: Ui) -> None:
    """m2mdl's loggers by verbosity: ``--debug`` everything and ``-v`` the steps, in full;
    by default only warnings, as short notices through the UI; ``-q`` nothing (the final
    error is printed by :func:`_report`, not logged)."""
    handler: logging.Handler
    if state.debug or state.verbose:
        level = logging.DEBUG if state.debug else logging.INFO
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        level = logging.CRITICAL + 1 if state.quiet else logging.WARNING
        handler = _UiLogHandler(ui)
    handler.addFilter(secret_filter)  # secrets are redacted whatever the level
    root = logging.getLogger("m2mdl")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def handle(func: F) -> F:
    """Make ``func`` a command: global flags accepted after it, signals, one error report.

    * Errors become one message and an exit code here (the only place that does): m2mdl's own
      errors print their line and hint; an OSError a user or the OS can cause (full disk, a
      bad path, stdout closed) is translated by :func:`m2mdl.errors.from_os_error` first;
      anything else is a bug. ``--debug`` adds the traceback above the line.
    * The global flags (``--sandbox``, ``-q``, ``--config`` ...) are accepted after the
      command name too, like git's and gh's: they are added to the command's own options
      (and so to its ``--help``) and override the ones given before it.
    * SIGINT, SIGTERM and SIGHUP stop the command promptly (exit 130): see
      :class:`_StopSignals`.
    """

    @functools.wraps(func)
    def wrapper(  # Any: a command's own parameters and result pass through untouched
        *args: Any, **kwargs: Any
    ) -> Any:
        given = {name: kwargs.pop(GLOBAL_PREFIX + name, None) for name in _global_names()}
        # Not isinstance(ctx, typer.Context): the context typer passes is its vendored click's
        # class, so that test failed and --debug was silently lost here.
        found = getattr(kwargs.get("ctx"), "obj", None)
        state = found if isinstance(found, State) else State(flags={})
        _apply_globals(state, given)
        _guard_closed_stdout()
        try:
            with _StopSignals():
                result = func(*args, **kwargs)
            sys.stdout.flush()  # a closed pipe shows up here, not in the interpreter's exit
            return result
        except typer.Exit:
            raise
        # typer.Abort: what a click prompt raises for Ctrl-C or Ctrl-D. m2mdl asks through
        # ask() and confirm(), which never raise it; should a click prompt slip in, the user
        # still stopped the command, which is not a bug.
        except (KeyboardInterrupt, typer.Abort):
            _print_error(state, "interrupted", Interrupted.default_hint)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Exception as exc:
            raise typer.Exit(_report(state, exc)) from None

    # The annotations are evaluated once, here; typer reads the evaluated ones instead of
    # evaluating every string again (start-up: each command pays this when it is registered).
    signature = inspect.signature(func, eval_str=True)
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *_global_parameters()]
    )
    wrapper.__annotations__ = {
        name: param.annotation for name, param in signature.parameters.items()
    } | {"return": signature.return_annotation}
    return wrapper  # type: ignore[return-value]


#: Prefix of the global flags' parameter names when they are repeated on a command.
GLOBAL_PREFIX = "global_"


@functools.cache
def _global_names() -> tuple[str, ...]:
    """The global options' parameter names, as the app callback (:func:`main`) declares them."""
    return tuple(n for n in inspect.signature(main).parameters if n not in ("ctx", "version"))


@functools.cache
def _global_parameters() -> tuple[inspect.Parameter, ...]:
    """The app callback's options, renamed, as keyword-only parameters of a command.

    Made once and shared by every command (typer copies an option's settings before it
    changes them, as it does for the option aliases the commands already share).
    """
    params = inspect.signature(main, eval_str=True).parameters
    return tuple(
        params[name].replace(name=GLOBAL_PREFIX + name, kind=inspect.Parameter.KEYWORD_ONLY)
        for name in _global_names()
    )


def _apply_globals(state: State, given: Mapping[str, object]) -> None:
    """Global flags given after the command: a value overrides, a switch turns on."""
    if isinstance(given.get("api_url"), str):
        state.flags["api_url"] = given["api_url"]
    if isinstance(given.get("config"), Path):
        state.config = given["config"]  # type: ignore[assignment]  # narrowed just above
    state.sandbox = state.sandbox or given.get("sandbox") is True
    state.quiet = state.quiet or given.get("quiet") is True
    state.debug = state.debug or given.get("debug") is True
    state.verbose = state.verbose or state.debug or given.get("verbose") is True
    state.color = state.color and given.get("no_color") is not True


def _report(state: State, exc: Exception) -> int:
    """Print ``exc`` as one error line and a hint (the traceback first with --debug)."""
    error = from_os_error(exc) if isinstance(exc, OSError) else None
    if isinstance(exc, M2mdlError):
        error = exc
    if isinstance(error, ParameterError):
        error = error.spelled(FLAG_NAMES)
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


def ask(prompt: str, *, what: str, hint: str, secret: bool = False) -> str:
    """The line the user types at the terminal after ``prompt`` (not echoed when ``secret``).

    Raises:
        InputError: the input ended (Ctrl-D) before a line: no ``what`` was given; ``hint``
            names the other ways to give it.
        KeyboardInterrupt: Ctrl-C, which :func:`handle` reports as interrupted (exit 130).
    """
    answer = _read_line(prompt, secret=secret)
    if answer is None:
        raise InputError(f"no {what} given: the input ended at the prompt", hint=hint)
    return answer


def confirm(question: str) -> bool:
    """Ask ``question`` on stderr and read y or n; an empty answer is no.

    The end of input (Ctrl-D) is a no too: a user who gives no answer has not agreed.

    Raises:
        KeyboardInterrupt: Ctrl-C, which :func:`handle` reports as interrupted (exit 130).
    """
    while True:
        answer = _read_line(f"{question} [y/N]: ")
        if answer is None:
            return False
        value = answer.strip().lower()
        if value in ("y", "yes"):
            return True
        if value in ("", "n", "no"):
            return False
        print("please answer y or n", file=sys.stderr)


def _read_line(prompt: str, *, secret: bool = False) -> str | None:
    """One line from the terminal after ``prompt`` (on stderr; a secret's prompt and answer on
    the terminal itself, as :func:`getpass.getpass` does), or None at the end of input.

    The one place m2mdl reads an answer, so the one place that tells Ctrl-D (EOFError, by
    its type) from a bug. On Ctrl-D or Ctrl-C the cursor still follows the prompt: a new
    line first keeps the message that follows on a line of its own.
    """
    try:
        if secret:
            import getpass  # termios: only a prompt for a secret needs it

            return getpass.getpass(prompt)
        print(prompt, end="", file=sys.stderr, flush=True)
        return input()
    except EOFError:
        print(file=sys.stderr)
        return None
    except KeyboardInterrupt:
        print(file=sys.stderr)
        raise


def _version(value: bool) -> None:
    if value:
        print(f"m2mdl {__version__}")
        raise typer.Exit(int(ExitCode.OK))


@app.callback()
def main(
    ctx: typer.Context,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            metavar="URL",
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
            "--config",
            metavar="FILE",
            help="Config file [env: M2MDL_CONFIG; default: config.toml in the config dir]",
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
    ctx.obj = State(
        flags={"api_url": api_url},
        config=config,
        quiet=quiet,
        verbose=verbose or debug,
        debug=debug or os.environ.get("M2MDL_DEBUG") == "1",
        color=not no_color,
        sandbox=sandbox,
    )


#: The signal handlers of the running command (innermost last).
_ACTIVE: list[_StopSignals] = []


class _StopSignals:
    """SIGINT, SIGTERM and SIGHUP stop the command, cleanly and promptly.

    Each signal sets :attr:`stop`, the event the transfer engine and the wait for preparing
    files watch: while one of them runs, it winds down itself (journals flushed, manifest
    saved, server state removed) and the command exits 130. Anywhere else (a search, a plan,
    a login) nothing watches the event, so the handler also raises KeyboardInterrupt in the
    main thread: the command stops at once, the download workflow still saves its manifest,
    and :func:`handle` exits 130. A second SIGINT always aborts.

    SIGHUP is what a run gets when its ssh session or terminal goes away: it stops the run
    like SIGTERM instead of killing it outright. Use ``nohup`` or tmux to keep a run going
    after logging out (a SIGHUP ignored at start-up stays ignored).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.stop = threading.Event()
        # Previous handlers: a callable, SIG_DFL/SIG_IGN, or None, as signal.signal returns.
        self._previous: dict[signal.Signals, Any] = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
                    continue  # started under nohup: the user asked to survive the hang-up
                self._previous[sig] = signal.signal(sig, self._on_signal)
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.remove(self)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.stop.set()
        if not _watching(frame, self.stop):
            raise KeyboardInterrupt


def _watching(frame: FrameType | None, stop: threading.Event) -> bool:
    """Whether the interrupted main thread will notice ``stop`` by itself: it is inside the
    transfer engine, or blocked in ``stop.wait()`` (the wait for preparing files)."""
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith("m2mdl.transfer"):
            return True
        if frame.f_code.co_name == "wait" and frame.f_locals.get("self") is stop:
            return True
        frame = frame.f_back
    return False


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """The event SIGINT, SIGTERM and SIGHUP set, for the transfer engine to watch.

    Inside a command the handlers are already installed by :func:`handle`; elsewhere (a test,
    a script) they are installed for the duration of the block. See :class:`_StopSignals`.
    """
    if _ACTIVE:
        yield _ACTIVE[-1].stop
        return
    with _StopSignals() as signals:
        yield signals.stop


#: Each command and the module of ``m2mdl.cli`` that defines it, in the order ``--help``
#: lists them (tests/test_startup.py checks it against the registered commands).
COMMANDS: Mapping[str, str] = {
    "login": "account",
    "logout": "account",
    "aoi": "aoi",
    "search": "search",
    "options": "search",
    "download": "download",
    "cleanup": "download",
    "verify": "verify",
    "doctor": "doctor",
}


def register(command: str | None = None) -> None:
    """Register ``command`` (the module that defines it), or with None every command, in
    :data:`COMMANDS`' order whatever was imported before."""
    if command is not None and command in COMMANDS:
        importlib.import_module(f"{__package__}.{COMMANDS[command]}")
        return
    for module in dict.fromkeys(COMMANDS.values()):
        importlib.import_module(f"{__package__}.{module}")
    # A command of these modules that the table misses is listed last (and registered only
    # with the whole app); tests/test_startup.py checks the table against the modules.
    order = {name: rank for rank, name in enumerate(COMMANDS)}
    app.registered_commands.sort(key=lambda info: order.get(command_name(info), len(order)))


def command_name(info: typer.models.CommandInfo) -> str:
    """The name a registered command is invoked by (typer's rule: the function's name with
    dashes for underscores, unless the command was given a name)."""
    assert info.callback is not None  # every m2mdl command has its function
    return info.name or info.callback.__name__.replace("_", "-")


def _command_of(args: Sequence[str]) -> str | None:
    """The command to register for ``args``: their first word when it is one, else None (all).

    Only a command given first is trusted: a global option before it, ``--help``, no
    arguments or shell completion need the whole app (the help lists every command).
    """
    # _M2MDL_COMPLETE: Click's completion variable for the program m2mdl (completions/).
    if not args or "_M2MDL_COMPLETE" in os.environ:
        return None
    return args[0] if args[0] in COMMANDS else None


def run(args: list[str]) -> int:
    """Run the app on ``args`` and return the exit code.

    Only the command that runs is registered (start-up: the other command modules and their
    option declarations cost time that this run would not use); see :func:`register`.

    Usage errors are shortened to one line, like every other m2mdl error (Click's default is
    a usage block plus the error); they are typer's exceptions, recognised by their class.
    """
    register(_command_of(args))
    try:
        code = app(args=args, prog_name="m2mdl", standalone_mode=False)
    except typer.TyperException as exc:  # typer's (vendored click's) usage errors
        if not args:  # bare `m2mdl` (no_args_is_help): the help, on stderr, exit 2
            print(exc.format_message(), file=sys.stderr)
            return exc.exit_code
        ctx = getattr(exc, "ctx", None)  # a usage error carries the command it concerns
        where = ctx.command_path if ctx is not None else "m2mdl"
        print(f"error: {exc.format_message()} (see '{where} --help')", file=sys.stderr)
        return exc.exit_code
    return code if isinstance(code, int) else int(ExitCode.OK)


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
