"""The user's first command is bounded and says what it does: a default window, a size limit."""

from __future__ import annotations

import datetime as dt
import os
import select
import subprocess
import time
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox

from ..cli_helpers import ANCHORAGE, NOTEBOOK_QUERY
from .helpers import BUNDLES, CLI, api_calls, assert_complete, cli_env, run_cli

pytestmark = pytest.mark.reliability

BUNDLE = ["--filetype", "bundle"]


def test_no_dates_searches_the_default_window_and_says_so(sandbox: Sandbox, tmp_path: Path) -> None:
    for days, env in ((30, cli_env(sandbox)), (7, cli_env(sandbox, M2MDL_DEFAULT_DAYS="7"))):
        out = tmp_path / f"out{days}"
        args = ["download", "--aoi", str(ANCHORAGE), *BUNDLE, "--out", str(out)]
        result = run_cli(args, env, timeout=120)
        assert result.code == 0, result.explain()
        today = dt.datetime.now(dt.timezone.utc).date()
        first = today - dt.timedelta(days=days - 1)
        assert f"last {days} days" in result.stderr, result.explain()
        assert first.isoformat() in result.stderr and today.isoformat() in result.stderr


def _over_limit(out: Path, *extra: str) -> list[str]:
    return ["download", *NOTEBOOK_QUERY, *BUNDLE, "--out", str(out), *extra]


def test_a_plan_over_max_size_without_a_terminal_exits_2_and_names_yes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    for env, extra in (
        (cli_env(sandbox), ["--max-size", "1MB"]),
        (cli_env(sandbox, M2MDL_MAX_SIZE="1MB"), []),
    ):
        result = run_cli(_over_limit(out, *extra), env, timeout=60)
        assert result.code == 2, result.explain()
        assert "3 scene(s)" in result.stderr and "3 file(s)" in result.stderr, result.explain()
        assert "MB" in result.stderr and "--yes" in result.stderr
        assert "Traceback" not in result.stderr
    assert not api_calls(sandbox, "download-request"), "a refused plan reached the server"
    assert not out.exists() or not any(out.iterdir()), "a refused plan wrote into --out"

    dry = run_cli(_over_limit(out, "--max-size", "1MB", "--dry-run"), cli_env(sandbox))
    assert dry.code == 0, dry.explain()
    assert not api_calls(sandbox, "download-request")

    yes = run_cli(_over_limit(out, "--max-size", "1MB", "--yes"), cli_env(sandbox), timeout=90)
    assert yes.code == 0, yes.explain()
    assert_complete(out, sandbox, BUNDLES)


def _with_terminal(args: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run the CLI with stdin and stderr on a pseudo-terminal; answer its prompt."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [*CLI, *args], env=env, stdin=slave, stderr=slave, stdout=subprocess.DEVNULL
    )
    os.close(slave)
    seen = b""
    answered = False
    limit = time.monotonic() + 90
    try:
        while time.monotonic() < limit:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
                if not answered and b"Download?" in seen:
                    os.write(master, answer.encode() + b"\n")
                    answered = True
            elif proc.poll() is not None:
                break
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)
    return code, seen.decode("utf-8", "replace")


@pytest.mark.parametrize(("answer", "code"), [("n", 2), ("y", 0)])
def test_a_terminal_is_asked(sandbox: Sandbox, tmp_path: Path, answer: str, code: int) -> None:
    out = tmp_path / "out"
    got, text = _with_terminal(_over_limit(out, "--max-size", "1MB"), cli_env(sandbox), answer)
    assert "Download?" in text, text
    assert got == code, text


def test_the_users_first_commands_in_the_sandbox(tmp_path: Path) -> None:
    """A new user's first commands, exactly: no dates → the last 30 days, exit 0; since 2013 and
    no terminal → exit 2 with the plan (judged at real size: the sandbox serves files at
    1/100 scale) and the flag that allows it."""
    env = cli_env()
    out = tmp_path / "first"
    base = ["--sandbox", "download", "--aoi", str(ANCHORAGE), "--filetype", "band"]
    first = run_cli([*base, "--out", str(out)], env, timeout=300)
    assert first.code == 0, first.explain()
    assert "searching the last 30 days" in first.stderr, first.explain()

    big = tmp_path / "big"
    everything = run_cli([*base, "--start", "2013-01-01", "--out", str(big)], env, timeout=300)
    assert everything.code == 2, everything.explain()
    assert "scene(s)" in everything.stderr and "file(s)" in everything.stderr
    assert "TB at real size" in everything.stderr, everything.explain()
    assert "--yes" in everything.stderr
    assert not big.exists() or not any(big.iterdir()), "a refused plan wrote into --out"
