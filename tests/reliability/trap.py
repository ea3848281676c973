"""Small loopback HTTP(S) servers for redirect tests: one answers as a test says, one records.

``Trap`` runs a ThreadingHTTPServer on 127.0.0.1 whose every request is recorded (method,
path, headers, body) and answered by a callable. ``self_signed`` makes a certificate for
127.0.0.1/localhost with the openssl command, so a trap can speak https.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass
class Seen:
    """One request a trap received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, dict[str, str], bytes]
Responder = Callable[[Seen], Answer]


@dataclass
class Trap:
    """A running loopback server; ``url`` ends with ``/``."""

    url: str
    seen: list[Seen] = field(default_factory=list)


def json_answer(data: object, status: int = 200) -> Answer:
    """An M2M envelope with ``data``."""
    body = json.dumps({"requestId": 1, "version": "stable", "data": data, "errorCode": None})
    return status, {"Content-Type": "application/json"}, body.encode()


def redirect(status: int, location: str) -> Answer:
    """A redirect to ``location``."""
    return status, {"Location": location, "Content-Type": "text/html"}, b"moved"


@contextmanager
def trap(
    respond: Responder, *, host: str = "127.0.0.1", cert: Path | None = None
) -> Iterator[Trap]:
    """Run a server answering with ``respond``; every request is recorded in ``Trap.seen``."""
    state = Trap(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, dict(self.headers), self.rfile.read(length))
            state.seen.append(seen)
            status, headers, body = respond(seen)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _serve

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer((host, 0), Handler)
    scheme = "http"
    if cert is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    name = "localhost" if host == "127.0.0.1" and cert is not None else host
    state.url = f"{scheme}://{name}:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def self_signed(directory: Path) -> Path:
    """A PEM file holding a self-signed key and certificate for localhost and 127.0.0.1."""
    pem = directory / "loopback.pem"
    done = subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(directory / "key.pem"),
            "-out",
            str(directory / "cert.pem"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"openssl could not make a test certificate: {done.stderr.strip()}")
    pem.write_text((directory / "key.pem").read_text() + (directory / "cert.pem").read_text())
    return pem
