"""USGS notices before a download (once a day, cached) and in ``login --status`` with the quota."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from m2mdl.auth import Credentials, MemoryStore, StoredSession
from m2mdl.config import resolve
from m2mdl.sandbox import Sandbox
from m2mdl.workflow.context import Context
from m2mdl.workflow.notices import (
    CACHE_SECONDS,
    Notice,
    NoticeCache,
    Quota,
    show_notices,
)

from .cli_helpers import calls, env_for, run
from .sandbox.reference_samples import SAMPLES

#: The ``notifications`` and ``rate-limit-summary`` samples of the M2M reference (data part).
REFERENCE_NOTICE: dict[str, Any] = SAMPLES["notifications"][0]
REFERENCE_LIMITS: dict[str, Any] = SAMPLES["rate-limit-summary"]


class Clock:
    """A settable clock for Context."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Warnings:
    """A Reporter that keeps the warnings."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        """Notes are not what this test is about."""

    def warn(self, message: str) -> None:
        self.lines.append(message)


def _context(sb: Sandbox | None, clock: Clock, logged_in: bool = True) -> Context:
    store = MemoryStore()
    if logged_in:
        store.save(StoredSession(Credentials("demo", "demo-token")))
    api_url = sb.api_url if sb else "http://127.0.0.1:9/stable/"
    return Context(settings=resolve({"api_url": api_url}), store=store, clock=clock)


def test_notice_and_quota_read_the_reference_shapes() -> None:
    notice = Notice.from_json(REFERENCE_NOTICE)
    assert notice.line() == (
        "USGS notice (informational): Test Informational Notification: "
        "This is a INFORMATIONAL test notification."
    )
    assert Notice.from_json(notice.to_json()) == notice
    quota = Quota.from_json(REFERENCE_LIMITS)
    assert (quota.recent_left, quota.recent_limit) == (14999, 15000)
    assert (quota.pending_left, quota.unattempted_left) == (20000, 19995)
    assert quota.line() == (
        "download requests left: 14,999 of 15,000 per 15 min (20,000 pending, 19,995 unattempted"
        " left)"
    )
    assert Quota.from_json({}).line() == "download requests left: unknown"


def test_a_notice_is_serious_by_its_severity_or_its_words() -> None:
    reference = Notice.from_json(REFERENCE_NOTICE)
    assert not reference.serious
    assert reference.text == (
        "Test Informational Notification: This is a INFORMATIONAL test notification."
    )
    warning = Notice.from_json(REFERENCE_NOTICE | {"severityText": "Warning"})
    assert warning.serious
    window = REFERENCE_NOTICE | {"messageContent": "EE downtime  on Sunday.\n"}
    assert Notice.from_json(window).serious
    assert (
        Notice.from_json(window).text == "Test Informational Notification: EE downtime on Sunday."
    )
    code_only = {"id": 1, "subject": "", "severityCode": "I", "messageContent": "Hello."}
    assert not Notice.from_json(code_only).serious
    assert Notice.from_json(code_only).text == "Hello."
    assert not Notice.from_json({"id": 2, "subject": "No severity at all"}).serious
    assert Notice.from_json({"id": 3, "severityCode": "W", "subject": "x"}).serious


def test_quota_names_its_lowest_count_of_any_kind() -> None:
    assert Quota.from_json(REFERENCE_LIMITS).lowest == ("user", "recentDownloadCount", 14999)
    ip_first = {
        "remainingLimits": [
            {"limitType": "user", "recentDownloadCount": 10, "pendingDownloadCount": 7},
            {"limitType": "ip", "recentDownloadCount": 3, "note": 0, "flagCount": True},
        ]
    }
    assert Quota.from_json(ip_first).lowest == ("ip", "recentDownloadCount", 3)
    answers: list[dict[str, Any]] = [{}, {"remainingLimits": None}, {"remainingLimits": 5}]
    for empty in [*answers, {"remainingLimits": []}]:
        assert Quota.from_json(empty).lowest is None


def test_notices_are_shown_once_a_day_and_fetched_once_a_day(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    clock, cache = Clock(), tmp_path / "notices.json"
    ctx, ui = _context(sandbox, clock), Warnings()
    shown = show_notices(ctx, ui, cache)
    assert shown and ui.lines == [n.line() for n in shown]
    assert all(line.startswith("USGS notice (") for line in ui.lines)
    fetched = len(calls(sandbox, "notifications"))
    assert fetched >= 1

    clock.now += CACHE_SECONDS / 2  # later the same day: nothing new is shown or fetched
    assert show_notices(_context(sandbox, clock), ui, cache) == []
    assert len(ui.lines) == len(shown)
    assert len(calls(sandbox, "notifications")) == fetched
    assert json.loads(cache.read_text())["schema_version"] == 1

    clock.now += CACHE_SECONDS  # the next day: asked again and shown again
    again = show_notices(_context(sandbox, clock), ui, cache)
    assert [n.notice_id for n in again] == [n.notice_id for n in shown]
    assert len(calls(sandbox, "notifications")) == 2 * fetched


def test_notices_never_stop_a_run(tmp_path: Path) -> None:
    """Not logged in (or the service away): no warning, no exception, no cache written."""
    ui = Warnings()
    assert show_notices(_context(None, Clock(), logged_in=False), ui, tmp_path / "n.json") == []
    assert ui.lines == []
    assert not (tmp_path / "n.json").exists()


def test_a_damaged_cache_is_fetched_again(sandbox: Sandbox, tmp_path: Path) -> None:
    cache = tmp_path / "notices.json"
    cache.write_text("{not json", encoding="utf-8")
    assert NoticeCache(cache).fetched_at is None
    ui = Warnings()
    assert show_notices(_context(sandbox, Clock()), ui, cache)
    assert NoticeCache(cache).fresh(Clock().now)


def _login(sb: Sandbox) -> dict[str, str | None]:
    """Log in through the CLI; the environment that then uses the stored login."""
    env: dict[str, str | None] = {"M2MDL_API_URL": sb.api_url}
    env |= {"M2MDL_USERNAME": None, "M2MDL_TOKEN": None}
    result = run(["login", "--username", "demo", "--token-stdin"], env, input="demo-token\n")
    assert result.exit_code == 0, result.stderr
    return env


def test_login_status_shows_key_quota_and_notices(sandbox: Sandbox) -> None:
    result = run(["login", "--status"], _login(sandbox))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "user: demo"
    assert "no key yet" not in result.stdout and "(idle" not in result.stdout
    assert lines[2] == "session key: 0 min old, idle 0 min"
    assert lines[3].startswith("download requests left: 15,000 of 15,000 per 15 min")
    assert any(line.startswith("USGS notice (informational): ") for line in lines[4:])
    assert "demo-token" not in result.stdout + result.stderr


def test_login_status_with_environment_credentials(sandbox: Sandbox) -> None:
    result = run(["login", "--status"], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    assert "session key: not kept (credentials from the environment" in result.stdout
    assert "no key yet" not in result.stdout


def test_login_status_json_stays_schema_1_and_offline(sandbox: Sandbox) -> None:
    result = run(["login", "--status", "--json"], _login(sandbox))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["has_session_key"] is True
    assert calls(sandbox, "notifications") == [] and calls(sandbox, "rate-limit-summary") == []


def test_login_status_without_the_service_still_answers(sandbox: Sandbox) -> None:
    """A stored login but the API unreachable: the local part, and why the rest is missing."""
    env = _login(sandbox)
    result = run(["login", "--status"], env | {"M2MDL_API_URL": "http://127.0.0.1:9/stable/"})
    assert result.exit_code == 0, result.stderr
    assert "user: demo" in result.stdout
    assert "download requests left: unknown (" in result.stdout
    assert "session key: 0 min old, idle 0 min" in result.stdout
