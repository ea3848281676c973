"""login, logout and the stored session, through the CLI against the sandbox."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from m2mdl.sandbox import Sandbox

from .cli_helpers import NOTEBOOK_QUERY, calls, run


def stored_env(sb: Sandbox) -> dict[str, str | None]:
    """Point at the sandbox without environment credentials (use what login stored)."""
    return {"M2MDL_API_URL": sb.api_url, "M2MDL_USERNAME": None, "M2MDL_TOKEN": None}


def credentials_file() -> Path:
    return Path(os.environ["M2MDL_CONFIG_DIR"]) / "credentials.json"


def login(sb: Sandbox, token: str = "demo-token") -> tuple[int, str]:
    result = run(
        ["login", "--username", "demo", "--token-stdin"], stored_env(sb), input=token + "\n"
    )
    return result.exit_code, result.stderr


def test_login_stores_a_0600_file_without_keyring(sandbox: Sandbox) -> None:
    code, stderr = login(sandbox)
    assert code == 0, stderr
    path = credentials_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "no OS keyring" in stderr  # said once
    assert "demo-token" not in stderr
    assert json.loads(path.read_text())["username"] == "demo"
    assert len(calls(sandbox, "permissions")) == 1


def test_commands_reuse_the_key_and_relogin_once_after_expiry(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    assert login(sandbox)[0] == 0
    assert len(calls(sandbox, "login-token")) == 1
    assert run(["search", *NOTEBOOK_QUERY, "--output", "json"], stored_env(sandbox)).exit_code == 0
    assert (
        run(
            ["download", *NOTEBOOK_QUERY, "--filetype", "bundle", "--out", str(tmp_path)],
            stored_env(sandbox),
        ).exit_code
        == 0
    )
    assert len(calls(sandbox, "login-token")) == 1  # no new login while the key is fresh
    sandbox.expire_keys()
    result = run(["search", *NOTEBOOK_QUERY, "--output", "json"], stored_env(sandbox))
    assert result.exit_code == 0, result.stderr
    assert len(calls(sandbox, "login-token")) == 2  # exactly one more
    assert "expired" not in result.stderr and "login" not in result.stderr  # unnoticed
    assert run(["search", *NOTEBOOK_QUERY, "--output", "json"], stored_env(sandbox)).exit_code == 0
    assert len(calls(sandbox, "login-token")) == 2  # the renewed key was stored


def test_idle_expiry_in_the_sandbox(sandbox_factory: object) -> None:
    sb: Sandbox = sandbox_factory(key_idle_seconds=0.5)  # type: ignore[operator]
    assert login(sb)[0] == 0
    import time

    time.sleep(1.0)
    assert run(["search", *NOTEBOOK_QUERY, "--output", "json"], stored_env(sb)).exit_code == 0
    assert len(calls(sb, "login-token")) == 2


def test_wrong_token_exit_3_one_line(sandbox: Sandbox) -> None:
    result = run(
        ["login", "--username", "demo", "--token-stdin"],
        stored_env(sandbox),
        input="not-the-token\n",
    )
    assert result.exit_code == 3
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "AUTH_INVALID" in lines[0]
    assert "Traceback" not in result.stderr and "not-the-token" not in result.stderr
    assert not credentials_file().exists()


def test_status_never_shows_the_secret(sandbox: Sandbox) -> None:
    assert login(sandbox)[0] == 0
    key = json.loads(credentials_file().read_text())["api_key"]
    result = run(["login", "--status"], stored_env(sandbox))
    assert result.exit_code == 0
    assert "demo" in result.stdout and "credentials.json" in result.stdout
    assert "demo-token" not in result.stdout + result.stderr
    assert key not in result.stdout + result.stderr


def test_logout_forgets_everything_and_is_idempotent(sandbox: Sandbox) -> None:
    assert login(sandbox)[0] == 0
    result = run(["logout"], stored_env(sandbox))
    assert result.exit_code == 0
    assert not credentials_file().exists()
    assert len(calls(sandbox, "logout")) == 1
    again = run(["logout"], stored_env(sandbox))
    assert again.exit_code == 0 and "nothing was stored" in again.stderr


def test_not_logged_in_is_exit_3_with_a_hint(sandbox: Sandbox) -> None:
    result = run(["search", *NOTEBOOK_QUERY], stored_env(sandbox))
    assert result.exit_code == 3
    assert "m2mdl login" in result.stderr


def test_account_without_download_access_is_told_how_to_get_it(sandbox: Sandbox) -> None:
    result = run(
        ["login", "--username", "noaccess", "--token-stdin"],
        stored_env(sandbox),
        input="noaccess-token\n",
    )
    assert result.exit_code == 0
    assert "Machine to Machine" in result.stderr
    assert "warning: this account may search but not download" in result.stderr
    assert "error:" not in result.stderr  # a successful login with a warning, not an error
