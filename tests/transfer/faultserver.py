"""A loopback HTTP server with fault knobs, for the transfer engine's tests.

Stdlib only (ThreadingHTTPServer on 127.0.0.1, port 0), after docs/design.md §Transfer engine: fault
server. It serves deterministic bytes with ETag, Last-Modified, Range and If-Range, and logs every
request with the body bytes it handed to the kernel, so tests can count re-sent bytes on the
server side (the client can lie).

Faults come from the query string; request counters are kept per path + query, so every
scenario tag (e.g. ``?t=case1&drop_after=1000``) has its own counters:

* ``fail=CODE:N`` and ``retry_after=S``: the first N requests get CODE (+ Retry-After).
* ``html200=N``: the first N requests get a 200 text/html error page.
* ``forbid=1``: every request gets 403 (a refreshed URL simply drops the knob);
  ``forbid_from=N``: requests from the N-th on (0-based) get 403 (an expiring URL).
* ``ignore_range=1``: Range is ignored (always 200 with the whole file).
* ``mutate_after=N``: from request N on (0-based) the content, ETag and Last-Modified change.
* ``drop_after=B`` and ``drop_times=K`` (default 1): reset the connection (RST) after B body
  bytes, in the first K requests.
* ``stall_after=B``, ``stall_times=K`` (default 1), ``stall_for=S`` (default 30): after B body
  bytes send nothing for S seconds, keeping the socket open.
* ``trickle_after=B``, ``trickle_times=K`` (default: all): after B bytes send one byte every
  0.1 s, in the first K requests.
* ``rate=R``: at most R body bytes per second.
* ``nocl=1``: no Content-Length; the body ends when the connection closes.
* ``wrong_start=K``: a 206's Content-Range (and body) starts K bytes later than asked.
* ``no_validators=1``: no ETag and no Last-Modified.
* ``ctype=TYPE``: the Content-Type of a file (default application/octet-stream).
* ``weak_etag=1``: the ETag is weak (``W/"..."``), unusable for If-Range.
* ``cenc=VALUE``: a Content-Encoding header (the body stays as it is).
* ``star_total=1``: a 206's Content-Range says ``/*`` instead of the size.
* ``short206=K``: every 206 carries at most K bytes (a legal, shorter answer).
* ``flip_times=N``: the first N requests get the byte in the middle of the file flipped
  (same length, same validators: corruption on the wire).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import socket
import struct
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

_BASE_TIME = 1_700_000_000
_SEND = 64 * 1024
_PAGE = b"<!DOCTYPE html><html><body>Error: please log in</body></html>"


def make_bytes(size: int, seed: int = 1) -> bytes:
    """Deterministic pseudo-random bytes."""
    return random.Random(seed).randbytes(size)


def mutate(data: bytes) -> bytes:
    """The "new version" of a file: first 16 bytes XOR 0x5A (same size, other sha512)."""
    return bytes(b ^ 0x5A for b in data[:16]) + data[16:]


def sha512(data: bytes) -> str:
    """Hex sha512."""
    return hashlib.sha512(data).hexdigest()


@dataclass
class LogEntry:
    """One request as the server saw it."""

    n: int
    path: str
    query: str
    range: str | None
    if_range: str | None
    accept_encoding: str | None
    status: int = 0
    sent: int = 0
    event: str = ""


class _Abort(Exception):
    """Ends the handler after a deliberate reset or close."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.app.handle(self)

    def handle(self) -> None:
        with contextlib.suppress(_Abort, OSError):
            super().handle()

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is in FaultServer.log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    app: FaultServer


class FaultServer:
    """Serve ``files`` on 127.0.0.1 with faults. Use as a context manager."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.log: list[LogEntry] = []
        self.closing = threading.Event()
        self._counters: dict[str, int] = defaultdict(int)
        self._active = 0
        self.max_active = 0  # the most requests served at once
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.app = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def add(self, name: str, data: bytes) -> None:
        """Serve ``data`` at ``/name``."""
        self.files[name] = data

    def url(self, name: str, **faults: object) -> str:
        """The URL of ``/name`` with the given fault knobs."""
        port = self._httpd.server_address[1]
        query = urlencode({key: str(value) for key, value in faults.items()})
        return f"http://127.0.0.1:{port}/{name}" + (f"?{query}" if query else "")

    def entries(self, name: str) -> list[LogEntry]:
        """Log entries for ``/name`` (any query)."""
        with self._lock:
            return [entry for entry in self.log if entry.path == "/" + name]

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no request is being served (a closed client's handler may still write)."""
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            with self._lock:
                if self._active == 0:
                    return
            time.sleep(0.01)
        raise AssertionError("the fault server is still busy")

    def wait_event(self, event: str, timeout: float = 10.0) -> None:
        """Wait until some request logged ``event`` (e.g. "stall")."""
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            with self._lock:
                if any(entry.event == event for entry in self.log):
                    return
            time.sleep(0.01)
        raise AssertionError(f"no request logged {event!r}")

    def sent(self, name: str) -> int:
        """Body bytes handed to the kernel for ``/name`` over all requests."""
        return sum(entry.sent for entry in self.entries(name))

    # --- request handling ----------------------------------------------------------------

    def handle(self, h: _Handler) -> None:
        with self._lock:
            self._active += 1
            self.max_active = max(self.max_active, self._active)
        try:
            self._handle(h)
        finally:
            with self._lock:
                self._active -= 1

    def _handle(self, h: _Handler) -> None:
        parts = urlsplit(h.path)
        q = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        with self._lock:
            n = self._counters[h.path]
            self._counters[h.path] += 1
            entry = LogEntry(
                n,
                parts.path,
                parts.query,
                h.headers.get("Range"),
                h.headers.get("If-Range"),
                h.headers.get("Accept-Encoding"),
            )
            self.log.append(entry)
        name = parts.path.lstrip("/")
        if name not in self.files:
            self._simple(h, entry, 404, b"not found", "text/plain")
            return
        if not self._faults_before_body(h, entry, q, n):
            self._serve_file(h, entry, q, n, name)

    def _faults_before_body(self, h: _Handler, entry: LogEntry, q: dict[str, str], n: int) -> bool:
        if q.get("forbid") or n >= int(q.get("forbid_from", 1 << 30)):
            self._simple(h, entry, 403, _PAGE, "text/html")
            return True
        if "fail" in q:
            code, count = q["fail"].split(":")
            if n < int(count):
                extra = {"Retry-After": q["retry_after"]} if "retry_after" in q else {}
                self._simple(h, entry, int(code), b"busy", "text/plain", extra)
                return True
        if n < int(q.get("html200", 0)):
            self._simple(h, entry, 200, _PAGE, "text/html")
            return True
        return False

    def _version(self, name: str, q: dict[str, str], n: int) -> tuple[bytes, str, str]:
        data = self.files[name]
        version = 1 if "mutate_after" in q and n >= int(q["mutate_after"]) else 0
        if version:
            data = mutate(data)
        etag = f'"{len(data):x}-v{version}"'
        if q.get("weak_etag"):
            etag = "W/" + etag
        modified = formatdate(_BASE_TIME + 1000 * version, usegmt=True)
        return data, etag, modified

    def _serve_file(
        self, h: _Handler, entry: LogEntry, q: dict[str, str], n: int, name: str
    ) -> None:
        data, etag, modified = self._version(name, q, n)
        if n < int(q.get("flip_times", 0)) and data:
            flipped = bytearray(data)
            flipped[len(data) // 2] ^= 0x01
            data = bytes(flipped)
        size = len(data)
        span = self._range(h, q, etag, modified, size)
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Type": q.get("ctype", "application/octet-stream"),
        }
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        if "cenc" in q:
            headers["Content-Encoding"] = q["cenc"]
        if not q.get("no_validators"):
            headers.update({"ETag": etag, "Last-Modified": modified})
        if span == "unsatisfiable":
            headers["Content-Range"] = f"bytes */{size}"
            self._simple(h, entry, 416, b"", "text/plain", headers)
            return
        status, start, end = (200, 0, size) if span is None else (206, *span)
        if status == 206:
            start = min(start + int(q.get("wrong_start", 0)), end - 1)
            if q.get("short206"):
                end = min(end, start + int(q["short206"]))
            total = "*" if q.get("star_total") else str(size)
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
        if q.get("nocl"):
            headers["Connection"] = "close"
            h.close_connection = True
        else:
            headers["Content-Length"] = str(end - start)
        entry.status = status
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.end_headers()
        self._body(h, entry, q, n, memoryview(data)[start:end])

    def _range(
        self, h: _Handler, q: dict[str, str], etag: str, modified: str, size: int
    ) -> tuple[int, int] | str | None:
        header = h.headers.get("Range")
        if header is None or q.get("ignore_range"):
            return None
        if_range = h.headers.get("If-Range")
        if if_range is not None and if_range not in (etag, modified):
            return None  # RFC 9110: a failed If-Range means the whole, current file
        first, _, last = header.removeprefix("bytes=").partition("-")
        if not first:
            return max(0, size - int(last)), size
        start = int(first)
        end = min(size, int(last) + 1) if last else size
        if start >= size:
            return "unsatisfiable"
        return start, end

    def _body(
        self, h: _Handler, entry: LogEntry, q: dict[str, str], n: int, body: memoryview
    ) -> None:
        drop = (
            int(q["drop_after"]) if "drop_after" in q and n < int(q.get("drop_times", 1)) else None
        )
        stall = (
            int(q["stall_after"])
            if "stall_after" in q and n < int(q.get("stall_times", 1))
            else None
        )
        trickle_times = int(q.get("trickle_times", 1 << 30))
        trickle = int(q["trickle_after"]) if "trickle_after" in q and n < trickle_times else None
        rate = float(q["rate"]) if "rate" in q else None
        began = time.monotonic()
        pos = 0
        while pos < len(body):
            if stall is not None and pos >= stall:
                entry.event = "stall"
                self.closing.wait(float(q.get("stall_for", 30)))
                stall = None
                self._reset(h, entry, "stall-end")
            size = _SEND
            if trickle is not None and pos >= trickle:
                entry.event = "trickle"
                size = 1
                if self.closing.wait(0.1):
                    self._reset(h, entry, "closing")
            if drop is not None:
                if pos >= drop:
                    self._reset(h, entry, "drop")
                size = min(size, drop - pos)
            if stall is not None:
                size = min(size, max(1, stall - pos))
            piece = body[pos : pos + size]
            self._write(h, entry, piece)
            pos += len(piece)
            if rate is not None and pos < len(body):  # no pause after the last piece: the
                # client has the whole body, and a handler still "active" then would count
                # towards max_active next to the client's next request
                ahead = pos / rate - (time.monotonic() - began)
                if ahead > 0:
                    time.sleep(ahead)
        if q.get("nocl"):
            self._reset(h, entry, "eof-close", rst=False)

    def _write(self, h: _Handler, entry: LogEntry, piece: memoryview) -> None:
        try:
            h.wfile.write(piece)
        except OSError as exc:
            entry.event = entry.event or "client-gone"
            raise _Abort from exc
        entry.sent += len(piece)

    def _reset(self, h: _Handler, entry: LogEntry, event: str, *, rst: bool = True) -> None:
        entry.event = entry.event or event
        with contextlib.suppress(OSError):
            if rst:  # SO_LINGER 0: close sends an RST, like a dying proxy
                h.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            else:
                h.wfile.flush()
                h.connection.shutdown(socket.SHUT_WR)
            h.connection.close()
        h.close_connection = True
        raise _Abort

    def _simple(
        self,
        h: _Handler,
        entry: LogEntry,
        status: int,
        body: bytes,
        ctype: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        entry.status = status
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(body)
