"""Turn the runs into numbers and the numbers into ``latest.md``.

``summarize`` groups the runs by case and tool (medians, min, max, rates, API calls, the
CLI's wall-time split); ``Targets`` collects each target met or not; the ``*_table`` helpers
render the tables the cases share; ``render_markdown`` puts the header, the machine, the
targets and the cases' sections together. ``machine_info`` describes where it ran.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness import REPO, Run

#: Per tool: n, failed, bytes, wall_s/cpu_s/maxrss_mib statistics, rates, calls, phases.
ToolSummary = dict[str, Any]
#: Per case, per tool.
Summary = dict[str, dict[str, ToolSummary]]


def _stat(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


def summarize(runs: list[Run]) -> Summary:
    """Per case and tool: medians, min and max of wall, CPU, RSS; derived rates."""
    grouped: dict[str, dict[str, list[Run]]] = {}
    for run in runs:
        grouped.setdefault(run.case, {}).setdefault(run.tool, []).append(run)
    return {
        case: {tool: _summarize_tool(rs) for tool, rs in tools.items()}
        for case, tools in grouped.items()
    }


def _summarize_tool(rs: list[Run]) -> ToolSummary:
    nbytes = rs[0].nbytes
    s: ToolSummary = {
        "n": len(rs),
        "failed": sum(not r.ok for r in rs),
        "bytes": nbytes,
        "wall_s": _stat([r.wall for r in rs]),
        "cpu_s": _stat([r.cpu for r in rs]),
        "maxrss_mib": _stat([r.maxrss_kib / 1024 for r in rs]),
    }
    if nbytes:
        s["mb_per_s"] = round(nbytes / s["wall_s"]["median"] / 1e6, 1)
        s["cpu_s_per_gb"] = round(s["cpu_s"]["median"] / (nbytes / 1e9), 3)
    served = [r for r in rs if r.server.get("requests")]
    if served:
        s["server_window_s"] = _stat([r.server["window_s"] for r in served])
        s["outside_window_s"] = _stat([r.wall - r.server["window_s"] for r in served])
        s["server_body_bytes"] = _stat([float(r.server["body_bytes"]) for r in served])
        s["server_requests"] = _stat([float(r.server["requests"]) for r in served])
    calls = [r.extra["api_calls"] for r in rs if "api_calls" in r.extra]
    if calls:
        s.update(_call_pattern(calls))
        s["stac_calls"] = _stat([float(r.extra.get("stac_calls", 0)) for r in rs])
    phases = [r.extra["phases"] for r in rs if "phases" in r.extra]
    if phases:
        s["phases"] = {k: _stat([p[k] for p in phases]) for k in phases[0]}
    counts = [r.extra["counts"] for r in rs if "counts" in r.extra]
    if counts:
        s["file_counts"] = counts[0]
    verified = [r.extra["verified"] for r in rs if r.extra.get("verified")]
    if verified:
        s["verified"] = verified[0]
        s["verified_stable"] = all(v == verified[0] for v in verified)
    return s


def _call_pattern(calls: list[dict[str, int]]) -> ToolSummary:
    """The usual calls per endpoint (the most common pattern over the rounds) and the rest.

    A run may make calls the others do not (m2mdl fetches USGS notices once a day, so the
    first run with a fresh state directory makes extra ``notifications`` calls): the table
    shows the usual pattern, ``api_calls_max`` the most calls any run made, and
    ``api_calls_extra`` the endpoints some run called more often, with the most seen.
    """
    patterns = Counter(json.dumps(c, sort_keys=True) for c in calls)
    usual: dict[str, int] = json.loads(patterns.most_common(1)[0][0])
    extra: dict[str, int] = {}
    for c in calls:
        for endpoint, n in c.items():
            if n > usual.get(endpoint, 0):
                extra[endpoint] = max(extra.get(endpoint, 0), n)
    return {
        "api_calls": usual,
        "api_calls_total": sum(usual.values()),
        "api_calls_max": max(sum(c.values()) for c in calls),
        "api_calls_usual_runs": patterns.most_common(1)[0][1],
        "api_calls_extra": dict(sorted(extra.items())),
        "api_calls_stable": len(patterns) == 1,
    }


def calls_text(s: ToolSummary) -> str:
    """``6`` or ``6 (8 in 1 of 7 runs: notifications x2)``."""
    total = s.get("api_calls_total")
    if s.get("api_calls_stable", True):
        return str(total)
    others = s["n"] - s["api_calls_usual_runs"]
    extra = ", ".join(f"{e} x{n}" for e, n in s["api_calls_extra"].items())
    return f"{total} (up to {s['api_calls_max']} in {others} of {s['n']} runs: {extra})"


#: Suffix of a tool run from the ``--baseline`` revision's sources (same command otherwise).
BEFORE = " [before]"
#: How much slower than the baseline a median may be and still count as "not slower": the
#: medians of two identical builds differ by about this much on a shared 2-core machine.
NOISE = 1.03


def current(tools: dict[str, ToolSummary]) -> dict[str, ToolSummary]:
    """The tools of a case without their ``--baseline`` twins."""
    return {name: s for name, s in tools.items() if not name.endswith(BEFORE)}


def evaluate_baseline(summary: Summary, rev: str, targets: Targets) -> None:
    """For every tool with a twin run from the baseline sources: not slower than before."""
    for case, tools in summary.items():
        for name in current(tools):
            twin = name + BEFORE
            if twin not in tools:
                continue
            now, before = wall(summary, case, name), wall(summary, case, twin)
            targets.at_most(
                case,
                f"{name}: no slower than before ({rev}; median wall now / before)",
                now,
                before,
                NOISE,
                f"now {now:.3f} s, before {before:.3f} s",
                why="noise",
            )


def wall(summary: Summary, case: str, tool: str) -> float:
    """The median wall time of one tool."""
    value: float = summary[case][tool]["wall_s"]["median"]
    return value


def window_note(summary: Summary, case: str, tool: str, reference: str, ideal: float) -> str:
    """The transfer window (first request to last response, nginx's log) of ``tool`` and of
    ``reference`` against ``ideal``: the share of a wall time that the link itself took."""
    ratios = [
        f"{name} {w:.2f} s = {w / ideal:.3f}x"
        for name, w in (
            (label, summary[case][t]["server_window_s"]["median"])
            for label, t in (("m2mdl", tool), (reference.split(" ")[0], reference))
        )
    ]
    return "transfer window " + ", ".join(ratios) + " of the ideal"


@dataclass(frozen=True)
class Target:
    """One target, met or not, with the numbers behind it."""

    id: str
    target: str
    value: float | str
    limit: str
    met: bool
    note: str = ""


class Targets(list[Target]):
    """The evaluation table, in the order the targets were added."""

    def add(
        self, case: str, what: str, value: float | str, limit: str, met: bool, note: str = ""
    ) -> None:
        """Append one target."""
        self.append(Target(case, what, value, limit, bool(met), note))

    def at_most(
        self,
        case: str,
        what: str,
        mine: float,
        reference: float,
        most: float,
        note: str = "",
        why: str = "",
    ) -> None:
        """Append the target ``mine / reference <= most`` (``why`` follows the limit)."""
        limit = f"<= {most:.2f}" + (f" ({why})" if why else "")
        self.add(case, what, round(mine / reference, 3), limit, mine <= most * reference, note)

    def as_json(self) -> list[dict[str, Any]]:
        """Plain dicts for latest.json."""
        return [asdict(t) for t in self]


# --------------------------------------------------------------------------------------------
# tables the cases share


def fmt_stat(s: dict[str, float], digits: int = 2) -> str:
    """``median (min..max)``."""
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}..{s['max']:.{digits}f})"


HOW = {
    "m2mdl CLI": "CLI end to end: `m2mdl download --from scenes.json --filetype bundle` "
    "against the sandbox API (checksums from the sandbox's STAC API), file from nginx",
    "m2mdl engine": "transfer engine only: `benchmarks/engine_driver.py` calls "
    "`m2mdl.transfer.run_transfers` on the nginx URLs",
}


def transfer_table(tools: dict[str, ToolSummary]) -> list[str]:
    """Wall, rate, CPU, RSS, server window and failures per tool, with the notes under it."""
    lines = [
        "| tool | bytes | wall s | MB/s | CPU s | CPU s/GB | peak RSS MiB | "
        "server window s | outside window s | fails |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for tool, s in tools.items():
        window = fmt_stat(s["server_window_s"]) if "server_window_s" in s else "-"
        outside = fmt_stat(s["outside_window_s"]) if "outside_window_s" in s else "-"
        lines.append(
            f"| {tool} | {s['bytes']:,} | {fmt_stat(s['wall_s'])} | "
            f"{s.get('mb_per_s', '-')} | {fmt_stat(s['cpu_s'])} | "
            f"{s.get('cpu_s_per_gb', '-')} | {fmt_stat(s['maxrss_mib'], 1)} | "
            f"{window} | {outside} | {s['failed']}/{s['n']} |"
        )
    lines += phase_table(tools)
    hows = sorted({text for t in tools for prefix, text in HOW.items() if t.startswith(prefix)})
    lines.append("")
    lines += [f"* {h}." for h in hows]
    lines.append(
        "* server window = first request start to last response end in nginx's access "
        "log; outside window = wall - window (process start-up, API calls, final "
        "verification, exit)."
    )
    return lines


def phase_table(tools: dict[str, ToolSummary]) -> list[str]:
    """Where the CLI's wall time went (only for runs with a sandbox log)."""
    phased = {t: s for t, s in tools.items() if "phases" in s}
    if not phased:
        return []
    lines = [
        "",
        "Where the CLI's wall time goes (medians, s; from the sandbox's API/STAC log and "
        "nginx's access log):",
        "",
        "| tool | start-up to first API call | API and STAC calls until the first file "
        "request | transfer window | after the last response (hash tail, fsync, "
        "rename, manifest, clean-up calls, exit) | STAC requests | files verified by |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in phased.items():
        cells = " | ".join(f"{v['median']:.3f}" for v in s["phases"].values())
        stac = s.get("stac_calls", {}).get("median", 0)
        lines.append(f"| {name} | {cells} | {stac:g} | {verified_text(s)} |")
    return lines


def verified_text(s: ToolSummary) -> str:
    """``bundle-stac: 1`` from the manifests (``-`` before manifests said it)."""
    tally: dict[str, int] = s.get("verified") or {}
    text = ", ".join(f"{k}: {v}" for k, v in tally.items()) or "-"
    return text if s.get("verified_stable", True) else text + " (varied!)"


# --------------------------------------------------------------------------------------------
# the document


MACHINE_KEYS = (
    "nproc",
    "cpu",
    "memory",
    "kernel",
    "filesystem",
    "python",
    "m2mdl",
    "git",
    "m2mdl_sources",
    "curl",
    "aria2c",
    "nginx",
    "other_load",
)


def render_markdown(
    meta: dict[str, Any], config: dict[str, Any], targets: Targets, sections: list[list[str]]
) -> str:
    """The ``latest.md`` text: header, machine, targets, then each case's section."""
    lines = [
        f"# m2mdl benchmarks ({'quick' if config['quick'] else 'full'} run)",
        "",
        f"Run {meta['date']} with `{config['command']}`: {config['rounds']} interleaved rounds, "
        f"`sync` + {config['settle_s']} s before every transfer run. Medians with (min..max). "
        "MB = 10^6 bytes, GB = 10^9 bytes; CPU = user + sys of the process (and its children); "
        "RSS = peak resident set size (`ru_maxrss`)."
        + (
            f" Targets and tables re-evaluated from the stored runs ({config['rendered_again']},"
            " `bench.py --from-json`)."
            if config.get("rendered_again")
            else ""
        ),
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {key} | {meta.get(key)} |" for key in MACHINE_KEYS),
        "",
        "## Targets",
        "",
        "| case | target | value | limit | met | note |",
        "|---|---|---|---|---|---|",
        *(
            f"| {t.id} | {t.target} | {t.value} | {t.limit} | "
            f"{'yes' if t.met else '**NO**'} | {t.note} |"
            for t in targets
        ),
    ]
    for section in sections:
        lines += ["", *section]
    lines.append("")
    return "\n".join(lines)


def machine_info(work: Path) -> dict[str, Any]:
    """nproc, CPU, memory, kernel, filesystem, Python and tool versions, date."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError):
        m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        if m:
            mem = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB"
    commit = _first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = _first_line(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"])
    from m2mdl import __version__

    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "filesystem": _first_line(["findmnt", "-n", "-o", "FSTYPE,OPTIONS", "-T", str(work)]),
        "python": platform.python_version(),
        "m2mdl": __version__,
        "git": commit + (" (uncommitted changes)" if dirty else ""),
        "curl": _first_line(["curl", "--version"]).split(" (")[0],
        "aria2c": _first_line(["aria2c", "--version"]),
        "nginx": _first_line(["nginx", "-v"]),
    }


def _first_line(cmd: list[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not available"
    text = (p.stdout or p.stderr).strip()
    return text.splitlines()[0] if text else ""
