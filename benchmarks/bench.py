"""m2mdl benchmarks: throughput, checksums, per-connection caps, memory, API calls, start-up.

Run through ``bash benchmarks/run.sh`` (it installs nginx-light, curl and aria2 first), or
directly with the project's venv: ``.venv/bin/python benchmarks/bench.py [--rounds 7] [--quick]
[--cases 1,2] [--keep]``.

The pieces (details in benchmarks/README.md):

* ``harness.py``: one measured process (wall, CPU, peak RSS), sync and settle, files, the
  work directory, signals; ``servers.py``: nginx and the sandbox; ``session.py``: the
  ``Bench`` that owns them, the CLI's environment and every run;
* ``cases/``: one module per case (what it runs, its targets, its section of the report);
* ``report.py``: summaries, the targets table, ``latest.md``.

This module parses the options, runs the chosen cases, and writes ``results/latest.md`` and
``results/latest.json`` (``quick.*`` with ``--quick``). Every process it started is stopped
and its work directory removed, also on errors, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from cases import CASES
from cases.api_calls import NOTEBOOK_CALLS
from harness import (
    CAP,
    FULL,
    QUICK,
    RESULTS,
    Run,
    Sizes,
    baseline_sources,
    on_term,
    snapshot_sources,
    source_fingerprint,
    work_dir,
)
from report import Targets, evaluate_baseline, machine_info, render_markdown, summarize
from session import Bench


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; ``rounds`` and ``cases`` resolved and checked."""
    parser = argparse.ArgumentParser(description="m2mdl benchmarks (see benchmarks/README.md)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="interleaved rounds per case (default 7; 3 with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller files, 3 rounds, shorter settle; writes results/quick.*",
    )
    parser.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated case numbers (default: all)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="REV",
        help="also run every m2mdl tool from the sources of git revision REV, interleaved "
        "in the same rounds (tool name + ' [before]'), and add a 'no slower than before' "
        "target per tool",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        metavar="PATH",
        help="measure nothing: evaluate and render the runs stored in a results JSON again "
        "(after a change to the targets or the report), rewriting the same stem",
    )
    args = parser.parse_args(argv)
    args.rounds_given = args.rounds
    args.rounds = args.rounds or (3 if args.quick else 7)
    if not 1 <= args.rounds <= 50:
        parser.error("--rounds must be 1..50")
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases: {sorted(unknown)}")
    return args


def _attempt(errors: dict[str, str], case: str, step: Callable[[], None]) -> None:
    """Run one case's step; an error is recorded (and printed), and the other cases go on.

    A broken case must not lose the results of the others (a full run takes 15-20 min).
    Ctrl-C and SIGTERM are BaseExceptions and still stop the whole run.
    """
    try:
        step()
    except Exception as exc:
        traceback.print_exc()
        errors.setdefault(case, f"{type(exc).__name__}: {exc}"[:300])


def measure_all(args: argparse.Namespace, errors: dict[str, str]) -> tuple[Bench, dict[str, Any]]:
    """Start the servers, run the chosen cases, stop everything; the runs and the machine."""
    sizes = QUICK if args.quick else FULL
    with work_dir(args.keep) as work:
        snapshot, build = snapshot_sources(work)
        bench = Bench(sizes, args.rounds, work, args.quick, build)
        meta = machine_info(work)
        meta["m2mdl_sources"] = source_fingerprint(snapshot) + " (snapshot at start)"
        if args.baseline is not None:
            bench.baseline = baseline_sources(work, args.baseline)
            meta["baseline"] = f"{bench.baseline.rev} ({args.baseline}), tools marked [before]"
        load_start = os.getloadavg()[0]
        try:
            bench.setup()
            bench.choose_scene()
            for case in args.cases:
                print(f"case {case}: {CASES[case].TITLE}", flush=True)
                _attempt(errors, case, partial(CASES[case].run, bench))
        finally:
            bench.close()
        meta["other_load"] = (
            f"1-min load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end"
        )
    return bench, meta


def write_report(
    args: argparse.Namespace,
    bench: Bench,
    meta: dict[str, Any],
    config: dict[str, Any],
    errors: dict[str, str],
) -> Targets:
    """Evaluate the targets, write ``<stem>.md`` and ``<stem>.json``, print the markdown."""
    summary = summarize(bench.runs)
    targets = Targets()
    for case in args.cases:
        _attempt(errors, case, partial(CASES[case].evaluate, summary, bench.sizes, targets))
    if "baseline" in meta:
        evaluate_baseline(summary, meta["baseline"].split()[0], targets)
    sections: list[list[str]] = []

    def render(case: str) -> None:
        sections.append(CASES[case].render(summary, config, bench.notes))

    for case in args.cases:
        _attempt(errors, case, partial(render, case))
    for case, error in errors.items():
        targets.add(
            case, "the case ran and was evaluated to the end", "error", "no error", False, error
        )
    md = render_markdown(meta, config, targets, [s for s in sections if s])
    stem = "quick" if args.quick else "latest"
    report = {
        "schema_version": 2,
        "meta": meta,
        "config": config,
        "notes": bench.notes,
        "errors": errors,
        "targets": targets.as_json(),
        "summary": summary,
        "notebook_calls": NOTEBOOK_CALLS if "5" in args.cases else None,
        "runs": [asdict(r) | {"cpu": round(r.cpu, 4)} for r in bench.runs],
    }
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / f"{stem}.md").write_text(md)
    print(md)
    print(f"wrote {RESULTS / (stem + '.md')} and {stem}.json in {config['elapsed_s']} s")
    return targets


def rerender(args: argparse.Namespace) -> int:
    """``--from-json``: the stored runs, evaluated and rendered by today's code."""
    stored = json.loads(args.from_json.read_text())
    config: dict[str, Any] = stored["config"]
    args.quick, args.cases = config["quick"], config["cases"]
    bench = Bench(Sizes(**config["sizes"]), config["rounds"], RESULTS, config["quick"])
    bench.notes = stored.get("notes", {})
    fields = {f.name for f in dataclasses.fields(Run)}
    bench.runs = [Run(**{k: v for k, v in r.items() if k in fields}) for r in stored["runs"]]
    config["rendered_again"] = f"from {args.from_json.name}"
    targets = write_report(args, bench, stored["meta"], config, dict(stored.get("errors", {})))
    return 0 if all(t.met for t in targets) else 1


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write the report; exit 0 only when every target is met."""
    args = parse_args(argv)
    if args.from_json is not None:
        return rerender(args)
    for tool in ("nginx", "curl", "aria2c"):
        if shutil.which(tool) is None:
            print(
                f"{tool} is missing: run `bash benchmarks/run.sh` (it installs it)", file=sys.stderr
            )
            return 2
    sizes = QUICK if args.quick else FULL
    signal.signal(signal.SIGTERM, on_term)
    started = time.monotonic()
    RESULTS.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "command": "bash benchmarks/run.sh"
        + (" --quick" if args.quick else "")
        + (f" --rounds {args.rounds_given}" if args.rounds_given else "")
        + (f" --baseline {args.baseline}" if args.baseline else ""),
        "quick": args.quick,
        "rounds": args.rounds,
        "cases": args.cases,
        "settle_s": sizes.settle,
        "sizes": asdict(sizes),
        "cap_bytes_per_s": CAP,
    }
    errors: dict[str, str] = {}
    bench, meta = measure_all(args, errors)
    config["elapsed_s"] = round(time.monotonic() - started, 1)
    targets = write_report(args, bench, meta, config, errors)
    return 0 if all(t.met for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
