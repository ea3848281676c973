"""Case 4: peak RSS of the CLI with its default settings, on a small and a large bundle.

Target: under 64 MiB, and flat: the 2 GiB run at most 1.10x the
100 MiB run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import Sizes, in_turn, remove, size_label, warm
from report import Summary, Targets, current, transfer_table

if TYPE_CHECKING:
    from servers import SandboxProc
    from session import Bench

TITLE = "4. Peak RSS (CLI, default settings)"
LIMIT_MIB = 64
FLAT = 1.10


def run(bench: Bench) -> None:
    """Measure the CLI's peak RSS on both bundles, interleaved."""
    tar = bench.display_id + ".tar"
    setups: list[tuple[str, SandboxProc, dict[str, str], Path, int]] = []
    try:
        for label, target in (("small", bench.sizes.rss_small), ("large", bench.sizes.rss_large)):
            scale, size = bench.bundle_scale(target)
            sb = bench.sandbox(f"case4-{label}", scale, files_sub=f"rss-{label}")
            env = bench.login(sb, f"case4-{label}")
            out = bench.out / f"c4-{label}"
            setups.append((f"m2mdl CLI, {size_label(size)} bundle", sb, env, out, size))
            bench.fetch_once(env, out)
            warm(next((bench.srv / f"rss-{label}").rglob(tar)))
        bench.notes["4"] = {name: size for name, _, _, _, size in setups}
        runs = [
            (tool, cmd, tenv, sb, out, size)
            for name, sb, env, out, size in setups
            for tool, cmd, tenv in bench.with_before(name, bench.download_cmd(out), env)
        ]
        for rnd in range(1, bench.rounds + 1):
            for tool, cmd, tenv, sb, out, size in in_turn(runs, rnd):
                bench.measure_bundle("4", tool, rnd, cmd, out, (tar, size), tenv, sb)
    finally:
        for _, sb, _, out, _ in setups:
            bench.stop_sandbox(sb)
            remove(out)
        remove(bench.srv / "rss-small")
        remove(bench.srv / "rss-large")


def evaluate(summary: Summary, sizes: Sizes, targets: Targets) -> None:
    """Peak RSS of the larger run, and larger / smaller."""
    c4 = current(summary.get("4", {}))
    if len(c4) != 2:
        return
    small, large = sorted(c4.values(), key=lambda s: int(s["bytes"]))
    peak_small, peak_large = small["maxrss_mib"]["max"], large["maxrss_mib"]["max"]
    targets.add(
        "4",
        "peak RSS, larger file (MiB, max over rounds)",
        peak_large,
        f"< {LIMIT_MIB}",
        peak_large < LIMIT_MIB,
    )
    targets.at_most(
        "4",
        "flat: peak RSS larger / smaller file",
        peak_large,
        peak_small,
        FLAT,
        f"{peak_small:.1f} MiB vs {peak_large:.1f} MiB",
    )


def render(summary: Summary, config: dict[str, Any], notes: dict[str, Any]) -> list[str]:
    """Section 4."""
    tools = summary.get("4")
    return [f"## {TITLE}", "", *transfer_table(tools)] if tools else []
