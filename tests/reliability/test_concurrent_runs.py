"""Case 3: two runs into one directory at once: the second refuses with a clear message."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox

from .helpers import (
    BUNDLES,
    CliProcess,
    assert_complete,
    cli_env,
    download_args,
    inspect_out,
    run_cli,
    wait_for,
)

pytestmark = pytest.mark.reliability


def test_second_run_into_the_same_directory_is_refused(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=0.01, rate=2_000_000)  # ~5 s per bundle
    out = tmp_path / "out"
    env = cli_env(sb)
    args = download_args(out, "bundle", "--workers", "3")
    first = CliProcess(args, env)
    wait_for(
        lambda: (out / ".m2mdl.lock").exists() and any(out.glob("*.part")),
        30,
        "the first run to hold the lock and write",
    )
    second = run_cli(args, env, timeout=60)
    if second.code == 0:  # it waited for the lock instead: allowed, if the first finished
        assert first.wait(60).code == 0
    else:
        assert second.code == 2, second.explain()
        assert first.running(), "the first run ended before the second was refused"
        message = second.stderr.lower()
        assert "in use" in message or "lock" in message, second.explain()
        assert re.search(rf"\bpid {first.pid}\b", second.stderr), (
            f"the message does not name the lock holder (pid {first.pid}):\n{second.stderr}"
        )
        assert "Traceback" not in second.stderr
        inspect_out(out, sb)  # the refused run touched nothing: finals still verified
        result = first.wait(60)
        assert result.code == 0, result.explain()
    assert_complete(out, sb, BUNDLES)
    manifests = inspect_out(out, sb).manifests
    assert len(manifests) == 1, f"the refused run wrote a manifest: {sorted(manifests)}"


def test_two_runs_started_together_never_corrupt_files(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=0.01, rate=4_000_000)
    out = tmp_path / "out"
    env = cli_env(sb)
    args = download_args(out, "bundle", "--workers", "3")
    runs = [CliProcess(args, env), CliProcess(args, env)]
    time.sleep(0.01)
    results = [run.wait(90) for run in runs]
    codes = sorted(r.code for r in results)
    assert codes in ([0, 0], [0, 2]), "\n".join(r.explain() for r in results)
    for result in results:
        if result.code == 2:
            assert "in use" in result.stderr.lower(), result.explain()
    assert_complete(out, sb, BUNDLES)
