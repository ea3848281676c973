"""Case 5: API calls per run, per filetype, for 5 and 50 scenes (the sandbox's log).

The CLI downloads every filetype for 5 and for 50 scenes over the bbox (tiny files), logged
in, and once with credentials in the environment instead. The sandbox's log gives the M2M
calls per endpoint and the STAC requests (checksums) of each run.

Target: at most 8 M2M calls whatever the filetype, O(1) in scenes;
compared with the official notebook's flow (``NOTEBOOK_CALLS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness import BBOX, DATES, Sizes, remove
from report import Summary, Targets, calls_text, fmt_stat, verified_text

if TYPE_CHECKING:
    from servers import SandboxProc
    from session import Bench

TITLE = "5. API calls (sandbox log), logged in unless noted"
MAX_CALLS = 8
FILETYPES = ("bundle", "band", "band --bands SR_B4,QA_PIXEL", "band_group")

#: The official notebook's calls for the same work (docs/design.md §M2M API: notebook
#: workflows); see ``DERIVATION``. Optional calls the notebook makes are marked with "*".
_PREFIX = ["login-token", "scene-search", "scene-list-add", "scene-list-get*"]
NOTEBOOK_CALLS: dict[str, list[str]] = {
    "bundle": [*_PREFIX, "download-options", "download-request", "scene-list-remove", "logout"],
    "band": [*_PREFIX, "download-options", "download-request", "scene-list-remove", "logout"],
    "band_group": [
        *_PREFIX,
        "download-options",
        "dataset-file-groups*",
        "dataset",
        "scene-list-add",
        "download-request",
        "scene-list-remove",
        "scene-list-remove",
        "logout",
    ],
}

DERIVATION = (
    "Derivation (docs/design.md §M2M API: notebook workflows, and the notebook's recorded "
    "outputs in `tests/data/m2m-real/usgs-notebook-2025-04-24-anchorage-outputs.txt`). The "
    "notebook's common prefix is `login-token` → `scene-search` → `scene-list-add` → "
    '(optional) `scene-list-get`; its outputs show all four (cell 18 "Login Successful", '
    "cell 41 the search table, cell 48 `3` from scene-list-add, cell 50 the scene-list-get "
    "listing). One `scene-search` suffices for 50 scenes (default maxResults 100, "
    "docs/design.md §M2M API: scene-search). Bands and bundles then make one "
    "`download-options {listId}` (cells 64/76) and one `download-request` (cells 70/81; all "
    "items came back in `availableDownloads`, so no `download-retrieve` poll). Band groups "
    "make `download-options` with `includeSecondaryFileGroups` (cell 87), "
    "`dataset-file-groups` (optional, cell 90), `dataset {datasetId}` (cell 98), a second "
    '`scene-list-add` of the secondary ids (cell 100, "Added 88") and `download-request '
    "{dataGroups}` (cell 104). The notebook ends with `scene-list-remove` for each list it "
    "made and `logout` (cell 111). None of these depends on the number of scenes (lists "
    "carry the ids), so the notebook is O(1) in scenes too; each preparing download would add "
    "`download-retrieve` polls (every 30 s). m2mdl's runs above start from a stored session "
    "key, so they have no `login-token` (the not-logged-in run shows +1); m2mdl never calls "
    "`logout` (the key is kept for the next run) and removes its order with "
    "`download-order-remove`. The notebook's session ran all three workflows after one "
    "login: 16 calls in all (4 prefix + 2 bands + 2 bundles + 5 band groups + 2 "
    "scene-list-remove + logout). The notebook checks no checksum, so it has no STAC "
    "requests; m2mdl's are counted apart from the M2M calls."
)


def _variants() -> list[tuple[str, list[str], bool]]:
    """(name, download options, use credentials from the environment instead of a login)."""
    variants = [
        (f"{ft}, {n} scenes", [*ft.split(), "--limit", str(n)], False)
        for n in (50, 5)
        for ft in FILETYPES
    ]
    variants.append(
        ("bundle, 50 scenes, not logged in (env credentials)", ["bundle", "--limit", "50"], True)
    )
    return variants


def run(bench: Bench) -> None:
    """Every variant in each round, against a fresh sandbox per round."""
    out = bench.out / "c5"
    sb: SandboxProc | None = None
    try:
        for rnd in range(1, bench.rounds + 1):
            # A fresh sandbox each round: one round requests ~2,500 downloads, and the
            # sandbox enforces M2M's 15,000 downloads per 15 minutes (RATE_LIMIT_USER_DL).
            if sb is not None:
                bench.stop_sandbox(sb)
                remove(bench.srv / "api")
            sb = bench.sandbox(f"case5-r{rnd}", 0.0005, files_sub="api")  # tiny files
            remove(bench.work / "config" / "case5")
            env = bench.login(sb, "case5")
            fresh = bench.cli_env(sb, "case5-fresh", credentials=True)
            for name, args, use_fresh in _variants():
                ft, *rest = args
                cmd = [bench.m2mdl, "download", "--filetype", ft, *rest, "--bbox", *BBOX, *DATES]
                bench.measure(
                    "5",
                    name,
                    rnd,
                    [*cmd, "--out", str(out)],
                    {},
                    outputs=[out],
                    env=fresh if use_fresh else env,
                    settle=0.0,
                    sandbox=sb,
                    clean=[bench.work / "config" / "case5-fresh"],
                    manifest_dir=out,
                )
    finally:
        if sb is not None:
            bench.stop_sandbox(sb)
        remove(out)
        remove(bench.srv / "api")


def evaluate(summary: Summary, sizes: Sizes, targets: Targets) -> None:
    """At most 8 M2M calls in every run for 50 scenes; the usual count O(1) in scenes."""
    from m2mdl.workflow.fetch import REQUEST_BATCH

    c5 = summary.get("5", {})
    for tool, s in c5.items():
        if "not logged in" in tool or ", 50 scenes" not in tool:
            continue
        n50 = s["api_calls_total"]
        five = c5.get(tool.replace("50 scenes", "5 scenes"), {})
        n5 = five.get("api_calls_total")
        files = (s.get("file_counts") or {}).get("done")
        requests50 = s["api_calls"].get("download-request", 0)
        requests5 = five.get("api_calls", {}).get("download-request", 0)
        note = f"5 scenes: {n5}"
        if not s["api_calls_stable"]:
            note += f"; calls per run: {calls_text(s)}"
        if n5 is not None and n50 - n5 == requests50 - requests5 != 0:
            note += (
                f"; the difference is download-request batches of {REQUEST_BATCH} items"
                f" ({files} files), i.e. +1 call per {REQUEST_BATCH} files"
            )
        elif n5 != n50:
            note += "; grows with scenes beyond download-request batching"
        note += f"; STAC requests: {s['stac_calls']['median']:g} (5 scenes: "
        note += f"{five.get('stac_calls', {}).get('median', 0):g})"
        targets.add(
            "5",
            f"M2M API calls, {tool}",
            n50,
            f"<= {MAX_CALLS} (O(1) in scenes)",
            s["api_calls_max"] <= MAX_CALLS,
            note,
        )


def render(summary: Summary, config: dict[str, Any], notes: dict[str, Any]) -> list[str]:
    """Section 5: calls per endpoint, the notebook's flow and its derivation."""
    c5 = summary.get("5")
    if not c5:
        return []
    endpoints = sorted({e for s in c5.values() for e in s.get("api_calls", {})})
    lines = [
        f"## {TITLE}",
        "",
        "| run | files | M2M calls | "
        + " | ".join(endpoints)
        + " | STAC requests | verified by | wall s |",
        "|---|---|---|" + "---|" * len(endpoints) + "---|---|---|",
    ]
    for tool, s in c5.items():
        calls = s.get("api_calls", {})
        files = (s.get("file_counts") or {}).get("done", "?")
        stac = s.get("stac_calls", {}).get("median", 0)
        lines.append(
            f"| {tool} | {files} | {calls_text(s)} | "
            + " | ".join(str(calls.get(e, "")) for e in endpoints)
            + f" | {stac:g} | {verified_text(s)} | {fmt_stat(s['wall_s'])} |"
        )
    lines += [
        "",
        "The official notebook's flow for the same work (derivation below), "
        "per filetype, one run from a fresh login to logout:",
        "",
        "| filetype | calls (all) | calls without the optional ones (*) | sequence |",
        "|---|---|---|---|",
    ]
    for ft, calls in NOTEBOOK_CALLS.items():
        required = [c for c in calls if not c.endswith("*")]
        lines.append(f"| {ft} | {len(calls)} | {len(required)} | {', '.join(calls)} |")
    return [*lines, "", DERIVATION]
