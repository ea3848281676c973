"""Case 3: one 1 GiB bundle under the 20 MiB/s per-connection cap with 4 segments.

The m2mdl CLI (``--workers 4 --segments 4``, checksums from the sandbox's STAC API) against
``aria2c -x4 -s4 -k1M`` on the same file under nginx's ``/cap20/``.

Targets: within 1.05x of the ideal size / (4 x cap), and no slower than aria2c.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness import CAP, Sizes, in_turn, remove, warm
from report import Summary, Targets, transfer_table, wall, window_note

if TYPE_CHECKING:
    from session import Bench

TITLE = "3. One bundle under the 20 MiB/s cap with 4 segments"
CLI = "m2mdl CLI (4 workers, 4 segments)"
ARIA = "aria2c -x4 -s4"
SEGMENTS = 4
IDEAL_FACTOR = 1.05


def run(bench: Bench) -> None:
    """Measure the CLI and aria2c on the capped bundle."""
    scale, size = bench.bundle_scale(bench.sizes.big)
    sb = bench.sandbox("case3", scale, files_sub="b", capped=True)
    out = bench.out / "c3"
    try:
        env = bench.login(sb, "case3")
        tar = bench.display_id + ".tar"
        found = list((bench.srv / "b").rglob(tar))
        if not (found and found[0].stat().st_size == size):
            bench.fetch_once(env, out)  # not left by case 1: one unmeasured capped run
            found = list((bench.srv / "b").rglob(tar))
        src = found[0]
        warm(src)
        url = f"{bench.nginx.url}/cap20/{src.relative_to(bench.srv)}"
        bench.notes["3"] = {
            "file": str(src.relative_to(bench.work)),
            "bytes": size,
            "scale": round(scale, 6),
            "cap_bytes_per_s": CAP,
        }
        seg = str(SEGMENTS)
        tools: list[tuple[str, list[str], dict[str, str] | None]] = [
            *bench.with_before(
                CLI, bench.download_cmd(out, "--workers", seg, "--segments", seg), env
            ),
            (
                ARIA,
                [
                    "aria2c",
                    "-q",
                    f"-x{seg}",
                    f"-s{seg}",
                    "-k1M",
                    "--file-allocation=falloc",
                    "--allow-overwrite=true",
                    "--auto-file-renaming=false",
                    "-d",
                    str(out),
                    "-o",
                    tar,
                    url,
                ],
                None,
            ),
        ]
        for rnd in range(1, bench.rounds + 1):
            for tool, cmd, tenv in in_turn(tools, rnd):
                cli = sb if tenv is not None else None  # aria2c runs without an env
                bench.measure_bundle("3", tool, rnd, cmd, out, (tar, size), tenv, cli)
    finally:
        bench.stop_sandbox(sb)
        remove(out)
        remove(bench.srv / "b")


def evaluate(summary: Summary, sizes: Sizes, targets: Targets) -> None:
    """Against the ideal and against aria2c."""
    c3 = summary.get("3")
    if not c3:
        return
    m, a = wall(summary, "3", CLI), wall(summary, "3", ARIA)
    bundle = c3[CLI]["bytes"] / (SEGMENTS * CAP)  # the exact bundle size, not sizes.big
    targets.at_most(
        "3",
        f"m2mdl CLI vs ideal {bundle:.2f} s (median wall / ideal)",
        m,
        bundle,
        IDEAL_FACTOR,
        f"m2mdl {m:.2f} s; {window_note(summary, '3', CLI, ARIA, bundle)}",
    )
    targets.at_most(
        "3",
        "m2mdl CLI vs aria2c -x4 -s4 (median wall ratio)",
        m,
        a,
        1.0,
        f"m2mdl {m:.2f} s, aria2c {a:.2f} s",
    )


def render(summary: Summary, config: dict[str, Any], notes: dict[str, Any]) -> list[str]:
    """Section 3."""
    tools = summary.get("3")
    if not tools:
        return []
    size = next(iter(tools.values()))["bytes"]
    return [
        f"## {TITLE}",
        "",
        f"Ideal = size / (4 x cap) = {size / (SEGMENTS * CAP):.2f} s.",
        "",
        *transfer_table(tools),
    ]
