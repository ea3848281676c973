"""Case 4: the M2M API misbehaves: HTML 5xx, non-JSON 200s, errorCode envelopes, rate
limits (persistent -> exit 4 after a bounded backoff; transient -> recovers, exit 0) and a
session key that expires in the middle of a run (exactly one extra login).

The fault runs are independent, and most of their time is the client's backoff sleeping, so
one module fixture starts them all at once (each against its own sandbox) and every test
checks one of them. Each case's wall time is reported; cases slower than ``SLOW`` are flagged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from m2mdl.envelope import RetryPolicy
from m2mdl.sandbox import Sandbox
from m2mdl.sandbox.server import API_PREFIX
from m2mdl.sandbox.testing import make_config

from .helpers import (
    CliProcess,
    CliResult,
    api_calls,
    assert_complete,
    band_names,
    cli_env,
    download_args,
    file_records,
    inspect_out,
    run_cli,
)

pytestmark = pytest.mark.reliability

SLOW = 60.0  # seconds: a case slower than this is reported (the lead adds an env knob)
MANY = 1000  # "persistent": more failures than any retry budget


@dataclass
class Case:
    """One fault scenario and what it must end with."""

    faults: dict[str, Any]
    code: int
    mentions: tuple[str, ...] = ()  # the error line must contain one of these
    failing: str | None = None  # endpoint whose calls are counted (bounded retries)
    max_calls: int = 10
    result: CliResult | None = None
    sandbox: Sandbox | None = field(default=None, repr=False)
    out: Path | None = None


CASES: dict[str, Case] = {
    # persistent: bounded backoff, then a clear exit 4
    "http500_html": Case(
        {"api_fail_status": 500, "api_fail_times": MANY}, 4, ("HTTP 500",), "scene-search"
    ),
    "http502_html": Case(
        {"api_fail_status": 502, "api_fail_times": MANY}, 4, ("HTTP 502",), "scene-search"
    ),
    "non_json_200": Case({"api_garbage_times": MANY}, 4, ("not an M2M JSON",), "scene-search"),
    "RATE_LIMIT": Case(
        {"api_error": "RATE_LIMIT", "api_error_times": MANY}, 4, ("RATE_LIMIT",), "scene-search"
    ),
    # another client's request in flight: a longer, still bounded, budget of its own
    "RATE_LIMIT_USER": Case(
        {"api_error": "RATE_LIMIT_USER", "api_error_times": MANY},
        4,
        ("RATE_LIMIT_USER",),
        "scene-search",
        max_calls=RetryPolicy().busy_attempts,
    ),
    "RATE_LIMIT_USER_DL": Case(
        {
            "api_error": "RATE_LIMIT_USER_DL",
            "api_error_times": MANY,
            "api_error_endpoint": "download-request",
        },
        4,
        ("RATE_LIMIT_USER_DL",),
        "download-request",
    ),
    # an errorCode envelope with HTTP 200 that no retry can fix: one call, exit 4
    "errorcode_http200": Case(
        {
            "api_error": "DOWNLOAD_ERROR",
            "api_error_times": MANY,
            "api_error_endpoint": "download-options",
        },
        4,
        ("DOWNLOAD_ERROR",),
        "download-options",
        max_calls=1,
    ),
    # transient: the run recovers and completes
    "http500_twice": Case({"api_fail_status": 500, "api_fail_times": 2}, 0),
    "http502_twice": Case({"api_fail_status": 502, "api_fail_times": 2}, 0),
    "non_json_twice": Case({"api_garbage_times": 2}, 0),
    "RATE_LIMIT_twice": Case({"api_error": "RATE_LIMIT", "api_error_times": 2}, 0),
    "RATE_LIMIT_USER_twice": Case({"api_error": "RATE_LIMIT_USER", "api_error_times": 2}, 0),
    "RATE_LIMIT_USER_ten_times": Case({"api_error": "RATE_LIMIT_USER", "api_error_times": 10}, 0),
    "RATE_LIMIT_USER_DL_once": Case(
        {
            "api_error": "RATE_LIMIT_USER_DL",
            "api_error_times": 1,
            "api_error_endpoint": "download-request",
        },
        0,
    ),
    "AUTH_EXPIRED_mid_run": Case(
        {
            "api_error": "AUTH_EXPIRED",
            "api_error_times": 1,
            "api_error_endpoint": "download-request",
        },
        0,
    ),
}
BANDS = ("SR_B4", "QA_PIXEL")


@pytest.fixture(scope="module")
def fault_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Case]]:
    """Run every case at once; stop the sandboxes at the end of the module."""
    procs: dict[str, CliProcess] = {}
    sandboxes: list[Sandbox] = []
    try:
        for name, case in CASES.items():
            sb = Sandbox(make_config(**case.faults)).start()
            sandboxes.append(sb)
            home = tmp_path_factory.mktemp(f"api-{name}")
            env = cli_env(
                sb,
                M2MDL_CONFIG_DIR=str(home / "config"),
                M2MDL_STATE_DIR=str(home / "state"),
                M2MDL_NO_KEYRING="1",
            )
            case.sandbox, case.out = sb, home / "out"
            procs[name] = CliProcess(
                download_args(case.out, "band", "--bands", ",".join(BANDS)), env
            )
        limit = time.monotonic() + 150
        waiting = dict(procs)
        while waiting and time.monotonic() < limit:
            for name, proc in list(waiting.items()):
                result = proc.try_reap()
                if result is not None:
                    CASES[name].result = result
                    del waiting[name]
            time.sleep(0.05)
        for name, proc in waiting.items():  # hung: kill, and the test says so
            CASES[name].result = proc.wait(0)
        yield CASES
    finally:
        for proc in procs.values():
            if proc.running():
                proc.proc.kill()
        for sb in sandboxes:
            sb.stop()


@pytest.mark.parametrize("name", list(CASES))
def test_api_fault(fault_runs: dict[str, Case], name: str) -> None:
    case = fault_runs[name]
    result, sb, out = case.result, case.sandbox, case.out
    assert result is not None and sb is not None and out is not None
    print(f"{name}: exit {result.code} in {result.elapsed:.1f} s")
    assert result.code == case.code, result.explain()
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if case.code == 0:
        assert_complete(out, sb, band_names(BANDS))
    else:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, f"expected one error line:\n{result.stderr}"
        assert any(m in errors[0] for m in case.mentions), errors[0]
        assert not file_records(sb), "files were fetched although the API refused"
        if out.exists():  # the failure came after the manifest was started
            manifest = inspect_out(out, sb).newest_manifest()
            assert manifest.get("exit_code") == case.code, manifest.get("exit_code")
    if case.failing is not None:
        count = len(api_calls(sb, case.failing))
        assert 1 <= count <= case.max_calls, f"{count} {case.failing} calls (retry bound)"
        if case.max_calls > 1:
            assert count > 1, "a transient error was not retried"
    if name == "AUTH_EXPIRED_mid_run":
        logins = api_calls(sb, "login-token")
        assert len(logins) == 2, f"{len(logins)} login-token calls; expected 1 + 1 re-login"
    assert result.elapsed <= SLOW, (
        f"{name} took {result.elapsed:.0f} s (> {SLOW:g} s): retry sleeps make tests slow; "
        "the client needs an env knob for its API backoff"
    )


def test_session_key_expires_during_transfer(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """The real expiry path: every key expires while files are transferring."""
    bands = ("SR_B1", "SR_B2", "SR_B3", "SR_B4")
    sb = sandbox_factory(data_scale=0.01, rate=1_000_000)
    out = tmp_path / "out"
    expired = threading.Event()

    def expire_when_transferring() -> None:
        while not expired.is_set():
            if file_records(sb):  # a first file is done, the others are still flowing
                sb.expire_keys()
                expired.set()
                return
            expired.wait(0.05)

    watcher = threading.Thread(target=expire_when_transferring, daemon=True)
    watcher.start()
    try:
        result = run_cli(
            download_args(out, "band", "--bands", ",".join(bands)), cli_env(sb), timeout=90
        )
    finally:
        expired.set()
        watcher.join(5)
    assert result.code == 0, result.explain()
    assert_complete(out, sb, band_names(bands))
    after = [r for r in api_calls(sb) if r.get("error_code") == "AUTH_EXPIRED"]
    assert after, "no API call saw the expired key (the test did not exercise expiry)"
    assert len(api_calls(sb, "login-token")) == 2, "expected exactly one extra login-token"


class _TruncatingProxy(ThreadingHTTPServer):
    """Forwards API calls to the sandbox; the first ``times`` scene-search answers are cut
    off mid-body (a chunked 200 whose connection drops), as a dying proxy does."""

    daemon_threads = True

    def __init__(self, upstream: str, times: int) -> None:
        super().__init__(("127.0.0.1", 0), _TruncatingHandler)
        self.upstream = upstream
        self.left = times
        self.lock = threading.Lock()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{API_PREFIX}"


class _TruncatingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _TruncatingProxy

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        endpoint = self.path.rsplit("/", 1)[-1]
        headers = {
            k: v for k, v in self.headers.items() if k.lower() in ("content-type", "x-auth-token")
        }
        answer = requests.post(
            self.server.upstream + endpoint, data=body, headers=headers, timeout=30
        )
        with self.server.lock:
            cut = endpoint == "scene-search" and self.server.left > 0
            self.server.left -= cut
        if cut:
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            self.wfile.write(b"%x\r\n%s" % (len(answer.content), answer.content[:20]))
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(answer.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)


def test_truncated_api_response_is_retried(sandbox: Sandbox, tmp_path: Path) -> None:
    proxy = _TruncatingProxy(sandbox.api_url, times=2)
    thread = threading.Thread(
        target=proxy.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    try:
        out = tmp_path / "out"
        result = run_cli(
            download_args(out, "band", "--bands", ",".join(BANDS)),
            cli_env(sandbox, M2MDL_API_URL=proxy.api_url),
            timeout=90,
        )
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert proxy.left < 2, "the proxy never truncated an answer"
    assert "internal error" not in result.stderr, result.explain()
    assert result.code == 0, result.explain()
    assert_complete(out, sandbox, band_names(BANDS))
