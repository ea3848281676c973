"""A reader that quits early (``m2mdl ... | head -1``): every command exits 2, the documented
code of a closed standard output, and prints nothing, whether rich or a plain write met the
closed pipe (rich's own handler would exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from m2mdl.errors import ExitCode

from .cli_helpers import NOTEBOOK_QUERY

SCENE = "LC08_L2SP_068017_20200310_20200822_02_T1"


def _into_closed_pipe(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run ``m2mdl ARGS`` with stdout a pipe whose reader has already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "m2mdl", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one scene's red band, for ``verify``."""
    out = tmp_path_factory.mktemp("pipes") / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "m2mdl",
            "--sandbox",
            "download",
            SCENE,
            "--filetype",
            "band",
            "--bands",
            "red",
            "--out",
            str(out),
            "-q",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return out


@pytest.mark.parametrize(
    "args",
    [
        ["options", SCENE],  # rich tables
        ["doctor"],  # rich check lines
        ["search", *NOTEBOOK_QUERY],  # a plain write
        ["download", SCENE, "--dry-run", "--filetype", "band", "--bands", "red"],
    ],
    ids=["options", "doctor", "search", "download-dry-run"],
)
def test_a_closed_pipe_exits_2_quietly(args: list[str]) -> None:
    done = _into_closed_pipe(["--sandbox", *args])
    stderr = done.stderr.decode()
    assert done.returncode == int(ExitCode.INPUT), stderr
    assert "Traceback" not in stderr and "error" not in stderr, stderr


def test_verify_into_a_closed_pipe_exits_2_quietly(downloaded: Path) -> None:
    done = _into_closed_pipe(["--sandbox", "verify", str(downloaded)])
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert "Traceback" not in stderr and "error" not in stderr, stderr


def test_head_reads_a_line_then_quits() -> None:
    """The user's own pipeline: ``doctor | head -1`` (doctor writes a line per check)."""
    done = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$0" -m m2mdl --sandbox doctor | head -1', sys.executable],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.decode().count("\n") == 1
    assert done.returncode in (0, 2), done.stderr.decode()  # 0 when doctor wrote all first
    assert b"error" not in done.stderr and b"Traceback" not in done.stderr
