"""The download display in a real terminal: tmux runs the CLI, the test reads the screen.

Each run gets its own tmux server (``-L`` socket, no user config) and its own sandbox, whose
``rate`` fault slows every file so the bars stay on screen long enough to be read several
times. The screens are read as plain text (``capture-pane -p``), so colour does not matter.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from m2mdl.sandbox import Faults, Sandbox, SandboxConfig

from ..cli_helpers import NOTEBOOK_QUERY
from ..reliability.helpers import cli_env

#: 3 scenes x (SR_B4 + QA_PIXEL), without the MTL files --bands brings by default: six
#: files of 40 kB to 830 kB at the default data scale.
DOWNLOAD = ["download", *NOTEBOOK_QUERY, "--bands", "SR_B4,QA_PIXEL", "--no-metadata"]
FILES = 6
HEIGHT = 30
BAR = re.compile(r"[━╸╺]+")
SUMMARY = re.compile(r"^6 of 6 file\(s\) done: [\d.]+ [kMG]?B in [\d.]+ s \([\d.]+ [kMG]?B/s\)$")
STOPPED = re.compile(
    r"^interrupted: (\d+) done, (\d+) interrupted \(resumes next run\), (\d+) not started; "
)
TIMEOUT = 90.0


class Terminal:
    """One tmux server with one window running ``m2mdl ARGS``, then ``EXIT=<code>``."""

    def __init__(self, width: int, sb: Sandbox, args: list[str], workdir: Path) -> None:
        self.socket = f"m2mdl-ui-test-{uuid.uuid4().hex[:12]}"
        env = cli_env(sb)
        for name in ("NO_COLOR", "COLUMNS", "LINES", "TMUX"):
            env.pop(name, None)  # the terminal decides width and colour, as for a person
        command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "m2mdl", *args))
        script = workdir / "run.sh"
        # ``trap : INT``: Ctrl-C reaches the CLI, while the shell lives on to print its code
        # (a trap with a command is reset to the default in the child).
        script.write_text(
            f'#!/bin/sh\ntrap : INT\n{command}\necho "EXIT=$?"\nsleep 600\n', encoding="utf-8"
        )
        self._tmux(
            "new-session", "-d", "-x", str(width), "-y", str(HEIGHT), "-s", "ui",
            "-c", str(workdir), "sh", str(script), env=env,
        )  # fmt: skip

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            check=True,
        )
        return result.stdout

    def screen(self) -> list[str]:
        """The visible screen and its scrollback, wrapped lines joined, blank lines dropped."""
        text = self._tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", "ui")
        return [line.rstrip() for line in text.splitlines() if line.strip()]

    def ctrl_c(self) -> None:
        """Press Ctrl-C in the window."""
        self._tmux("send-keys", "-t", "ui", "C-c")

    def watch(self, until: Callable[[list[str]], bool]) -> list[list[str]]:
        """Screens read every 0.2 s until ``until(screen)`` holds (bounded by TIMEOUT)."""
        screens: list[list[str]] = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            screens.append(self.screen())
            if until(screens[-1]):
                return screens
            time.sleep(0.2)
        raise AssertionError(
            "the terminal never showed what was expected:\n" + "\n".join(screens[-1])
        )

    def close(self) -> None:
        """Stop this test's tmux server (and the CLI in it)."""
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30, check=False
        )


def exited(screen: list[str]) -> bool:
    return any(line.startswith("EXIT=") for line in screen)


def bar_lines(screen: list[str]) -> list[str]:
    return [line for line in screen if BAR.search(line)]


def file_progress(line: str) -> float:
    """Bytes shown as done on a file's bar line (0 for the overall line)."""
    match = re.search(r" (\d+\.\d+)/\d", line)
    return 0.0 if line.startswith("all ") or match is None else float(match.group(1))


def index_of(screen: list[str], prefix: str) -> int:
    found = [k for k, line in enumerate(screen) if line.startswith(prefix)]
    assert found, f"no line starts with {prefix!r}:\n" + "\n".join(screen)
    return found[0]


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Callable[[int, int, list[str]], Terminal]]:
    opened: list[tuple[Terminal, Sandbox]] = []

    def open_terminal(width: int, rate: int, extra: list[str]) -> Terminal:
        sb = Sandbox(SandboxConfig(faults=Faults(rate=rate))).start()
        workdir = tmp_path / f"w{len(opened)}"
        workdir.mkdir()
        args = [*DOWNLOAD, "--out", str(workdir / "out"), *extra]
        try:
            term = Terminal(width, sb, args, workdir)
        except BaseException:
            sb.stop()
            raise
        opened.append((term, sb))
        return term

    yield open_terminal
    for term, sb in opened:
        term.close()
        sb.stop()


@pytest.mark.parametrize("width", [80, 160])
def test_download_screen_phases_steady_bars_and_summary(
    terminal: Callable[[int, int, list[str]], Terminal], width: int
) -> None:
    term = terminal(width, 150_000, [])
    screens = term.watch(exited)
    final = screens[-1]
    assert "EXIT=0" in final, "\n".join(final)

    search = index_of(final, "> searching landsat_ot_c2_l2")
    plan = index_of(final, "> plan: 3 scenes, 6 files, 0 already present, ")
    requested = index_of(final, "> requested 6 files: 6 ready")
    first_bar = final.index(bar_lines(final)[0])
    assert search < plan < requested < first_bar
    assert final[plan].endswith(" MB to download")

    with_bars = [bar_lines(s) for s in screens if bar_lines(s)]
    assert len(with_bars) >= 3, "the download was too fast to watch"
    assert len({len(bars) for bars in with_bars}) > 1, "no bar ever finished while watched"
    starts = {BAR.search(line).start() for bars in with_bars for line in bars}  # type: ignore[union-attr]
    ends = {max(m.end() for m in BAR.finditer(line)) for bars in with_bars for line in bars}
    assert len(starts) == 1 and len(ends) == 1, f"bars moved: starts {starts}, ends {ends}"
    assert all(len(line) <= width for s in screens for line in bar_lines(s))

    summary = [line for line in final if SUMMARY.match(line)]
    assert len(summary) == 1, "\n".join(final)
    assert final.index(summary[0]) > first_bar
    assert f"all {FILES}/{FILES} files" in final[first_bar]
    assert "failed" not in "\n".join(final)


@pytest.mark.parametrize("width", [80, 160])
def test_ctrl_c_screen_says_done_interrupted_and_not_started(
    terminal: Callable[[int, int, list[str]], Terminal], width: int
) -> None:
    term = terminal(width, 40_000, ["--workers", "2"])
    started = term.watch(lambda s: any(file_progress(line) > 0 for line in bar_lines(s)))
    assert not exited(started[-1])
    term.ctrl_c()
    final = term.watch(exited)[-1]
    text = "\n".join(final)
    assert "EXIT=130" in text, text
    assert "failed" not in text
    stopped = [m for line in final if (m := STOPPED.match(line))]
    assert len(stopped) == 1, text
    done, interrupted, not_started = (int(n) for n in stopped[0].groups())
    assert done + interrupted + not_started == FILES
    assert interrupted >= 1 and not_started >= 1, text
    counters = re.findall(r"all (\d+)/6 files", text)
    assert counters and int(counters[-1]) == done < FILES
    assert any(line.startswith("error: interrupted") for line in final)
