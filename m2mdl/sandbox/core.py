"""The :class:`Sandbox`: start/stop a local M2M server plus download host, and test helpers."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from types import TracebackType

from m2mdl.sandbox.app import App
from m2mdl.sandbox.config import SandboxConfig
from m2mdl.sandbox.faults import FaultCounters
from m2mdl.sandbox.log import RequestLog
from m2mdl.sandbox.products import ServedFile
from m2mdl.sandbox.server import API_PREFIX, STAC_PREFIX, SandboxServer

from .jsontypes import JSON

_SMALL = 64 * 1024 * 1024
_CHUNK = 1 << 20


class Sandbox:
    """A running sandbox (after :meth:`start` or inside ``with``).

    >>> with Sandbox(SandboxConfig(data_scale=0.001)) as sb:  # doctest: +SKIP
    ...     requests.post(sb.api_url + "login-token", json={...})
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        if self.config.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox only binds to the loopback interface")
        self.app = App(self.config)
        self.log = RequestLog(self.config.log_path)
        self.counters = FaultCounters(self.config.faults)
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Sandbox:
        """Bind the port and serve in a daemon thread."""
        if self._server is not None:
            return self
        server = SandboxServer(
            (self.config.host, self.config.port), self.app, self.log, self.counters
        )
        self._server = server
        self.app.base_url = f"http://{self.config.host}:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="m2mdl-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake stalled responses and close the log."""
        server, self._server = self._server, None
        if server is not None:
            server.stop_event.set()
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.log.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return self.app.base_url

    @property
    def api_url(self) -> str:
        """``<base_url>/api/api/json/stable/`` (append the endpoint name)."""
        return self.app.base_url + API_PREFIX

    @property
    def stac_url(self) -> str:
        """The sandbox's STAC API root (``<base_url>/stac-server``), like LandsatLook's."""
        return self.app.base_url + STAC_PREFIX

    @property
    def log_path(self) -> Path | None:
        """Where the JSON-lines request log goes, if anywhere."""
        return self.config.log_path

    def records(self) -> list[JSON]:
        """Every request logged so far (dicts as in the log file)."""
        return self.log.records()

    def expire_keys(self) -> None:
        """Expire every issued API key now (next use answers AUTH_EXPIRED)."""
        self.app.state.expire_keys()

    def _served(self, file_name: str) -> ServedFile:
        served = self.app.catalog.served_file(file_name)
        if served is None:
            raise KeyError(f"the sandbox has no file named {file_name!r}")
        return served

    def expected_size(self, file_name: str) -> int:
        """Length in bytes of a served file at this sandbox's data scale."""
        return self._served(file_name).source.size

    def expected_bytes(self, file_name: str) -> bytes:
        """The current content of a (small, < 64 MiB) served file, after any mutation."""
        served = self._served(file_name)
        if served.source.size > _SMALL:
            raise ValueError(f"{file_name} is {served.source.size} bytes; use expected_sha256")
        return served.source.read(0, served.source.size, self.counters.version(file_name))

    def published_checksum(self, file_name: str) -> str | None:
        """The ``file:checksum`` STAC items and sidecars publish for a file (after faults).

        None when ``stac_no_checksums`` is set; wrong for names matching ``wrong_checksum``.
        """
        self._served(file_name)
        return self.app.stac_docs.checksum(file_name)

    def expected_sha256(self, file_name: str) -> str:
        """sha256 hex of a served file's current content, streamed (any size)."""
        served = self._served(file_name)
        version = self.counters.version(file_name)
        digest = hashlib.sha256()
        offset = 0
        while offset < served.source.size:
            chunk = served.source.read(offset, _CHUNK, version)
            digest.update(chunk)
            offset += len(chunk)
        return digest.hexdigest()
