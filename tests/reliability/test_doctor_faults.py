"""``m2mdl doctor`` under faults: each gives its own ✘ (or !) line, its fix and a non-zero exit.

The CLI runs as a subprocess against the sandbox. Faults the sandbox of this tree cannot make
yet are made by small servers on 127.0.0.1: a STAC API whose clock is wrong, one that
answers 503, a closed port, and a TLS server with a self-signed certificate (the same
certificate recipe as test_transport.py).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from m2mdl.sandbox import Sandbox
from m2mdl.sandbox.service import ServiceOptions
from m2mdl.sandbox.testing import make_config

from .helpers import CliResult, cli_env, run_cli
from .test_transport import Trap, self_signed  # noqa: F401  (the certificate fixture)

pytestmark = pytest.mark.reliability


class FakeStacRoot:
    """A loopback HTTP server answering every GET with ``status`` and a Date ``skew`` s off."""

    def __init__(self, status: int = 200, skew: float = 0.0) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def date_time_string(self, timestamp: float | None = None) -> str:
                return formatdate(time.time() + outer.skew, usegmt=True)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if outer.status == 200:
                    body = json.dumps({"type": "Catalog", "id": "stac-server"}).encode()
                    ctype = "application/json"
                else:
                    body = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
                    ctype = "text/html"
                self.send_response(outer.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.status, self.skew = status, skew
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stac-server"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_stac() -> Iterator[Callable[..., FakeStacRoot]]:
    started: list[FakeStacRoot] = []

    def start(**kwargs: Any) -> FakeStacRoot:
        server = FakeStacRoot(**kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def _doctor(sb: Sandbox, out: Path, *args: str, **env: str) -> CliResult:
    return run_cli(["doctor", "--out", str(out), *args], cli_env(sb, **env), timeout=180)


def _line(result: CliResult, mark: str, name: str) -> str:
    for line in result.stdout.splitlines():
        if line.startswith(f"{mark} {name}:"):
            return line
    raise AssertionError(f"no {mark} {name} line\n{result.explain()}")


def _fix(result: CliResult, name: str) -> str:
    lines = result.stdout.splitlines()
    for index, line in enumerate(lines):
        if line.split(":", 1)[0].endswith(f" {name}") and index + 1 < len(lines):
            following = lines[index + 1]
            if following.startswith("  fix: "):
                return following[len("  fix: ") :]
    raise AssertionError(f"no fix after the {name} line\n{result.explain()}")


def test_account_without_download_access(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory()
    result = _doctor(sb, tmp_path, M2MDL_USERNAME="noaccess", M2MDL_TOKEN="noaccess-token")
    assert result.code == 3, result.explain()
    assert (
        _line(result, "✘", "permissions") == "✘ permissions: no download access (permissions: user)"
    )
    assert "Machine to Machine" in _fix(result, "permissions")
    assert _line(result, "✔", "login-token")


def test_maintenance_notice_is_a_warning(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, fake_stac: Callable[..., FakeStacRoot]
) -> None:
    # needs the sandbox's --notice in notifications (helper sbxapi's branch)
    notice = "M2M will be unavailable 2026-12-01 14:00 to 18:00 UTC"
    sb = sandbox_factory(config=make_config(service=ServiceOptions(notice=notice)))
    result = _doctor(sb, tmp_path, M2MDL_STAC_URL=fake_stac().url)
    assert result.code == 1, result.explain()
    assert (
        _line(result, "!", "notifications") == f"! notifications: Scheduled Maintenance: {notice}"
    )
    assert "maintenance" in _fix(result, "notifications")


def test_wrong_clock(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, fake_stac: Callable[..., FakeStacRoot]
) -> None:
    sb = sandbox_factory()
    stac = fake_stac(skew=600.0)
    result = _doctor(sb, tmp_path, M2MDL_STAC_URL=stac.url)
    assert result.code == 1, result.explain()
    line = _line(result, "✘", "clock")
    assert line.startswith("✘ clock: the local clock is ") and line.endswith(" s behind 127.0.0.1")
    assert 590 <= int(line.split()[-4]) <= 610
    assert "synchronise the system clock" in _fix(result, "clock")


def test_clock_a_little_off_is_a_warning(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, fake_stac: Callable[..., FakeStacRoot]
) -> None:
    sb = sandbox_factory()
    result = _doctor(sb, tmp_path, M2MDL_STAC_URL=fake_stac(skew=-120.0).url)
    assert result.code == 1, result.explain()
    assert " s ahead of 127.0.0.1" in _line(result, "!", "clock")


def test_stac_down_503(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, fake_stac: Callable[..., FakeStacRoot]
) -> None:
    sb = sandbox_factory()
    result = _doctor(sb, tmp_path, M2MDL_STAC_URL=fake_stac(status=503).url)
    assert result.code == 5, result.explain()
    assert "HTTP 503" in _line(result, "✘", "STAC API")
    assert "checksums cannot be looked up now" in _fix(result, "STAC API")


def test_stac_on_a_closed_port(sandbox_factory: Callable[..., Sandbox], tmp_path: Path) -> None:
    sb = sandbox_factory()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the CLI runs
    result = _doctor(sb, tmp_path, M2MDL_STAC_URL=f"http://127.0.0.1:{port}/stac-server")
    assert result.code == 5, result.explain()
    assert _line(result, "✘", "STAC API") == "✘ STAC API: cannot reach 127.0.0.1: ConnectionError"
    assert "proxy" in _fix(result, "STAC API")


def test_html_403_on_the_download_host(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(fail_status=403, fail_times=1000)
    result = _doctor(sb, tmp_path, "--download")
    assert result.code == 6, result.explain()
    line = _line(result, "✘", "download")
    assert line.startswith("✘ download: the download host answered HTTP 403 with an HTML page")
    assert "proxy, firewall or VPN" in _fix(result, "download")
    removed = [r for r in sb.records() if r.get("endpoint") == "download-order-remove"]
    assert removed, "the doctor's download order was not removed"


def test_bad_certificate_on_the_stac_host(
    sandbox_factory: Callable[..., Sandbox],
    tmp_path: Path,
    self_signed: ssl.SSLContext,  # noqa: F811
) -> None:
    sb = sandbox_factory()
    server = Trap(tls=self_signed)
    try:
        env = {"M2MDL_STAC_URL": f"https://127.0.0.1:{server.port}/stac-server"}
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
            env[name] = ""
        result = _doctor(sb, tmp_path, **env)
    finally:
        server.close()
    assert result.code == 5, result.explain()
    line = _line(result, "✘", "STAC API")
    assert line.startswith("✘ STAC API: TLS failed for 127.0.0.1: self-signed certificate")
    assert "REQUESTS_CA_BUNDLE" in _fix(result, "STAC API")
    assert not server.lines, "a request was sent over an unverified TLS connection"


def test_dead_proxy(sandbox_factory: Callable[..., Sandbox], tmp_path: Path) -> None:
    sb = sandbox_factory()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {name: proxy for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy")}
    env.update(NO_PROXY="", no_proxy="")
    result = _doctor(sb, tmp_path, **env)
    assert result.code == 5, result.explain()
    assert _line(result, "✘", "M2M API") == "✘ M2M API: cannot reach 127.0.0.1: proxy refused"
    assert "HTTPS_PROXY" in _fix(result, "M2M API")
    assert _line(result, "✘", "login-token").startswith("✘ login-token: login-token: cannot reach")
