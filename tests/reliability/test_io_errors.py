"""Every I/O failure a user or the OS can cause gives one line and a documented exit code.

Bad paths exit 2 naming the path; a full disk exits 6 with the full-disk message; a closed
stdout exits 2 without a traceback; ``--debug`` adds the traceback the error line promises.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox

from ..cli_helpers import NOTEBOOK_QUERY
from ..test_schemas import assert_valid
from .helpers import CLI, CliResult, OutState, cli_env, download_args, inspect_out, run_cli
from .io_env import tmpfs

pytestmark = pytest.mark.reliability

SEARCH = ["search", *NOTEBOOK_QUERY, "--output", "jsonl"]


def _one_error_line(result: CliResult) -> str:
    assert "Traceback" not in result.stderr, result.explain()
    assert "internal error" not in result.stderr, result.explain()
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.explain()
    return lines[0]


def test_out_that_is_a_file_or_under_a_file_exits_2_naming_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    for out in (afile, afile / "sub"):
        result = run_cli(download_args(out, "bundle"), cli_env(sandbox), timeout=60)
        assert result.code == 2, result.explain()
        assert str(out) in _one_error_line(result)
    assert afile.read_text() == "not a directory"


def test_a_name_over_name_max_exits_2(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / ("n" * 300)
    result = run_cli(download_args(out, "bundle"), cli_env(sandbox), timeout=60)
    assert result.code == 2, result.explain()
    assert "too long" in _one_error_line(result)


def test_a_read_only_file_system_exits_2(sandbox: Sandbox, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "size=1m,ro") as ro:
        out = ro / "out"
        result = run_cli(download_args(out, "bundle"), cli_env(sandbox), timeout=60)
    assert result.code == 2, result.explain()
    line = _one_error_line(result)
    assert str(out) in line and "read-only" in line


def test_search_output_to_dev_full_exits_6(sandbox: Sandbox) -> None:
    result = run_cli([*SEARCH, "-o", "/dev/full"], cli_env(sandbox), timeout=60)
    assert result.code == 6, result.explain()
    assert "no space left" in _one_error_line(result)


def test_search_output_to_a_directory_exits_2_and_debug_shows_the_traceback(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    result = run_cli([*SEARCH, "-o", str(tmp_path)], cli_env(sandbox), timeout=60)
    assert result.code == 2, result.explain()
    assert str(tmp_path) in _one_error_line(result)
    debug = run_cli(["--debug", *SEARCH, "-o", str(tmp_path)], cli_env(sandbox), timeout=60)
    assert debug.code == 2, debug.explain()
    assert "Traceback (most recent call last)" in debug.stderr, debug.explain()
    assert "IsADirectoryError" in debug.stderr
    assert f"error: {tmp_path}: it is a directory" in debug.stderr


def _with_stdout(sb: Sandbox, stdout_fd: int | None, tmp_path: Path) -> CliResult:
    """Run a search whose stdout is ``stdout_fd``, or closed when None (``>&-``)."""
    err = tmp_path / "stderr"
    argv = [*CLI, *SEARCH]
    with err.open("wb") as err_fh:
        if stdout_fd is None:
            script = 'exec "$@" >&-'
            proc = subprocess.run(
                ["sh", "-c", script, "sh", *argv],
                env=cli_env(sb),
                stderr=err_fh,
                stdin=subprocess.DEVNULL,
                timeout=60,
                check=False,
            )
        else:
            proc = subprocess.run(
                argv,
                env=cli_env(sb),
                stdout=stdout_fd,
                stderr=err_fh,
                stdin=subprocess.DEVNULL,
                timeout=60,
                check=False,
            )
    return CliResult(argv, proc.returncode, "", err.read_text(), 0.0, 0)


def test_closed_stdout_exits_2_with_one_line(sandbox: Sandbox, tmp_path: Path) -> None:
    result = _with_stdout(sandbox, None, tmp_path)
    assert result.code == 2, result.explain()
    assert "standard output" in _one_error_line(result)


def test_a_pipe_whose_reader_left_exits_2_quietly(sandbox: Sandbox, tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written: EPIPE
    try:
        result = _with_stdout(sandbox, write_end, tmp_path)
    finally:
        os.close(write_end)
    assert result.code == 2, result.explain()
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert not [line for line in result.stderr.splitlines() if line.startswith("error:")]


# --- disk full at several sizes: each phase of a run meets it -----------------------------


@pytest.mark.parametrize(
    ("options", "phase", "manifest_fits"),
    [
        ("size=4k", "the first manifest write", False),
        ("size=4k,nr_inodes=2", "creating the first file (no inodes)", False),
        ("size=64k", "the manifest update that records the plan", True),
        ("size=1200k", "the data, after some files", True),
    ],
)
def test_disk_full_in_every_phase_exits_6_with_the_full_disk_message(
    sandbox_factory: Callable[..., Sandbox],
    tmp_path: Path,
    options: str,
    phase: str,
    manifest_fits: bool,
) -> None:
    """Exit 6 and one full-disk line in every phase. A disk full before the first manifest
    is written leaves none (there is no room for one); once one was written, the run's
    manifest is there, complete and valid per its schema: the last version that fitted."""
    sb = sandbox_factory(data_scale=0.001)
    with tmpfs(tmp_path / "small", options) as small:
        out = small / "out"
        result = run_cli(download_args(out, "band", "--workers", "2"), cli_env(sb), timeout=90)
        state = inspect_out(out, sb) if out.is_dir() else OutState()  # finals verified
    assert result.code == 6, f"{phase}\n{result.explain()}"
    line = _one_error_line(result)
    assert "space" in line.lower(), f"{phase}: {line}"
    if not manifest_fits:
        assert not state.manifests, f"{phase}: {sorted(state.manifests)}"
        return
    assert len(state.manifests) == 1, f"{phase}: manifests {sorted(state.manifests)}"
    manifest = state.newest_manifest()
    assert_valid("manifest", manifest)
    assert manifest["exit_code"] in (None, 6), f"{phase}: exit_code {manifest['exit_code']}"
