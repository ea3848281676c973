"""The run registry: which download labels cleanup may remove."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from m2mdl.manifest import new_run_id
from m2mdl.workflow.runs import (
    UNKNOWN_RUN_AGE_S,
    RunState,
    label_time,
    registered,
    registry_dir,
    run_state,
)


def _label() -> str:
    return f"m2mdl_{new_run_id()}"


def test_label_time_reads_the_run_id() -> None:
    assert label_time("m2mdl_20260130T051000123Z-abcd") == 1769749800.123
    assert label_time("someone_elses_order") is None


def test_a_registered_run_is_live_then_over(tmp_path: Path) -> None:
    label = _label()
    assert run_state(label) is RunState.UNKNOWN  # young, never seen here
    with registered(label, tmp_path):
        assert run_state(label) is RunState.LIVE
        record = json.loads((registry_dir() / f"{label}.lock").read_text())
        assert record["label"] == label and record["out_dir"] == str(tmp_path)
    assert run_state(label) is RunState.OVER


def test_a_lease_left_by_a_dead_run_is_over() -> None:
    label = _label()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    registry_dir().mkdir(parents=True, exist_ok=True)
    record = {"pid": child.pid, "host": socket.gethostname()}
    (registry_dir() / f"{label}.lock").write_text(json.dumps(record))
    assert run_state(label) is RunState.OVER


def test_unknown_runs_are_over_only_when_old_or_finished() -> None:
    label = "m2mdl_20260130T051000123Z-abcd"
    started = label_time(label)
    assert started is not None
    assert run_state(label, now=started + 3600) is RunState.UNKNOWN
    assert run_state(label, now=started + UNKNOWN_RUN_AGE_S + 1) is RunState.OVER
    assert run_state(label, finished=frozenset({label}), now=started + 1) is RunState.OVER
