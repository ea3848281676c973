"""Where m2mdl keeps the M2M login, and which login a command uses.

Storage layout. One record holds the username, the M2M application token and the current
session (API) key with the unix times it was obtained and last used, serialised as JSON
``{"v": 1, "username", "token", "api_key", "key_obtained", "key_last_used"}``:

* OS keyring (preferred): service ``m2mdl``, entry ``session``, password = the JSON record.
* No usable keyring (headless, cron, keyring's fail backend, a backend that raises, or
  ``M2MDL_NO_KEYRING=1``): ``credentials.json`` in ``config_dir()``, mode 0600. The file is
  created with O_EXCL at 0600 and replaced atomically, so it is never readable by others even
  for an instant; a file that others can access is refused. Where the directory is created
  here it is made 0700. ``open_store`` says once, through its notice callback, that it fell back.
  Once the file exists it is the store, and the keyring is not asked (until logout).
* ``--sandbox``: a ``MemoryStore``; real credentials are never touched.

Precedence (``resolve_session``): ``M2MDL_USERNAME`` + ``M2MDL_TOKEN`` win over the store and
are never written anywhere (a stored key is reused only when it belongs to the same username);
else the store; else ``NotLoggedIn``. Secrets never appear in reprs, messages or logs.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from .config import config_dir
from .errors import AuthError, CredentialStoreError, DiskFull, NotLoggedIn
from .util.fs import atomic_write_bytes
from .util.net import redact_url

SERVICE = "m2mdl"
ENTRY = "session"
FILE_NAME = "credentials.json"
_RELOGIN = "run `m2mdl logout` and `m2mdl login` again, or set M2MDL_USERNAME and M2MDL_TOKEN"


@dataclass(frozen=True)
class Credentials:
    """An ERS username and its M2M application token (the token is hidden from repr)."""

    username: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class StoredSession:
    """Credentials plus the current session key and when it was obtained and last used.

    ``from_env`` marks credentials taken from the environment: stores never persist their token.
    """

    credentials: Credentials
    api_key: str | None = field(default=None, repr=False)
    key_obtained: float | None = None
    key_last_used: float | None = None
    from_env: bool = field(default=False, compare=False)

    def with_key(self, api_key: str, now: float) -> StoredSession:
        """Return a copy holding a freshly obtained session key."""
        return replace(self, api_key=api_key, key_obtained=now, key_last_used=now)

    def touched(self, now: float) -> StoredSession:
        """Return a copy whose key was last used at ``now`` (M2M keys expire when idle)."""
        return replace(self, key_last_used=now)

    def key_age(self, now: float) -> float | None:
        """Seconds since the key was obtained, or None without a key."""
        return None if self.key_obtained is None or not self.api_key else now - self.key_obtained

    def key_idle(self, now: float) -> float | None:
        """Seconds since the key was last used, or None without a key."""
        return None if self.key_last_used is None or not self.api_key else now - self.key_last_used


class CredentialStore(Protocol):
    """Somewhere a StoredSession lives between runs."""

    description: str

    def load(self) -> StoredSession | None: ...
    def save(self, session: StoredSession) -> None: ...
    def clear(self) -> bool: ...


def _encode(s: StoredSession) -> str:
    return json.dumps(
        {
            "v": 1,
            "username": s.credentials.username,
            "token": s.credentials.token,
            "api_key": s.api_key,
            "key_obtained": s.key_obtained,
            "key_last_used": s.key_last_used,
        }
    )


def _decode(blob: str | bytes, where: str) -> StoredSession:
    # The error never quotes the blob: it holds the token.
    bad = CredentialStoreError(f"the credentials stored in {where} are unreadable", hint=_RELOGIN)
    try:
        data = json.loads(blob)
    except ValueError:  # includes UnicodeDecodeError
        raise bad from None
    if not isinstance(data, dict) or data.get("v") != 1:
        raise bad
    user, token, key = data.get("username"), data.get("token"), data.get("api_key")
    times = data.get("key_obtained"), data.get("key_last_used")
    ok_times = all(t is None or type(t) in (int, float) for t in times)
    if not (
        isinstance(user, str)
        and user
        and isinstance(token, str)
        and token
        and (key is None or isinstance(key, str))
        and ok_times
    ):
        raise bad
    return StoredSession(Credentials(user, token), key, *times)


def _store_error(
    action: str, where: str, exc: BaseException, hide: Iterable[str] = ()
) -> CredentialStoreError:
    # Third-party messages are redacted and raised `from None`: a backend may echo the secret.
    detail = redact(str(exc), hide)
    return CredentialStoreError(f"cannot {action} {where}: {type(exc).__name__}: {detail}")


class _BlobStore:
    """The shared load/save logic; subclasses read, write and delete one JSON blob."""

    description = ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"

    def _read(self) -> str | bytes | None:
        raise NotImplementedError

    def _write(self, blob: str) -> None:
        raise NotImplementedError

    def load(self) -> StoredSession | None:
        """Read the stored session, or None when nothing is stored.

        Raises:
            CredentialStoreError: the store failed or holds an unreadable record.
        """
        blob = self._read()
        return None if blob is None else _decode(blob, self.description)

    def save(self, session: StoredSession) -> None:
        """Store ``session``; for environment credentials, only the key of the same user.

        Raises:
            CredentialStoreError: the store failed (the message never holds a secret).
        """
        if session.from_env:
            # Env tokens are never written; a fresh key is kept beside the same user's login.
            stored = self.load()
            if stored is None or stored.credentials.username != session.credentials.username:
                return
            session = replace(
                stored,
                api_key=session.api_key,
                key_obtained=session.key_obtained,
                key_last_used=session.key_last_used,
            )
        self._write(_encode(session))


class KeyringStore(_BlobStore):
    """The OS keyring through ``keyring``: one entry holding the JSON record."""

    def __init__(self) -> None:
        import keyring  # lazily: backend discovery is slow and most commands never need it

        self._keyring = keyring
        self.description = f"OS keyring ({keyring.get_keyring().name})"

    def _read(self) -> str | None:
        try:
            blob: str | None = self._keyring.get_password(SERVICE, ENTRY)
        except Exception as exc:  # any backend error (D-Bus, locked, ...) is a store error
            raise _store_error("read", "the OS keyring", exc) from None
        return blob

    def _write(self, blob: str) -> None:
        hide = (blob, *(v for v in json.loads(blob).values() if isinstance(v, str)))
        try:
            self._keyring.set_password(SERVICE, ENTRY, blob)
        except Exception as exc:
            raise _store_error("write", "the OS keyring", exc, hide) from None

    def clear(self) -> bool:
        """Delete the entry; True if there was one."""
        if self._read() is None:
            return False
        try:
            self._keyring.delete_password(SERVICE, ENTRY)
        except Exception as exc:
            raise _store_error("delete from", "the OS keyring", exc) from None
        return True


class FileStore(_BlobStore):
    """A JSON file only its owner can read or write (mode 0600); refuses a laxer one."""

    def __init__(
        self, path: Path | None = None, notice: Callable[[str], None] | None = None
    ) -> None:
        self.path = path if path is not None else config_dir() / FILE_NAME
        self.description = f"file {self.path} (mode 0600)"
        self._notice = notice

    def _read(self) -> bytes | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _store_error("read", str(self.path), exc) from None
        with os.fdopen(fd, "rb") as fh:
            # Windows has no POSIX modes; there the check would refuse every file.
            if os.name == "posix" and os.fstat(fd).st_mode & 0o077:
                raise CredentialStoreError(
                    f"{self.path} is accessible by other users; refusing to use it",
                    hint=f"chmod 600 {self.path}  (and consider making a new M2M token)",
                )
            return fh.read()

    def _write(self, blob: str) -> None:
        if self._notice is not None and not self.path.exists():
            # Said once: when the file is first created, not on every command of every cron run.
            self._notice(f"no OS keyring available; storing credentials in {self.path} (mode 0600)")
            self._notice = None
        try:
            if not self.path.parent.is_dir():
                # Only a directory made here is tightened: M2MDL_CONFIG_DIR may be shared.
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(self.path.parent, 0o700)
            write_private(self.path, blob.encode("utf-8"))
        except (OSError, DiskFull) as exc:
            raise _store_error("write", str(self.path), exc) from None

    def clear(self) -> bool:
        """Delete the file; True if there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _store_error("delete", str(self.path), exc) from None
        return True


class MemoryStore(_BlobStore):
    """An in-process store (``--sandbox``), so trying m2mdl never touches real credentials."""

    description = "memory (sandbox; nothing is saved)"

    def __init__(self) -> None:
        self._blob: str | None = None

    def _read(self) -> str | None:
        return self._blob

    def _write(self, blob: str) -> None:
        self._blob = blob

    def clear(self) -> bool:
        """Forget the session; True if there was one."""
        had, self._blob = self._blob is not None, None
        return had


def keyring_usable() -> bool:
    """True if a real keyring backend is configured and M2MDL_NO_KEYRING is not set."""
    if os.environ.get("M2MDL_NO_KEYRING", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    try:
        import keyring
        from keyring.backends import chainer, fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            return False
        if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
            return False
        return float(backend.priority) > 0
    except Exception:  # a broken keyring install must not break m2mdl: use the file
        return False


def open_store(notice: Callable[[str], None]) -> CredentialStore:
    """The credentials file if it exists, else the keyring store if it works, else the file.

    An existing credentials file is where ``m2mdl login`` put the session when no keyring
    worked, so it is used as it is, without asking the keyring: finding a keyring backend
    scans the installed packages' entry points and takes a tenth of a second or more, on
    every command (cron runs are where the file is usual). ``m2mdl logout`` removes the file;
    the next login tries the keyring again.

    The fallback is announced through ``notice`` when the credentials file is first
    written: not for environment credentials (never written), not on every later command.
    """
    file_store = FileStore(notice=notice)
    if file_store.path.exists():
        return file_store
    if keyring_usable():
        import keyring

        try:
            # Probe: a backend can look fine yet fail on use (no D-Bus session, locked, ...).
            keyring.get_password(SERVICE, ENTRY)
        except Exception:  # noqa: S110 - any failure means "no usable keyring": fall back
            pass
        else:
            return KeyringStore()
    return file_store


def env_credentials(environ: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials from M2MDL_USERNAME and M2MDL_TOKEN, or None when neither is set.

    Raises:
        AuthError: only one of the two is set (names the missing one).
    """
    env = os.environ if environ is None else environ
    user = env.get("M2MDL_USERNAME", "").strip()
    token = env.get("M2MDL_TOKEN", "").strip()
    if user and token:
        return Credentials(user, token)
    if user or token:
        missing, given = (
            ("M2MDL_TOKEN", "M2MDL_USERNAME") if user else ("M2MDL_USERNAME", "M2MDL_TOKEN")
        )
        raise AuthError(
            f"{given} is set but {missing} is not",
            hint="set both, or unset both to use the stored login",
        )
    return None


def resolve_session(
    store: CredentialStore, environ: Mapping[str, str] | None = None
) -> StoredSession:
    """The session a command uses: environment credentials, else the store.

    Raises:
        NotLoggedIn: neither the environment nor the store holds credentials.
        AuthError: only one of M2MDL_USERNAME / M2MDL_TOKEN is set.
        CredentialStoreError: the store failed and the environment holds no credentials.
    """
    creds = env_credentials(environ)
    if creds is None:
        stored = store.load()
        if stored is None:
            raise NotLoggedIn("not logged in")
        return stored
    try:
        stored = store.load()
    except CredentialStoreError:
        stored = None  # environment credentials must work even with a broken store
    if stored is not None and stored.credentials.username == creds.username:
        return replace(stored, credentials=creds, from_env=True)
    return StoredSession(creds, from_env=True)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably, readable by its owner only.

    :func:`m2mdl.util.fs.atomic_write_bytes` at mode 0600: the temporary file is
    created at 0600 (never readable by others, not even for an instant), fsynced, renamed
    over ``path``, and the directory is fsynced.

    Raises:
        DiskFull: no space left (or the quota is reached).
        OSError: any other failure.
        Either way the temporary file is removed and ``path`` is unchanged.
    """
    atomic_write_bytes(path, data, mode=0o600)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every non-empty secret in ``text`` by ``***`` (longest first)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class SecretFilter(logging.Filter):
    """A logging filter that redacts the secrets it holds from messages, args and tracebacks.

    A filter on a logger sees only records logged on that very logger; put it on the handlers
    to cover child loggers too.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset(s for s in secrets if s)

    def add_secret(self, *secrets: str) -> None:
        """Redact each of ``secrets`` from now on (empty strings are ignored)."""
        # Replace, never mutate: worker threads may be filtering concurrently.
        self._secrets = self._secrets | {s for s in secrets if s}

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; never drops it."""
        hide = self._secrets
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep both parts, redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(redact_url(message), hide), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, hide)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, hide)
        return True
