"""``python -m m2mdl.sandbox`` as a subprocess."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import urllib.request

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
