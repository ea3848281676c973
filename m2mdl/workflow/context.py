"""What every use case needs: the settings, the credential store, a logged-in client, a reporter.

The CLI builds one :class:`Context` per command and passes it down; nothing here reads flags
or prints. Session keys are reused across commands and renewed (once per call) when M2M says
they expired; credentials from ``M2MDL_USERNAME``/``M2MDL_TOKEN`` are never written anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..api import M2MClient
from ..auth import CredentialStore, SecretFilter, StoredSession, resolve_session
from ..config import Settings
from ..errors import CredentialStoreError
from ..http import check_url, make_session


class Reporter(Protocol):
    """Where use cases send human-readable progress notes (stderr in the CLI)."""

    def info(self, message: str) -> None:
        """A note a user may want to see (hidden by --quiet)."""

    def warn(self, message: str) -> None:
        """Something went wrong but the run goes on (shown even with --quiet)."""


@runtime_checkable
class PhaseReporter(Reporter, Protocol):
    """A Reporter that also shows the steps of a download (the CLI's Ui); optional."""

    def phase(self, message: str) -> None:
        """A step that takes a while begins ("searching ...")."""

    def plan_line(self, scenes: int, files: int, present: int, todo_bytes: int | None) -> None:
        """The plan in one line: scenes, files, already present, bytes to download."""

    def request_line(self, ready: int, preparing: int) -> None:
        """download-request answered: files ready now and files still preparing."""


class SilentReporter:
    """A reporter that drops everything (library use, tests)."""

    def info(self, message: str) -> None:
        """Drop ``message``."""

    def warn(self, message: str) -> None:
        """Drop ``message``."""

    def phase(self, message: str) -> None:
        """Drop ``message``."""

    def plan_line(self, scenes: int, files: int, present: int, todo_bytes: int | None) -> None:
        """Drop the plan."""

    def request_line(self, ready: int, preparing: int) -> None:
        """Drop the counts."""


@dataclass
class Context:
    """Collaborators of one command."""

    settings: Settings
    store: CredentialStore
    reporter: Reporter = field(default_factory=SilentReporter)
    secret_filter: SecretFilter | None = None
    clock: Callable[[], float] = time.time
    _client: M2MClient | None = field(default=None, repr=False)
    _session: StoredSession | None = field(default=None, repr=False)
    #: Every client :meth:`new_client` made: the context owns them, and :meth:`close` closes
    #: their HTTP sessions (kept-alive connections to the service).
    _clients: list[M2MClient] = field(default_factory=list, repr=False)

    @property
    def phases(self) -> PhaseReporter:
        """The reporter's phase lines, or a silent stand-in when it has none."""
        return self.reporter if isinstance(self.reporter, PhaseReporter) else SilentReporter()

    def new_client(
        self,
        api_key: str | None = None,
        credentials: Callable[[], tuple[str, str] | None] | None = None,
    ) -> M2MClient:
        """A client for the configured service (https required unless loopback).

        The context owns the client: :meth:`close` closes its HTTP session.
        """
        check_url(self.settings.api_url)
        client = M2MClient(
            self.settings.api_url,
            make_session(timeout=self.settings.timeout, verify_tls=self.settings.verify_tls),
            api_key=api_key,
            credentials=credentials,
            on_new_key=self._remember_key,
        )
        self._clients.append(client)
        return client

    def client(self) -> M2MClient:
        """A client that reuses the stored session key and renews it when it expires.

        Raises:
            m2mdl.errors.NotLoggedIn: no stored credentials and none in the environment.
        """
        if self._client is not None:
            return self._client
        session = resolve_session(self.store)
        self._session = session
        self._protect(session.credentials.token, session.api_key)
        creds = session.credentials
        self._client = self.new_client(session.api_key, lambda: (creds.username, creds.token))
        return self._client

    def _protect(self, *secrets: str | None) -> None:
        if self.secret_filter is not None:
            self.secret_filter.add_secret(*[s for s in secrets if s])

    def _remember_key(self, key: str) -> None:
        self._protect(key)
        if self._session is None:
            return
        self._session = self._session.with_key(key, self.clock())
        self._save_session()

    def _save_session(self) -> None:
        if self._session is None or self._session.from_env:
            return  # environment credentials are never written anywhere
        try:
            self.store.save(self._session)
        except CredentialStoreError as exc:
            self.reporter.warn(f"could not store the new session key: {exc}")

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Record that the key was used now (M2M keys expire after 2 h idle), then close the
        HTTP sessions of every client this context made.

        Called once, by whoever owns the context: ``with context:`` (the CLI's
        ``State.session()``), or :meth:`m2mdl.M2M.close` for the Python API. Closing twice is
        harmless, and so is a call through a client after closing: a closed requests session
        opens new connections when it is used again.
        """
        session, client = self._session, self._client
        try:
            if session and client and client.api_key and session.api_key == client.api_key:
                self._session = session.touched(self.clock())
                self._save_session()
        finally:
            while self._clients:
                self._clients.pop().session.close()
