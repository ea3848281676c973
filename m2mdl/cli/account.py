"""``m2mdl login`` and ``m2mdl logout``."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated

import typer

from ..errors import AccessDenied, InputError
from ._app import State, app, handle


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
    return getpass.getpass("M2M application token: ")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "no key yet"
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


@app.command()
@handle
def login(
    ctx: typer.Context,
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="ERS username [env: M2MDL_USERNAME]")
    ] = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the application token from standard input.")
    ] = False,
    status: Annotated[
        bool, typer.Option("--status", help="Show who is logged in and where the secret is kept.")
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
    context = state.context(ui)
    if status:
        info = account.status(context)
        if json_out:
            ui.data(
                json.dumps(
                    {
                        "schema_version": 1,
                        "kind": "login-status",
                        "username": info.username,
                        "secret_store": info.source,
                        "has_session_key": info.has_key,
                        "key_age_seconds": info.key_age_seconds,
                        "key_idle_seconds": info.key_idle_seconds,
                    }
                )
                + "\n"
            )
            return
        ui.data(
            f"user: {info.username}\nsecret stored in: {info.source}\n"
            f"session key age: {_age(info.key_age_seconds)}"
            f" (idle {_age(info.key_idle_seconds)})\n"
        )
        return
    user = username or os.environ.get("M2MDL_USERNAME", "").strip()
    if not user:
        if not sys.stdin.isatty():
            raise InputError("no username: use --username or set M2MDL_USERNAME")
        user = input("ERS username: ").strip()
    result = account.login(context, user, _read_token(token_stdin))
    ui.info(f"logged in as {result.username}; credentials stored in {result.store}")
    if not result.can_download:
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
    removed = account.logout(state.context(ui))
    ui.info("logged out; stored credentials deleted" if removed else "nothing was stored")
