"""Case 6: start-up of the whole process, against ``python -c pass``.

``m2mdl --version``, ``m2mdl --help`` and ``m2mdl download --help``, 3 x rounds each after
two unmeasured warm-ups. Targets: ``--version`` under 100 ms, ``--help``
under 300 ms. (Start-up to the first API call of a download is a target of case 1.)
"""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING, Any

from harness import Sizes, in_turn
from report import Summary, Targets, fmt_stat, wall

if TYPE_CHECKING:
    from session import Bench

TITLE = "6. Start-up (wall time of the whole process)"
LIMITS = {"m2mdl --version": 0.100, "m2mdl --help": 0.300}


def run(bench: Bench) -> None:
    """Each command 3 x rounds times, interleaved."""
    py = bench.python
    env = {k: v for k, v in os.environ.items() if not k.startswith("M2MDL_")}
    tools: list[tuple[str, list[str], dict[str, str] | None]] = [
        ("python -c pass", [py, "-c", "pass"], env)
    ]
    for args in (["--version"], ["--help"], ["download", "--help"]):
        tools += bench.with_before(" ".join(["m2mdl", *args]), [bench.m2mdl, *args], env)
    for _ in range(2):  # unmeasured warm-up (bytecode caches, page cache)
        for _, cmd, tenv in tools:
            subprocess.run(cmd, capture_output=True, timeout=60, check=True, env=tenv)
    for rnd in range(1, 3 * bench.rounds + 1):
        for tool, cmd, tenv in in_turn(tools, rnd):
            bench.measure("6", tool, rnd, cmd, {}, env=tenv, settle=0.0)


def evaluate(summary: Summary, sizes: Sizes, targets: Targets) -> None:
    """``--version`` and ``--help`` against their limits."""
    if not summary.get("6"):
        return
    for tool, limit in LIMITS.items():
        v = wall(summary, "6", tool)
        targets.add("6", f"{tool} (median wall, s)", v, f"< {limit:.3f}", v < limit)


def render(summary: Summary, config: dict[str, Any], notes: dict[str, Any]) -> list[str]:
    """Section 6."""
    c6 = summary.get("6")
    if not c6:
        return []
    lines = [f"## {TITLE}", "", "| command | wall s | CPU s | peak RSS MiB |", "|---|---|---|---|"]
    for tool, s in c6.items():
        lines.append(
            f"| `{tool}` | {fmt_stat(s['wall_s'], 3)} | {fmt_stat(s['cpu_s'], 3)} | "
            f"{fmt_stat(s['maxrss_mib'], 1)} |"
        )
    return lines
