"""``m2mdl login`` and ``m2mdl logout``."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import AccessDenied, InputError
from ._app import State, app, ask, handle

if TYPE_CHECKING:
    from ..ui import Ui
    from ..workflow.context import Context


def _read_token(token_stdin: bool) -> str:
    """The application token: stdin, M2MDL_TOKEN, or a prompt without echo (never argv)."""
    import os

    if token_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            raise InputError("--token-stdin: standard input held no token")
        return token
    if os.environ.get("M2MDL_TOKEN", "").strip():
        return os.environ["M2MDL_TOKEN"].strip()
    if not sys.stdin.isatty():
        raise InputError("no token: use --token-stdin, set M2MDL_TOKEN, or run on a terminal")
    return ask(
        "M2M application token: ",
        what="token",
        hint="type the token at the prompt, or use --token-stdin or M2MDL_TOKEN",
        secret=True,
    )


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def key_text(age: float | None, idle: float | None, from_env: bool = False) -> str:
    """ "12 min old, idle 3 min", or why there is no key to describe."""
    if from_env:
        return "not kept (credentials from the environment: each command logs in)"
    if age is None:
        return "none yet (the next command logs in)"
    return f"{_age(age)} old" + ("" if idle is None else f", idle {_age(idle)}")


@app.command()
@handle
def login(
    ctx: typer.Context,
    username: Annotated[
        str | None,
        typer.Option("--username", "-u", metavar="NAME", help="ERS username [env: M2MDL_USERNAME]"),
    ] = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the application token from standard input.")
    ] = False,
    status: Annotated[
        bool,
        typer.Option(
            "--status",
            help="Show who is logged in, where the secret is kept, the download requests left"
            " and USGS's current notices; warn when the account lacks download access"
            " (still exit 0: the status itself was read).",
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="With --status: as JSON.")] = False,
) -> None:
    """Log in with an M2M application token and keep it in the OS keyring.

    Make a token in your ERS profile (Application Tokens). The token is asked for without echo,
    or read from --token-stdin or M2MDL_TOKEN; it is never taken as an argument.
    """
    import os

    from ..workflow import account

    state: State = ctx.obj
    ui = state.ui()
    with state.session(ui) as context:
        if status:
            _print_status(ui, context, json_out)
            return
        user = username or os.environ.get("M2MDL_USERNAME", "").strip()
        if not user:
            if not sys.stdin.isatty():
                raise InputError("no username: use --username or set M2MDL_USERNAME")
            user = ask(
                "ERS username: ",
                what="username",
                hint="type it at the prompt, or use --username or M2MDL_USERNAME",
            ).strip()
        result = account.login(context, user, _read_token(token_stdin))
    ui.info(f"logged in as {result.username}; credentials stored in {result.store}")
    if not result.can_download:
        _warn_no_download(ui)


def _print_status(ui: Ui, context: Context, json_out: bool) -> None:
    """Who is logged in and the session key; in text also the quota and USGS's notices.

    The JSON form stays login-status schema_version 1 (docs/schemas/login-status.schema.json),
    which has no place for the quota and the notices yet, and asks the service nothing.
    """
    from ..output import envelope
    from ..workflow import account
    from ..workflow.notices import service_status

    if json_out:
        info = account.status(context)
        doc = envelope(
            "login-status",
            {
                "username": info.username,
                "secret_store": info.source,
                "has_session_key": info.has_key,
                "key_age_seconds": info.key_age_seconds,
                "key_idle_seconds": info.key_idle_seconds,
            },
        )
        ui.data(json.dumps(doc) + "\n")
        return
    service = service_status(context)  # first: it logs in, which the key line then shows
    info = account.status(context)
    from_env = info.source.startswith("environment")
    quota = service.quota.line() if service.quota else None
    lines = [
        f"user: {info.username}",
        f"secret stored in: {info.source}",
        f"session key: {key_text(info.key_age_seconds, info.key_idle_seconds, from_env)}",
        quota or f"download requests left: unknown ({service.error})",
        *(n.line() for n in service.notices),
    ]
    if not service.notices and service.error is None:
        lines.append("USGS notices: none")
    ui.data("".join(line + "\n" for line in lines))
    # A status that was read is a success (exit 0) even for an account that cannot download:
    # the warning says what to do, and `doctor` is the check that fails on it (exit 3).
    # Asked only of a service that answered: an unreachable one would only add its retries.
    if service.error is None and account.can_download(context) is False:
        _warn_no_download(ui)


def _warn_no_download(ui: Ui) -> None:
    """The warning for an account that may search but not download."""
    ui.warn(
        "this account may search but not download: it lacks M2M download access",
        AccessDenied.default_hint,
    )


@app.command()
@handle
def logout(ctx: typer.Context) -> None:
    """End the M2M session and forget the stored token and session key."""
    from ..workflow import account

    state: State = ctx.obj
    ui = state.ui()
    with state.session(ui) as context:
        removed = account.logout(context)
    ui.info("logged out; stored credentials deleted" if removed else "nothing was stored")
