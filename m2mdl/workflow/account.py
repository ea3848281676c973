"""Log in, log out, and tell who is logged in."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth import Credentials, StoredSession, resolve_session
from ..errors import AccessDenied, AuthError, CredentialStoreError, M2mdlError
from .context import Context

#: The permission every download needs (login-token keys carry it as "download").
DOWNLOAD_PERMISSION = "download"


@dataclass(frozen=True)
class LoginResult:
    """What ``m2mdl login`` learned."""

    username: str
    permissions: tuple[str, ...]
    store: str

    @property
    def can_download(self) -> bool:
        """Whether the account may request downloads."""
        return DOWNLOAD_PERMISSION in self.permissions


def login(ctx: Context, username: str, token: str) -> LoginResult:
    """Check the token with login-token, read the permissions, store everything.

    Raises:
        CredentialsRejected: M2M refused the username or token.
        CredentialStoreError: the keyring or the credentials file could not be written.
    """
    if not username.strip() or not token.strip():
        raise AuthError("username and token must not be empty")
    if ctx.secret_filter is not None:
        ctx.secret_filter.add_secret(token)
    client = ctx.new_client()
    key = client.login(username.strip(), token.strip())
    try:
        permissions = tuple(client.permissions())
    except AccessDenied:
        permissions = ()
    session = StoredSession(Credentials(username.strip(), token.strip())).with_key(key, ctx.clock())
    ctx.store.save(session)
    return LoginResult(username.strip(), permissions, ctx.store.description)


def can_download(ctx: Context) -> bool | None:
    """Whether the current account has M2M download access; None when the service could not
    tell (it is away, or refused for another reason: the status still reports the rest)."""
    try:
        return DOWNLOAD_PERMISSION in ctx.client().permissions()
    except AccessDenied:
        return False
    except M2mdlError:
        return None


def logout(ctx: Context) -> bool:
    """End the session on the server (an expired key is fine) and forget what is stored.

    Returns:
        True if something was stored and is now deleted.
    """
    try:
        stored = ctx.store.load()
    except CredentialStoreError:
        stored = None
    if stored is not None and stored.api_key:
        try:
            ctx.new_client(stored.api_key).logout()
        except M2mdlError as exc:  # the local forget must happen even if the server is away
            ctx.reporter.warn(f"could not end the session on the server: {exc}")
    return ctx.store.clear()


@dataclass(frozen=True)
class LoginStatus:
    """Who is logged in, where the secret lives, how old the key is. Never the secret."""

    username: str
    source: str
    has_key: bool
    key_age_seconds: float | None
    key_idle_seconds: float | None


def status(ctx: Context) -> LoginStatus:
    """Describe the current login.

    Raises:
        NotLoggedIn: nothing stored and no environment credentials.
    """
    session = resolve_session(ctx.store)
    now = ctx.clock()
    source = (
        "environment (M2MDL_USERNAME, M2MDL_TOKEN)" if session.from_env else ctx.store.description
    )
    return LoginStatus(
        session.credentials.username,
        source,
        bool(session.api_key),
        session.key_age(now),
        session.key_idle(now),
    )
