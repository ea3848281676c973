"""HTTP front: one ThreadingHTTPServer for the API and the download host, faults, logging.

HTTP status of error envelopes (docs/design.md §M2M API: envelope says the evidence is mixed;
chosen as docs/sandbox.md records): 200 for every errorCode envelope, except unknown
endpoints (including the removed ``/login``) which answer 404 and SERVER_ERROR which answers
500 — always with the JSON envelope as body. The recorded AUTH_EXPIRED envelope had
``requestId: 0`` and ``version: null`` (kapadia/usgs#59); the sandbox reproduces that.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from m2mdl.sandbox import api
from m2mdl.sandbox.app import ApiError, App, Ctx
from m2mdl.sandbox.config import STAC_PREFIX as STAC_PREFIX  # re-exported
from m2mdl.sandbox.faults import FaultCounters
from m2mdl.sandbox.files import DownloadHost, FileRequest, html_page
from m2mdl.sandbox.log import RequestLog
from m2mdl.sandbox.state import ApiKey

from .jsontypes import JSON

API_PREFIX = "/api/api/json/stable/"
_MAX_BODY = 64 * 1024 * 1024


class SandboxServer(ThreadingHTTPServer):
    """The server object; handlers reach the sandbox parts through it."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self, addr: tuple[str, int], app: App, log: RequestLog, counters: FaultCounters
    ) -> None:
        super().__init__(addr, Handler)
        self.app = app
        self.log = log
        self.counters = counters
        self.stop_event = threading.Event()
        self.host = DownloadHost(app, counters, self.stop_event)
        self.inflight: set[str] = set()
        self.inflight_lock = threading.Lock()

    # socketserver's own types: a socket (or, for datagram servers, bytes and a socket) and
    # an address, here only handed back to the base class.
    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        """Stay quiet about clients that hang up; report real bugs."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def clean_path(target: str) -> str:
    """The request target without ``requestSignature`` (never log secrets)."""
    parts = urlsplit(target)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "requestSignature"
    ]
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


class Handler(BaseHTTPRequestHandler):
    """Routes to the API or to the download host."""

    protocol_version = "HTTP/1.1"
    server: SandboxServer
    server_version = "m2mdl-sandbox"

    def version_string(self) -> str:
        """The Server header."""
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header, shifted by ``--clock-skew`` seconds."""
        now = time.time() if timestamp is None else timestamp
        return super().date_time_string(now + self.server.app.config.faults.clock_skew)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr access log (the JSON log replaces it)."""

    def send_page(
        self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        """A complete response with Content-Length (keeps the connection usable)."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, _MAX_BODY)) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        for _ in range(1_000_000):
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                break
            parts.append(self.rfile.read(size))
            self.rfile.readline()
        return b"".join(parts)

    def _dispatch(self) -> None:
        body = self._read_body()
        path = urlsplit(self.path).path
        if path.startswith(API_PREFIX) or path.startswith("/api/"):
            self._api(path, body)
            return
        if path == STAC_PREFIX or path.startswith(STAC_PREFIX + "/"):
            self._stac(path[len(STAC_PREFIX) :], urlsplit(self.path).query, body)
            return
        req = FileRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        try:
            self.server.host.serve(self, req)
        finally:
            req.record["path"] = clean_path(self.path)
            self.server.log.add(req.record)

    do_GET = _dispatch
    do_POST = _dispatch
    do_HEAD = _dispatch
    do_PUT = _dispatch
    do_DELETE = _dispatch

    def _stac(self, sub: str, query: str, body: bytes) -> None:
        rec: dict[str, Any] = {
            "kind": "stac",
            "method": self.command,
            "path": clean_path(self.path),
            "range": None,
            "if_range": None,
            "event": None,
        }
        if self.server.app.config.faults.stac_down:
            rec["event"] = "stac_down"
            status, payload, ctype = (
                503,
                html_page(503, "Service Unavailable", "The STAC API is temporarily down."),
                "text/html; charset=utf-8",
            )
        else:
            status, payload, ctype = self.server.app.stac.handle(self.command, sub, query, body)
        rec.update(status=status, bytes=len(payload))
        self.server.log.add(rec)
        self.send_page(status, payload, ctype, {"Access-Control-Allow-Origin": "*"})

    def _api(self, path: str, raw: bytes) -> None:
        endpoint = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path
        rec: dict[str, Any] = {
            "kind": "api",
            "endpoint": endpoint,
            "method": self.command,
            "path": clean_path(self.path),
            "range": None,
            "if_range": None,
            "event": None,
        }
        ip = self.client_address[0]
        with self.server.inflight_lock:
            busy = ip in self.server.inflight
            if not busy:
                self.server.inflight.add(ip)
        try:
            started = time.monotonic()
            if busy:
                rec["event"] = "concurrent"
                status, payload = self._envelope(
                    None,
                    ApiError(
                        "RATE_LIMIT_USER",
                        "Only one request may be processed at a time; wait for "
                        "the previous request to return",
                    ),
                )
            else:
                status, payload = self._answer(endpoint, raw, ip, rec)
            if not busy:
                rest = self.server.app.config.api_min_seconds - (time.monotonic() - started)
                if rest > 0:
                    time.sleep(rest)
        finally:
            if not busy:
                with self.server.inflight_lock:
                    self.server.inflight.discard(ip)
        rec.update(status=status, bytes=len(payload))
        self.server.log.add(rec)
        ctype = (
            "text/html; charset=utf-8"
            if rec.get("event") in ("api_fail", "garbage")
            else "application/json"
        )
        self.send_page(status, payload, ctype)

    def _answer(self, endpoint: str, raw: bytes, ip: str, rec: JSON) -> tuple[int, bytes]:
        app = self.server.app
        handler = api.HANDLERS.get(endpoint)
        if handler is None:
            rec["error_code"] = "NOT_FOUND"
            return self._envelope(None, ApiError("NOT_FOUND", "Invalid Endpoint", 404))
        plan = self.server.counters.api_plan(endpoint)
        faults = app.config.faults
        if plan == "fail" and faults.api_fail_status is not None:
            rec["event"] = "api_fail"
            return faults.api_fail_status, html_page(
                faults.api_fail_status, "Bad Gateway", "The server encountered a temporary error."
            )
        if plan == "garbage":
            rec["event"] = "garbage"
            return 200, b"<html><body>Service temporarily unavailable</body></html>\n"
        key = None
        try:
            body = self._json(raw)
            if endpoint != "login-token":
                key = self._auth(endpoint)
            if plan == "error" and faults.api_error:
                rec["event"] = "api_error"
                raise ApiError(
                    faults.api_error,
                    f"Injected {faults.api_error} (sandbox fault)",
                    500 if faults.api_error == "SERVER_ERROR" else 200,
                )
            ctx = Ctx(app, key, ip, app.next_request_id())
            data = handler(ctx, body)
            return self._envelope(ctx, None, data)
        except ApiError as err:
            rec["error_code"] = err.code
            return self._envelope(None, err, key=key)
        except Exception as exc:  # a bug in the sandbox: answer like the real SERVER_ERROR
            rec["error_code"] = "SERVER_ERROR"
            return self._envelope(None, ApiError("SERVER_ERROR", f"Server error: {exc!r}", 500))

    def _json(self, raw: bytes) -> JSON:
        text = raw.decode("utf-8", "replace").strip()
        if not text or text == "null":
            return {}
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise ApiError("INPUT_FORMAT", "Could not parse the request body as JSON") from exc
        if not isinstance(body, dict):
            raise ApiError("INPUT_FORMAT", "The request body must be a JSON object")
        return body

    def _auth(self, endpoint: str) -> ApiKey:
        app = self.server.app
        token = self.headers.get("X-Auth-Token")
        key, code = app.state.check_key(token, app.config.key_idle_seconds)
        if code == "AUTH_EXPIRED":
            raise ApiError("AUTH_EXPIRED", "API key has expired due to inactivity")
        if key is None:
            # UNCERTAIN: AUTH_KEY_INVALID for missing/unknown keys (MRC error list)
            raise ApiError(
                "AUTH_KEY_INVALID",
                "Invalid API key"
                if token
                else "Authentication key was not provided (X-Auth-Token header)",
            )
        if endpoint in api.NEEDS_DOWNLOAD_ROLE and "download" not in key.user.permissions:
            raise ApiError(
                "AUTH_UNAUTHROIZED", "Your account does not have access to this endpoint"
            )  # sic: the real misspelling (docs/design.md §M2M API: error codes)
        return key

    def _envelope(
        self, ctx: Ctx | None, err: ApiError | None, data: object = None, key: ApiKey | None = None
    ) -> tuple[int, bytes]:
        app = self.server.app
        session = ctx.key.session_id if ctx and ctx.key else key.session_id if key else None
        env: dict[str, Any] = {
            "requestId": ctx.request_id if ctx else app.next_request_id(),
            "version": "stable",
            "sessionId": session,
            "data": None if err else data,
            "errorCode": err.code if err else None,
            "errorMessage": err.message if err else None,
        }
        if err is not None and err.code == "AUTH_EXPIRED":
            env.update(requestId=0, version=None, sessionId=None)  # recorded quirk
        status = err.status if err else 200
        return status, json.dumps(env).encode()
