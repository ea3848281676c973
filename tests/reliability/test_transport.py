"""Case 7: plain http to a remote host is refused before any network access; https and TLS
verification are the defaults."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from m2mdl.config import DEFAULT_API_URL, Settings, resolve
from m2mdl.http import make_session
from m2mdl.transfer import TransferOptions

from ..cli_helpers import NOTEBOOK_QUERY
from .helpers import CliProcess, cli_env, download_args, run_cli, wait_for

pytestmark = pytest.mark.reliability


class Trap:
    """A TCP listener on loopback that records the first line of every connection."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lines: list[bytes] = []
        self.connections = 0
        self.tls_errors: list[str] = []
        self._tls = tls
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                if self._tls is not None:
                    conn = self._tls.wrap_socket(conn, server_side=True)
                self.lines.append(conn.recv(4096).split(b"\r\n", 1)[0])
            except (OSError, ssl.SSLError) as exc:
                self.tls_errors.append(repr(exc))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def trap() -> Iterator[Trap]:
    t = Trap()
    yield t
    t.close()


def _proxy_env(trap: Trap, **extra: str) -> dict[str, str]:
    """Every proxy variable points at the trap: any outgoing request shows up there."""
    url = f"http://127.0.0.1:{trap.port}"
    env = cli_env(None, M2MDL_USERNAME="demo", M2MDL_TOKEN="demo-token", **extra)
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        env[name] = url
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


@pytest.mark.parametrize("command", ["search", "download", "login"])
def test_plain_http_api_url_is_refused_before_any_network_access(
    trap: Trap, tmp_path: Path, command: str
) -> None:
    env = _proxy_env(trap, M2MDL_API_URL="http://example.com/api/api/json/stable/")
    args = {
        "search": ["search", *NOTEBOOK_QUERY],
        "download": download_args(tmp_path / "out", "bundle"),
        "login": ["login", "--username", "demo"],
    }[command]
    result = run_cli(args, env, timeout=30)
    assert result.code == 2, result.explain()
    assert "http" in result.stderr and "example.com" in result.stderr, result.explain()
    assert trap.connections == 0, f"network access before the refusal: {trap.lines}"
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_https_and_tls_verification_are_the_defaults() -> None:
    assert DEFAULT_API_URL.startswith("https://")
    assert resolve({}, environ={}, path=Path("/nonexistent/config.toml")).api_url == DEFAULT_API_URL
    assert Settings().verify_tls is True
    assert make_session().verify is True
    assert TransferOptions().verify_tls is True


def test_default_endpoint_is_reached_over_https(trap: Trap) -> None:
    env = _proxy_env(trap)
    env.pop("M2MDL_API_URL", None)
    proc = CliProcess(["search", *NOTEBOOK_QUERY], env)
    try:
        wait_for(lambda: bool(trap.lines), 30, "the CLI's first outgoing request")
    finally:
        proc.send(signal.SIGKILL)
        proc.wait(10)
    assert trap.lines[0].startswith(b"CONNECT m2m.cr.usgs.gov:443 "), trap.lines


@pytest.fixture
def self_signed(tmp_path: Path) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_untrusted_certificate_is_refused(self_signed: ssl.SSLContext) -> None:
    server = Trap(tls=self_signed)
    try:
        env = cli_env(
            M2MDL_USERNAME="demo",
            M2MDL_TOKEN="demo-token",
            M2MDL_API_URL=f"https://127.0.0.1:{server.port}/api/api/json/stable/",
        )
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
            env.pop(name, None)
        result = run_cli(["search", *NOTEBOOK_QUERY], env, timeout=90)
    finally:
        server.close()
    assert result.code == 5, result.explain()
    assert server.connections >= 1 and not server.lines, (
        f"an HTTP request was sent over an unverified TLS connection: {server.lines}"
    )
    assert "demo-token" not in result.stderr
    # Said as what it is, with what to do, and not retried: the answer would be the same.
    assert "TLS failed for https://127.0.0.1:" in result.stderr, result.explain()
    assert "self-signed certificate" in result.stderr, result.explain()
    assert "REQUESTS_CA_BUNDLE" in result.stderr, result.explain()
    assert server.connections == 1, server.connections
