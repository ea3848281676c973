"""Case 1: one 1 GiB file over one connection, no cap: m2mdl against curl, sha512sum, aria2c.

Tools, interleaved in every round, all on the same bytes (the sandbox's bundle of the chosen
scene at the data scale that makes it the case's size, served by nginx from the page cache):

* ``curl -s -o F``: the floor for receiving and writing;
* ``curl -s -o F && sha512sum -c``: download, then verify against the published SHA-512;
* ``aria2c -x1 -s1 --checksum=sha-512=HEX``: one connection, verified by aria2c itself;
* ``hashlib.sha512`` over the source file in 1 MiB reads: the hash alone;
* the m2mdl CLI with one stream (``--workers 1 --segments 1``), the engine alone on one stream
  (``engine_driver.py``), and the CLI with its default settings (no options).

Targets (benchmarks/README.md, "The cases and their targets"): faster than both verifying
tools and at least 1.5x as fast as curl && sha512sum; CPU per GB within 0.3 s of curl's plus
the hash's; start-up to the first API call under 0.15 s; the defaults no slower than one
stream; 1.05x curl -o.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import HERE, Sizes, in_turn, remove, sha512_hex, warm
from report import Summary, Targets, transfer_table, wall

if TYPE_CHECKING:
    from servers import SandboxProc
    from session import Bench

TITLE = "1. One stream, one file to ext4 (no cap), with and without SHA-512"

CURL = "curl -o"
CURL_SHA = "curl -o F && sha512sum F"
ARIA = "aria2c -x1 -s1 --checksum=sha-512"
HASH = "hashlib.sha512 (1 MiB reads)"
CLI = "m2mdl CLI (1 stream)"
ENGINE = "m2mdl engine (1 stream)"
DEFAULTS = "m2mdl CLI (defaults)"

#: Verify in parallel with receiving: at least this much faster than download-then-hash.
SPEEDUP_VS_CURL_SHA = 1.5
#: CPU s/GB allowed above curl's plus the hash's.
CPU_MARGIN = 0.3
STARTUP_LIMIT = 0.15


@dataclass(frozen=True)
class Tool:
    """One command of the case."""

    name: str
    cmd: list[str]
    env: dict[str, str] | None = None
    sandbox: SandboxProc | None = None  # set for the CLI: count its calls, split its time
    reads_only: bool = False  # writes no file (the hash alone)


def run(bench: Bench) -> None:
    """Measure every tool on the same 1 GiB file."""
    scale, size = bench.bundle_scale(bench.sizes.big)
    sb = bench.sandbox("case1", scale, files_sub="b")
    out = bench.out / "c1"
    try:
        env = bench.login(sb, "case1")
        tar = bench.display_id + ".tar"
        bench.fetch_once(env, out)  # the sandbox writes the bundle under nginx's root
        src = next((bench.srv / "b").rglob(tar))
        if src.stat().st_size != size:
            raise RuntimeError(f"{src} is {src.stat().st_size} bytes, expected {size}")
        warm(src)
        digest = sha512_hex(src)
        url = f"{bench.nginx.url}/{src.relative_to(bench.srv)}"
        bench.notes["1"] = {
            "file": str(src.relative_to(bench.work)),
            "bytes": size,
            "scale": round(scale, 6),
        }
        tools = _tools(bench, env, sb, src, url, digest, out / tar)
        for rnd in range(1, bench.rounds + 1):
            for t in in_turn(tools, rnd):
                bench.measure(
                    "1",
                    t.name,
                    rnd,
                    t.cmd,
                    {} if t.reads_only else {out / tar: size},
                    outputs=[out],
                    env=t.env,
                    sandbox=t.sandbox,
                    nbytes=size,
                    manifest_dir=out if t.sandbox is not None else None,
                    require_checksum=True,
                )
    finally:
        bench.stop_sandbox(sb)
        remove(out)


def _tools(
    bench: Bench,
    env: dict[str, str],
    sb: SandboxProc,
    src: Path,
    url: str,
    digest: str,
    dest: Path,
) -> list[Tool]:
    verify_after = 'curl -s -o "$1" "$2" && echo "$3  $1" | sha512sum -c --quiet -'
    aria = [
        "aria2c",
        "-q",
        "-x1",
        "-s1",
        "--file-allocation=falloc",
        "--allow-overwrite=true",
        "--auto-file-renaming=false",
        f"--checksum=sha-512={digest}",
        "-d",
        str(dest.parent),
        "-o",
        dest.name,
        url,
    ]
    engine = [bench.python, str(HERE / "engine_driver.py"), "--workers", "1", "--segments"]
    one_stream = ("--workers", "1", "--segments", "1")
    tools = [
        Tool(CURL, ["curl", "-s", "-o", str(dest), url]),
        Tool(CURL_SHA, ["sh", "-c", verify_after, "sh", str(dest), url, digest]),
        Tool(ARIA, aria),
        Tool(
            HASH,
            [sys.executable, str(HERE / "sha512_file.py"), str(src), "--expect", digest],
            reads_only=True,
        ),
        Tool(CLI, bench.download_cmd(dest.parent, *one_stream), env, sb),
        Tool(ENGINE, [*engine, "1", "--dir", str(dest.parent), url]),
        Tool(DEFAULTS, bench.download_cmd(dest.parent), env, sb),
    ]
    return [twin for t in tools for twin in _with_before(bench, t)]


def _with_before(bench: Bench, tool: Tool) -> list[Tool]:
    """An m2mdl tool and, with ``--baseline``, its twin on the baseline's sources."""
    if not tool.name.startswith("m2mdl"):
        return [tool]
    return [
        dataclasses.replace(tool, name=name, cmd=cmd, env=env)
        for name, cmd, env in bench.with_before(tool.name, tool.cmd, tool.env)
    ]


def evaluate(summary: Summary, sizes: Sizes, targets: Targets) -> None:
    """Speed against curl and the verifying tools, CPU per GB, start-up, the defaults."""
    c1 = summary.get("1")
    if not c1:
        return
    curl, cli = wall(summary, "1", CURL), wall(summary, "1", CLI)
    for tool in (CLI, ENGINE):
        ratio = curl / wall(summary, "1", tool)
        targets.add(
            "1",
            f"{tool}: speed vs curl -o (median wall curl / m2mdl)",
            round(ratio, 3),
            ">= 1.05",
            ratio >= 1.05,
        )
    curl_sha, aria = wall(summary, "1", CURL_SHA), wall(summary, "1", ARIA)
    note = f"m2mdl {cli:.2f} s, curl && sha512sum {curl_sha:.2f} s"
    targets.add(
        "1",
        f"{CLI}: faster than `curl -o F && sha512sum F` (wall ratio them / m2mdl)",
        round(curl_sha / cli, 3),
        "> 1.00",
        curl_sha > cli,
        note,
    )
    targets.add(
        "1",
        f"{CLI}: at least 1.5x as fast as `curl -o F && sha512sum F`",
        round(curl_sha / cli, 3),
        f">= {SPEEDUP_VS_CURL_SHA}",
        curl_sha >= SPEEDUP_VS_CURL_SHA * cli,
        note,
    )
    targets.add(
        "1",
        f"{CLI}: faster than `aria2c --checksum=sha-512` (wall ratio them / m2mdl)",
        round(aria / cli, 3),
        "> 1.00",
        aria > cli,
        f"m2mdl {cli:.2f} s, aria2c {aria:.2f} s",
    )
    cpg = {t: c1[t]["cpu_s_per_gb"] for t in (CLI, CURL, HASH)}
    limit = cpg[CURL] + cpg[HASH] + CPU_MARGIN
    targets.add(
        "1",
        f"{CLI}: CPU s/GB, SHA-512 included",
        cpg[CLI],
        f"<= curl + hashlib + {CPU_MARGIN} = {limit:.3f}",
        cpg[CLI] <= limit,
        f"curl {cpg[CURL]}, hashlib.sha512 {cpg[HASH]}",
    )
    _startup_and_defaults(summary, targets)


def _startup_and_defaults(summary: Summary, targets: Targets) -> None:
    c1 = summary["1"]
    phases = {
        t: c1[t]["phases"]["start_to_first_api_s"]["median"]
        for t in (CLI, DEFAULTS)
        if "phases" in c1[t]
    }
    if CLI in phases:
        first = phases[CLI]
        targets.add(
            "1",
            f"{CLI}: start-up to the first API call (median, s)",
            first,
            f"< {STARTUP_LIMIT}",
            first < STARTUP_LIMIT,
            f"defaults: {phases.get(DEFAULTS)}",
        )
    one, default = wall(summary, "1", CLI), wall(summary, "1", DEFAULTS)
    targets.at_most(
        "1",
        "defaults never slower than one stream (median wall defaults / 1 stream)",
        default,
        one,
        1.0,
        f"defaults {default:.2f} s, 1 stream {one:.2f} s",
    )


def render(summary: Summary, config: dict[str, Any], notes: dict[str, Any]) -> list[str]:
    """Section 1: the table and the wall-time split of the CLI runs."""
    tools = summary.get("1")
    if not tools:
        return []
    lines = [f"## {TITLE}", ""]
    if "1" in notes:
        lines += ["Source: " + ", ".join(f"{k} {v}" for k, v in notes["1"].items()) + ".", ""]
    lines += transfer_table(tools)
    lines += [
        f'* `{CURL_SHA}`: one shell command, `curl -s -o F URL && echo "HEX  F" | '
        "sha512sum -c --quiet -`, measured as a whole.",
        f"* `{ARIA}`: `aria2c -x1 -s1 --file-allocation=falloc --checksum=sha-512=HEX` "
        "(one connection, as curl); it verifies after the download.",
        f"* `{HASH}`: `benchmarks/sha512_file.py` hashes the source file (page cache) in "
        "1 MiB reads; its bytes are the file's size, though it writes nothing.",
        "* The CLI verifies the bundle's members against the SHA-512 checksums of the "
        "bundle's STAC sidecar or the sandbox's STAC items.",
    ]
    return lines
