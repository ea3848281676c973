"""What users of other M2M tools complained about, checked on the real CLI against the sandbox:
an overall bar past 100 %, an unavailable bundle with no way out, a deadline that is not
named, raw log lines, an account without download access, orders left behind, and flag
text in the messages a workflow writes."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from m2mdl.cli.flags import FLAG_NAMES
from m2mdl.errors import spell
from m2mdl.manifest import Status
from m2mdl.sandbox import Sandbox
from m2mdl.transfer import FileResult
from m2mdl.ui import RichProgress
from m2mdl.workflow.guard import PlanTotals, confirmation_question, describe_window
from m2mdl.workflow.runs import forget, registered

from .cli_helpers import ANCHORAGE, env_for, manifest, run
from .terminal import ANSI, on_a_terminal

SCENE = "LC08_L2SP_068017_20200310_20200822_02_T1"
RED = ["--filetype", "band", "--bands", "red", "--no-metadata"]


# --- 1: the overall bar counts each file's bytes once -------------------------------------------


def _result(key: str, size: int) -> FileResult:
    return FileResult(
        key=key,
        dest=Path(key),
        ok=True,
        size=size,
        sha512=None,
        attempts=2,
        bytes_received=size,
        error=None,
        error_kind=None,
    )


def test_a_restart_rewinds_the_overall_bar() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120, no_color=True)
    bar = RichProgress(console, 1, 4_200_000)
    bar.file_started("a", "a.TIF", 4_200_000, 0)
    bar.file_advanced("a", 2_000_000)
    bar.file_started("a", "a.TIF", 4_200_000, 0)  # the server ignored Range: from byte 0
    bar.file_advanced("a", 4_200_000)
    overall = bar.snapshot()[0]
    assert "4.2/4.2 MB" in overall, overall
    bar.file_finished(_result("a", 4_200_000))
    bar.close()
    closing = ANSI.sub("", console.file.getvalue()).strip().splitlines()[-1]  # type: ignore[attr-defined]
    assert closing.startswith("1 of 1 file(s) done: 4.2 MB in "), closing
    assert closing.endswith("(+2.0 MB re-sent)"), closing


def _on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """``m2mdl ARGS`` on a pseudo-terminal: its exit code and what the terminal showed."""
    full_env = dict(os.environ, NO_COLOR="1", COLUMNS="160", **env)
    return on_a_terminal(args, full_env, timeout=120)


def test_a_file_sent_again_from_byte_0_counts_once(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """The auditor's run: the server ignores Range and drops twice, so the file restarts."""
    sb = sandbox_factory(data_scale=0.01, ignore_range=True, drop_after=20_000, drop_times=2)
    out = tmp_path / "out"
    code, screen = _on_a_terminal(
        ["download", SCENE, *RED, "--out", str(out), "--segments", "1"], env_for(sb)
    )
    assert code == 0, screen
    size = manifest(out)["items"][0]["size"]
    closing = [line for line in screen.splitlines() if "file(s) done" in line][-1].strip()
    kb = f"{size / 1000:.1f} kB"
    assert closing.startswith(f"1 of 1 file(s) done: {kb} in "), closing
    assert "re-sent)" in closing, closing
    for done, total in re.findall(r"(\d+\.\d)/(\d+\.\d) kB", screen):
        assert float(done) <= float(total), screen


# --- 3: an unavailable bundle names its reason and the band files -------------------------------


def test_unavailable_bundles_say_why_and_point_to_band_files(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2mdl.sandbox import options

    monkeypatch.setattr(options, "available", lambda cat, key, p: p.system == "folder")
    out = tmp_path / "out"
    result = run(["download", SCENE, "--filetype", "bundle", "--out", str(out)], env_for(sandbox))
    assert result.exit_code == 6, result.stderr
    lines = result.stderr.splitlines()
    assert f"warning: unavailable: no bundle is available for download now: {SCENE}" in lines
    assert any(line.startswith("warning: 1 scene(s) unavailable; see ") for line in lines)
    assert (
        "hint: band files are available for 1 of these scene(s): --filetype band fetches them"
        " (add --bands to choose which)" in lines
    ), result.stderr
    result = run(["download", SCENE, *RED, "--out", str(out)], env_for(sandbox))
    assert result.exit_code == 0, result.stderr


# --- 4: the deadline is named, with the files it left pending -----------------------------------


def test_the_deadline_is_named_with_the_pending_files(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(stall_after=1000, stall_seconds=600, stall_times=1000)
    out = tmp_path / "out"
    result = run(
        ["download", SCENE, *RED, "--out", str(out), "--deadline", "3"],
        env_for(sb, M2MDL_STALL_SECONDS="5"),
    )
    assert result.exit_code == 6, result.stderr
    assert (
        "deadline reached: 1 file(s) pending; run the same command again to resume them"
        in result.stderr
    ), result.stderr
    assert "not done (failed" not in result.stderr
    assert [i["status"] for i in manifest(out)["items"]] == [Status.PENDING.value]


# --- 5: retries are one short line by default, nothing with -q, the page with -v ----------------


@pytest.mark.parametrize("verbosity", ["", "-q", "-v"])
def test_api_retries_show_by_verbosity(
    sandbox_factory: Callable[..., Sandbox], verbosity: str
) -> None:
    sb = sandbox_factory(api_fail_status=503, api_fail_times=2)
    args = [verbosity] if verbosity else []
    result = run([*args, "options", SCENE], env_for(sb))
    assert result.exit_code == 0, result.stderr
    if verbosity == "-q":
        assert result.stderr == ""
    elif verbosity == "-v":
        assert "<!DOCTYPE html>" in result.stderr
        assert "WARNING m2mdl.api: " in result.stderr
    else:
        notices = [line for line in result.stderr.splitlines() if "retrying" in line]
        assert len(notices) == 2, result.stderr
        assert all(line.startswith("warning: ") and len(line) < 170 for line in notices)
        assert "<" not in result.stderr and "m2mdl.api" not in result.stderr


# --- 6: login --status warns about an account without download access ----------------------------


def test_status_of_an_account_without_download_access_warns(sandbox: Sandbox) -> None:
    env = env_for(sandbox, M2MDL_USERNAME="noaccess", M2MDL_TOKEN="noaccess-token")
    result = run(["login", "--status"], env)
    assert result.exit_code == 0, result.stderr  # the status itself was read
    assert "user: noaccess" in result.stdout
    assert "warning: this account may search but not download" in result.stderr
    assert "hint: request access in ERS" in result.stderr
    demo = run(["login", "--status"], env_for(sandbox))
    assert demo.exit_code == 0 and "warning" not in demo.stderr


# --- 7: the rerun that completes a preparing run removes that run's order -----------------------


def _labels(sb: Sandbox, out: Path) -> list[str]:
    """The download orders on the server, as ``cleanup --dry-run`` lists them."""
    result = run(["cleanup", "--dry-run", "--dir", str(out)], env_for(sb))
    return re.findall(r"would remove download order (\S+)", result.stdout)


def test_a_rerun_removes_the_order_an_earlier_run_kept(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(preparing_seconds=4)
    out = tmp_path / "out"
    first = run(["download", SCENE, *RED, "--out", str(out), "--wait", "1"], env_for(sb))
    assert first.exit_code == 6 and "still preparing" in first.stderr, first.stderr
    label = manifest(out)["label"]
    assert _labels(sb, out) == [label]  # kept on purpose: the server goes on preparing
    time.sleep(4)
    second = run(["download", SCENE, *RED, "--out", str(out)], env_for(sb))
    assert second.exit_code == 0, second.stderr
    assert f"removed download order {label} of an earlier run" in second.stderr
    assert _labels(sb, out) == []
    after = run(["cleanup"], env_for(sb))
    assert "removed download order" not in after.stdout


def test_a_rerun_never_removes_the_order_of_a_live_run(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(preparing_seconds=3)
    out = tmp_path / "out"
    first = run(["download", SCENE, *RED, "--out", str(out), "--wait", "1"], env_for(sb))
    assert first.exit_code == 6, first.stderr
    label = manifest(out)["label"]
    time.sleep(3)
    with registered(label, out):  # its lease is held again: cleanup's rules call it live
        second = run(["download", SCENE, *RED, "--out", str(out)], env_for(sb))
        assert second.exit_code == 0, second.stderr
        assert "of an earlier run" not in second.stderr
        assert _labels(sb, out) == []  # nothing cleanup may remove: the run is live
        kept = run(["cleanup", "--dry-run"], env_for(sb))
        assert f"kept {label}: its run is still going" in kept.stderr


def test_an_order_of_a_run_of_unknown_state_is_kept_and_flags_are_spelled(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """A rerun removes only runs that are over; cleanup's note names the --dir flag."""
    sb = sandbox_factory(preparing_seconds=600)
    out = tmp_path / "out"
    first = run(["download", SCENE, *RED, "--out", str(out), "--wait", "1"], env_for(sb))
    assert first.exit_code == 6, first.stderr
    label = manifest(out)["label"]
    forget(label)  # as if the run had been on another machine: its state is unknown here
    result = run(["cleanup", "--dry-run"], env_for(sb))
    assert (
        f"kept {label}: started less than 3 days ago, maybe by a run on another machine;"
        " give its output directory with --dir to remove it now"
    ) in result.stderr


# --- 8: workflow messages name parameters; the CLI spells them as flags ------------------------


def test_workflow_messages_name_parameters_and_the_cli_spells_flags(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    day = dt.date(2020, 3, 10)
    note = describe_window(day - dt.timedelta(days=29), day, 30)
    assert spell(note).endswith("use start/end for another period")
    assert spell(note, FLAG_NAMES).endswith("use --start/--end for another period")
    question = confirmation_question(PlanTotals(scenes=1, files=1, size=2000), 1000)
    assert "over --max-size 1.0 KB. Download?" in spell(question, FLAG_NAMES)
    assert "over max_size 1.0 KB" in spell(question)
    result = run(["download", "--dry-run", "--aoi", str(ANCHORAGE)], env_for(sandbox))
    assert "; use --start/--end for another period" in result.stderr, result.stderr
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    doctor = run(["doctor", "--json", "--out", str(not_a_dir)], env_for(sandbox))
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["output directory"]["fix"] == "choose another --out"
