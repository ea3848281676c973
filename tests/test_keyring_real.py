"""KeyringStore against a real Secret Service: gnome-keyring in a private D-Bus session.

Recipe (Debian 12; ``.ci/install-system-deps.sh`` installs the packages)::

    dbus-run-session -- sh -c \\
      'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec python ...'

``--unlock`` reads a password on stdin and creates an unlocked "login" collection under
``$HOME/.local/share/keyrings``; HOME points into a temporary directory, so the user's real
keyring is never touched. The daemon exits with the bus when the command ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.keyring

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 60.0

# Runs inside the D-Bus session. Secrets come in through the environment, never argv.
SNIPPET = r"""
import json, os, shutil, subprocess, sys
from m2mdl.auth import Credentials, KeyringStore, StoredSession, open_store

token, key = os.environ["T_TOKEN"], os.environ["T_KEY"]
notices = []
store = open_store(notices.append)
result = {"store": type(store).__name__, "description": store.description, "notices": notices}

def read_back():
    if shutil.which("secret-tool"):
        cmd = ["secret-tool", "lookup", "service", "m2mdl", "username", "session"]
    else:
        cmd = [sys.executable, "-m", "keyring", "get", "m2mdl", "session"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    return {"rc": out.returncode, "stdout": out.stdout, "cmd": cmd[0]}

if isinstance(store, KeyringStore):
    session = StoredSession(Credentials("alice", token)).with_key(key, 1000.0)
    store.save(session)
    result["saved"] = read_back()
    result["reloaded"] = KeyringStore().load() == session
    result["cleared"] = store.clear()
    result["after_clear"] = read_back()
    result["clear_again"] = store.clear()
print("RESULT " + json.dumps(result))
"""


def missing_prerequisite() -> str | None:
    for binary in ("dbus-run-session", "gnome-keyring-daemon"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed (run .ci/install-system-deps.sh)"
    for module in ("secretstorage", "jeepney"):
        try:
            __import__(module)
        except ImportError:
            return f"python package {module} is missing (keyring's SecretService backend needs it)"
    return None


def run_in_keyring_session(
    tmp_path: Path, env_extra: dict[str, str], snippet: str = SNIPPET
) -> dict[str, object]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DBUS_", "M2MDL_", "XDG_", "PYTHON_KEYRING")) and k != "DISPLAY"
    }
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_RUNTIME_DIR=str(runtime),
        M2MDL_CONFIG_DIR=str(tmp_path / "cfg"),
        PYTHONPATH=str(REPO),
        **env_extra,
    )
    script = (
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
        'exec "$0" -c "$1"'
    )
    # Own process group, so a hang is killed whole: daemon, bus and python.
    proc = subprocess.Popen(
        ["dbus-run-session", "--", "sh", "-c", script, sys.executable, snippet],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the keyring session hung for {TIMEOUT} s; stderr:\n{err}")
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"rc={proc.returncode}\n{out}\n{err}"
    result: dict[str, object] = json.loads(lines[-1][len("RESULT ") :])
    return result


def test_keyring_store_against_gnome_keyring(tmp_path: Path) -> None:
    reason = missing_prerequisite()
    if reason:
        pytest.skip(reason)
    token, key = "tok-REAL-0123456789", "key-REAL-9876543210"
    result = run_in_keyring_session(tmp_path, {"T_TOKEN": token, "T_KEY": key})

    assert result["store"] == "KeyringStore", result
    assert result["notices"] == []
    assert "SecretService" in str(result["description"])
    saved = result["saved"]
    assert isinstance(saved, dict) and saved["rc"] == 0
    blob = json.loads(saved["stdout"])  # read by another program: really in the keyring
    assert (blob["username"], blob["token"], blob["api_key"]) == ("alice", token, key)
    assert result["reloaded"] is True
    assert result["cleared"] is True and result["clear_again"] is False
    after = result["after_clear"]
    assert isinstance(after, dict) and after["stdout"].strip() == ""
    assert not (tmp_path / "cfg").exists()  # the file fallback was never used


# The CLI end to end inside the D-Bus session: login stores into the Secret Service, a search
# reuses the stored key, logout removes everything.
CLI_SNIPPET = r"""
import json, os, subprocess, sys
from m2mdl.sandbox import Sandbox, SandboxConfig

def m2mdl(*args, stdin=None):
    out = subprocess.run([sys.executable, "-m", "m2mdl", *args], input=stdin,
                         capture_output=True, text=True, timeout=60, env=env)
    return {"rc": out.returncode, "stdout": out.stdout, "stderr": out.stderr}

def lookup():
    out = subprocess.run(["secret-tool", "lookup", "service", "m2mdl", "username", "session"],
                         capture_output=True, text=True, timeout=20)
    return out.stdout

with Sandbox(SandboxConfig(data_scale=0.001)) as sb:
    env = dict(os.environ, M2MDL_API_URL=sb.api_url)
    result = {"login": m2mdl("login", "--username", "demo", "--token-stdin",
                             stdin="demo-token\n")}
    result["stored"] = lookup()
    result["status"] = m2mdl("login", "--status")
    result["search"] = m2mdl("search", "--bbox", "-150", "61", "-149", "61.5", "--start",
                             "2020-03-01", "--end", "2020-03-15", "--output", "json")
    result["logins"] = len([r for r in sb.records() if r.get("endpoint") == "login-token"])
    result["logout"] = m2mdl("logout")
    result["after"] = lookup()
print("RESULT " + json.dumps(result))
"""


def test_cli_login_and_logout_use_the_secret_service(tmp_path: Path) -> None:
    reason = missing_prerequisite() or (
        None if shutil.which("secret-tool") else "secret-tool is not installed"
    )
    if reason:
        pytest.skip(reason)
    result = run_in_keyring_session(tmp_path, {}, CLI_SNIPPET)
    login = result["login"]
    assert isinstance(login, dict) and login["rc"] == 0, login
    assert "no OS keyring" not in login["stderr"]
    stored = json.loads(str(result["stored"]))
    assert stored["username"] == "demo" and stored["token"] == "demo-token"
    status = result["status"]
    assert isinstance(status, dict) and "keyring" in status["stdout"].lower()
    search = result["search"]
    assert isinstance(search, dict) and search["rc"] == 0, search
    assert result["logins"] == 1  # the search reused the stored session key
    logout = result["logout"]
    assert isinstance(logout, dict) and logout["rc"] == 0
    assert str(result["after"]).strip() == ""
    assert not (tmp_path / "cfg").exists()
