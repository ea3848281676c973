"""Case 2: many files under a 20 MiB/s per-connection cap: the engine against aria2c -j.

Eight files (64 MiB each in the full run) of random bytes under nginx's ``/cap20/``, fetched
by m2mdl's engine (``engine_driver.py``, one stream per file) with 4 and 8 workers and by
``aria2c -jN -x1``. The CLI cannot ask the sandbox for exactly these files, hence the engine.

Targets: within 1.05x of the ideal size / (workers x cap), and no slower than
aria2c with as many connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness import CAP, HERE, Sizes, in_turn, remove, warm, write_random
from report import Summary, Targets, transfer_table, wall, window_note

if TYPE_CHECKING:
    from session import Bench

TITLE = "2. Per-connection cap 20 MiB/s (nginx limit_rate 20m): many files"
WORKERS = (4, 8)
IDEAL_FACTOR = 1.05


def engine(workers: int) -> str:
    """The engine's tool name."""
    return f"m2mdl engine ({workers} workers)"


def aria(workers: int) -> str:
    """aria2c's tool name."""
    return f"aria2c -j{workers}"


def run(bench: Bench) -> None:
    """Measure the engine and aria2c with 4 and 8 connections."""
    each, count = bench.sizes.each, bench.sizes.count
    files = [bench.srv / "many" / f"f{i:02d}.bin" for i in range(count)]
    for f in files:
        write_random(f, each)
        warm(f)
    urls = [f"{bench.nginx.url}/cap20/many/{f.name}" for f in files]
    url_list = bench.work / "urls.txt"
    url_list.write_text("".join(u + "\n" for u in urls))
    out = bench.out / "c2"
    expected = {out / f.name: each for f in files}
    bench.notes["2"] = {"files": count, "bytes_each": each, "cap_bytes_per_s": CAP}
    tools: list[tuple[str, list[str], dict[str, str] | None]] = []
    for w in WORKERS:
        driver = [bench.python, str(HERE / "engine_driver.py"), "--workers", str(w)]
        cmd = [*driver, "--segments", "1", "--size", str(each), "--dir", str(out), *urls]
        tools += bench.with_before(engine(w), cmd, None)
        tools.append(
            (
                aria(w),
                [
                    "aria2c",
                    "-q",
                    f"-j{w}",
                    "-x1",
                    "--file-allocation=falloc",
                    "--allow-overwrite=true",
                    "--auto-file-renaming=false",
                    "-d",
                    str(out),
                    "-i",
                    str(url_list),
                ],
                None,
            )
        )
    try:
        for rnd in range(1, bench.rounds + 1):
            for tool, cmd, env in in_turn(tools, rnd):
                bench.measure("2", tool, rnd, cmd, expected, outputs=[out], env=env)
    finally:
        remove(out)
        remove(bench.srv / "many")


def ideal(sizes: Sizes, workers: int) -> float:
    """Seconds at exactly ``workers`` x cap."""
    return sizes.count * sizes.each / (workers * CAP)


def evaluate(summary: Summary, sizes: Sizes, targets: Targets) -> None:
    """Against the ideal and against aria2c, for each worker count."""
    if not summary.get("2"):
        return
    for w in WORKERS:
        best = ideal(sizes, w)
        m, a = wall(summary, "2", engine(w)), wall(summary, "2", aria(w))
        targets.at_most(
            "2",
            f"{w} workers: m2mdl engine vs ideal {best:.2f} s",
            m,
            best,
            IDEAL_FACTOR,
            f"m2mdl {m:.2f} s; {window_note(summary, '2', engine(w), aria(w), best)}",
        )
        targets.at_most(
            "2",
            f"{w} workers: m2mdl engine vs aria2c -j{w}",
            m,
            a,
            1.0,
            f"m2mdl {m:.2f} s, aria2c {a:.2f} s",
        )


def render(summary: Summary, config: dict[str, Any], notes: dict[str, Any]) -> list[str]:
    """Section 2."""
    tools = summary.get("2")
    if not tools:
        return []
    sizes = Sizes(**config["sizes"])
    ideals = ", ".join(f"{w} workers {ideal(sizes, w):.2f} s" for w in WORKERS)
    return [
        f"## {TITLE}",
        "",
        f"Ideal = size / (workers x cap): {ideals}.",
        "",
        *transfer_table(tools),
    ]
