"""``python -m m2mdl.sandbox`` as a subprocess."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import urllib.request

from m2mdl.sandbox.__main__ import build_parser
from m2mdl.sandbox.config import Faults
from m2mdl.sandbox.service import ServiceOptions


def test_cli_prints_its_url_first_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "m2mdl.sandbox", "--port", "0", "--data-scale", "0.001"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        req = urllib.request.Request(  # noqa: S310 (a loopback http URL)
            base + "/api/api/json/stable/login-token",
            data=json.dumps({"username": "demo", "token": "demo-token"}).encode(),
        )
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback URL)
            env = json.loads(resp.read())
        assert env["errorCode"] is None and env["data"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_help_lists_every_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "m2mdl.sandbox", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    fields = [*dataclasses.fields(Faults), *dataclasses.fields(ServiceOptions)]
    flags = ["--" + f.name.replace("_", "-") for f in fields]
    flags += ["--port", "--data-scale", "--key-idle-seconds", "--api-min-seconds", "--log"]
    assert [f for f in flags if f not in out] == []
    assert "--notice" in flags


def test_every_option_has_a_help_text() -> None:
    actions = [a for a in build_parser()._actions if a.option_strings]
    assert len(actions) > 30
    assert [a.option_strings[0] for a in actions if not (a.help or "").strip()] == []


def _post(base: str, endpoint: str, body: object, key: str | None = None) -> dict[str, object]:
    req = urllib.request.Request(  # noqa: S310 (a loopback http URL)
        base + "/api/api/json/stable/" + endpoint,
        data=json.dumps(body).encode(),
        headers={"X-Auth-Token": key} if key else {},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback URL)
        env: dict[str, object] = json.loads(resp.read())
    return env


def test_notice_flag_reaches_notifications() -> None:
    notice = "M2M will be unavailable 2026-12-01 14:00 to 18:00 UTC"
    args = ["--port", "0", "--data-scale", "0.001", "--notice", notice]
    proc = subprocess.Popen(
        [sys.executable, "-m", "m2mdl.sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        key = _post(base, "login-token", {"username": "demo", "token": "demo-token"})["data"]
        assert isinstance(key, str)
        data = _post(base, "notifications", {"systemId": "M2M"}, key)["data"]
        assert isinstance(data, list)
        assert [n["messageContent"] for n in data if n["severityCode"] == "W"] == [notice]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
