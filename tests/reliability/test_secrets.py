"""Case 8: the application token and the session keys appear nowhere but the credentials file."""

from __future__ import annotations

import json
import os
import re
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox

from ..cli_helpers import NOTEBOOK_QUERY
from .helpers import (
    CliProcess,
    CliResult,
    band_names,
    cli_env,
    download_args,
    files_under,
    inspect_out,
    run_cli,
)

pytestmark = pytest.mark.reliability

TOKEN = "demo-token"
SIGNATURE = re.compile(r"requestSignature=(?!\*\*\*)[^&\s\"']+")


def _stored_key(creds: Path) -> str | None:
    data = json.loads(creds.read_text())
    key = data.get("api_key")
    return str(key) if key else None


def test_token_and_session_key_never_leak(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=0.001)
    config_dir = Path(os.environ["M2MDL_CONFIG_DIR"])
    state_dir = Path(os.environ["M2MDL_STATE_DIR"])
    creds = config_dir / "credentials.json"
    # No M2MDL_USERNAME/M2MDL_TOKEN: the stored login is the only source of the secret.
    env = cli_env(M2MDL_API_URL=sb.api_url, M2MDL_NO_KEYRING="1")
    env.pop("M2MDL_USERNAME", None)
    env.pop("M2MDL_TOKEN", None)
    out = tmp_path / "out"
    bands = ("SR_B4",)
    runs: list[CliResult] = []
    keys: set[str] = set()

    def step(args: list[str], code: int, stdin_text: str | None = None) -> None:
        result = run_cli(args, env, timeout=90, stdin_text=stdin_text)
        runs.append(result)
        assert result.code == code, result.explain()
        if creds.exists():
            key = _stored_key(creds)
            if key:
                keys.add(key)

    step(["login", "--username", "demo", "--token-stdin"], 0, stdin_text=TOKEN + "\n")
    assert creds.is_file(), "login stored no credentials file"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600, oct(creds.stat().st_mode)
    assert TOKEN in creds.read_text(), "the credentials file does not hold the token"
    step(["login", "--status"], 0)
    step(["search", *NOTEBOOK_QUERY, "--output", "json"], 0)
    step(["--debug", "search", *NOTEBOOK_QUERY, "--output", "json"], 0)
    step(download_args(out, "band", "--bands", ",".join(bands)), 0)
    sb.expire_keys()  # the next run logs in again (a new key, logged with --debug)
    step(["--debug", "download", *download_args(out, "band", "--bands", "SR_B4,SR_B3")[1:]], 0)
    step(["--debug", "-v", "options", "LC80680172020070LGN00"], 0)
    # error runs: the API refuses (exit 4), with and without --debug
    sb.config.faults.api_error = "DOWNLOAD_ERROR"
    sb.config.faults.api_error_times = 1000
    sb.config.faults.api_error_endpoint = "download-options"
    step(["--debug", "download", *download_args(out, "bundle")[1:]], 4)
    step(download_args(out, "bundle"), 4)
    step(["--debug", "login", "--username", "demo", "--token-stdin"], 3, stdin_text="wrong-token\n")

    assert keys, "no session key was ever stored"
    secrets = {TOKEN, *keys}
    inspect_out(out, sb)  # manifests valid, finals verified
    assert sorted(p.name for p in files_under(out, "*.TIF")) == band_names(("SR_B3", "SR_B4"))
    places: dict[str, str] = {}
    for i, result in enumerate(runs):
        places[f"run {i} argv"] = " ".join(result.argv)
        places[f"run {i} stdout"] = result.stdout
        places[f"run {i} stderr"] = result.stderr
    files = files_under(out)
    for root in (config_dir, state_dir):
        if root.exists():
            files += [p for p in root.rglob("*") if p.is_file() and p != creds]
    for path in files:
        places[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert any("DEBUG" in text for name, text in places.items() if "stderr" in name), (
        "no --debug output was produced, so the scan proves little"
    )
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:4]}...) leaked into {where}"
        assert not SIGNATURE.search(text), f"a URL signature leaked into {where}"


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants at this moment (``/proc/PID/task/TID/children``)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(child) for child in task.read_text().split()]
            except OSError:
                continue  # the task or the process ended while being read
    return found


def _cmdlines(pid: int) -> dict[int, str]:
    """The argument vector of ``pid`` and of each descendant (NULs as spaces)."""
    lines = {}
    for each in _process_tree(pid):
        try:
            lines[each] = Path(f"/proc/{each}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # it ended between the listing and the read
    return lines


#: How long the argument scan may watch one run (it ends when the run does).
SCAN_LIMIT = 120.0


def test_secrets_never_appear_in_the_process_arguments_of_a_running_download(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    # ~3 s of transfer: the scan sees the process at start-up, logged in and transferring.
    sb = sandbox_factory(data_scale=0.01, rate=4_000_000)
    creds = Path(os.environ["M2MDL_CONFIG_DIR"]) / "credentials.json"
    env = cli_env(M2MDL_API_URL=sb.api_url, M2MDL_STAC_URL=sb.stac_url, M2MDL_NO_KEYRING="1")
    env.pop("M2MDL_USERNAME", None)
    env.pop("M2MDL_TOKEN", None)  # the stored login is the only source of the token
    login = run_cli(["login", "--username", "demo", "--token-stdin"], env, stdin_text=TOKEN + "\n")
    assert login.code == 0, login.explain()
    assert creds.is_file(), "login stored no credentials file"
    out = tmp_path / "out"
    proc = CliProcess(["--debug", *download_args(out, "bundle", "--workers", "3")], env)
    seen: dict[int, set[str]] = {}
    samples, limit = 0, time.monotonic() + SCAN_LIMIT
    while proc.running() and time.monotonic() < limit:
        for pid, line in _cmdlines(proc.pid).items():
            seen.setdefault(pid, set()).add(line)
        samples += 1
        time.sleep(0.01)
    result = proc.wait(30)
    assert result.code == 0, result.explain()
    assert sb.app.state.keys, "the sandbox issued no session key"
    secrets = {TOKEN, *sb.app.state.keys}  # every key issued, to the login and to the run
    assert samples >= 50 and seen.get(proc.pid), f"the scan saw too little: {samples} samples"
    transfers = [r for r in sb.records() if r.get("kind") == "file" and r.get("method") == "GET"]
    assert transfers, "the download fetched nothing while it was watched"
    for pid, lines in seen.items():
        for line in lines:
            for secret in secrets:
                assert secret not in line, f"a secret ({secret[:4]}...) is in the argv of {pid}"
            assert not SIGNATURE.search(line), f"a URL signature is in the argv of {pid}"
