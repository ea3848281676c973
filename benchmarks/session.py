"""One benchmark session: its servers, its work directory, the CLI's set-up, every run.

The cases (``cases/``) get a ``Bench`` and use it to start sandboxes, log in, build CLI
command lines and measure runs; ``Bench.measure`` is the single place where a run is
prepared (outputs deleted, ``sync``, settle), measured, checked and recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness import (
    BBOX,
    DATES,
    RUN_TIMEOUT,
    Build,
    Run,
    Sizes,
    remove,
    run_measured,
    sync_and_settle,
)
from report import BEFORE
from servers import Nginx, SandboxProc


class Bench:
    """Holds the servers, the work directory and every run."""

    def __init__(
        self, sizes: Sizes, rounds: int, work: Path, quick: bool, build: Build | None = None
    ) -> None:
        self.sizes = sizes
        self.rounds = rounds
        self.quick = quick
        self.work = work
        self.srv = work / "srv"
        self.out = work / "out"
        self.logs = work / "logs"
        self.nginx = Nginx(work / "nginx", self.srv)
        self.sandboxes: list[SandboxProc] = []
        self.runs: list[Run] = []
        self.notes: dict[str, Any] = {}
        #: the measured build's venv (``harness.snapshot_sources``); this venv's without one
        bindir = build.bindir if build is not None else Path(sys.executable).parent
        self.python = str(bindir / "python")
        self.m2mdl = str(bindir / "m2mdl")
        self.scenes_file = work / "scenes-1.json"
        self.display_id = ""
        #: the ``--baseline`` revision's venv (``harness.baseline_sources``), or None
        self.baseline: Build | None = None

    def with_before(
        self, name: str, cmd: list[str], env: dict[str, str] | None
    ) -> list[tuple[str, list[str], dict[str, str] | None]]:
        """The tool, and with ``--baseline`` its twin: the same command run by the baseline
        venv's ``m2mdl`` or ``python`` instead of the measured build's."""
        tools = [(name, cmd, env)]
        if self.baseline is not None:
            own = {self.m2mdl: "m2mdl", self.python: "python"}
            twin = [str(self.baseline.bindir / own[cmd[0]]), *cmd[1:]]
            tools.append((name + BEFORE, twin, env))
        return tools

    # ---- set-up and tear-down

    def setup(self) -> None:
        """Make the directories, start nginx."""
        for d in (self.srv, self.out, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        self.nginx.start()

    def close(self) -> None:
        """Stop every server this run started."""
        for sb in self.sandboxes:
            sb.stop()
        self.sandboxes.clear()
        self.nginx.stop()

    def sandbox(
        self, name: str, scale: float, files_sub: str | None = None, capped: bool = False
    ) -> SandboxProc:
        """Start a sandbox; with ``files_sub`` its files go under nginx's root."""
        files_dir = files_url = None
        if files_sub is not None:
            files_dir = self.srv / files_sub
            files_dir.mkdir(parents=True, exist_ok=True)
            files_url = f"{self.nginx.url}/{'cap20/' if capped else ''}{files_sub}"
        sb = SandboxProc(name, scale, self.logs / f"sandbox-{name}.jsonl", files_dir, files_url)
        sb.start()
        self.sandboxes.append(sb)
        return sb

    def stop_sandbox(self, sb: SandboxProc) -> None:
        """Stop one sandbox."""
        sb.stop()
        if sb in self.sandboxes:
            self.sandboxes.remove(sb)

    # ---- the CLI

    def cli_env(self, sb: SandboxProc, config: str, credentials: bool = False) -> dict[str, str]:
        """Environment for the CLI: no inherited M2MDL_*; API and STAC from the sandbox.

        ``M2MDL_STAC_URL`` matters: without it the CLI would ask the real STAC service for
        checksums (unreachable here) and every run would measure that failure path.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("M2MDL_")}
        env.update(
            M2MDL_API_URL=sb.api_url,
            M2MDL_STAC_URL=sb.stac_url,
            M2MDL_NO_KEYRING="1",
            NO_COLOR="1",
            M2MDL_CONFIG_DIR=str(self.work / "config" / config),
            M2MDL_STATE_DIR=str(self.work / "state" / config),
        )
        if credentials:
            env.update(M2MDL_USERNAME="demo", M2MDL_TOKEN="demo-token")  # noqa: S106 (sandbox)
        return env

    def login(self, sb: SandboxProc, config: str) -> dict[str, str]:
        """``m2mdl login`` once (stores the session key); the env for later runs."""
        env = self.cli_env(sb, config)
        proc = subprocess.run(
            [self.m2mdl, "login", "-u", "demo", "--token-stdin"],
            input=b"demo-token\n",
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"m2mdl login failed: {proc.stderr.decode(errors='replace')}")
        return env

    def download_cmd(self, out: Path, *options: str) -> list[str]:
        """``m2mdl download`` of the saved one-scene search's bundle into ``out``."""
        return [
            self.m2mdl,
            "download",
            "--from",
            str(self.scenes_file),
            "--filetype",
            "bundle",
            "--out",
            str(out),
            *options,
        ]

    def fetch_once(self, env: dict[str, str], out: Path) -> None:
        """One unmeasured CLI download (it makes the sandbox write the bundle for nginx)."""
        cmd = self.download_cmd(out)
        cmd.insert(1, "-q")
        proc = subprocess.run(cmd, env=env, capture_output=True, timeout=RUN_TIMEOUT, check=False)
        if proc.returncode != 0:
            raise RuntimeError(
                f"unmeasured download failed (exit {proc.returncode}): "
                + proc.stderr.decode(errors="replace")[-2000:]
            )

    def bundle_scale(self, target: int) -> tuple[float, int]:
        """The data scale at which the chosen scene's bundle is about ``target`` bytes.

        Returns the scale and the bundle's exact size there. File sizes need not be linear in
        the scale (fixed-size members), so a few proportional corrections follow the first
        guess (at most four; within 0.5 %).
        """
        from m2mdl.sandbox import Sandbox, SandboxConfig

        name = self.display_id + ".tar"
        scale = target / Sandbox(SandboxConfig(data_scale=1.0)).expected_size(name)
        size = Sandbox(SandboxConfig(data_scale=scale)).expected_size(name)
        for _ in range(4):
            if abs(size - target) <= target * 0.005:
                break
            scale *= target / size
            size = Sandbox(SandboxConfig(data_scale=scale)).expected_size(name)
        return scale, size

    def choose_scene(self) -> None:
        """Save a one-scene search (the newest scene over the bbox in 2024)."""
        sb = self.sandbox("search", 0.001)
        try:
            env = self.cli_env(sb, "search", credentials=True)
            subprocess.run(
                [
                    self.m2mdl,
                    "search",
                    "--bbox",
                    *BBOX,
                    *DATES,
                    "--limit",
                    "1",
                    "--output",
                    "json",
                    "-o",
                    str(self.scenes_file),
                ],
                env=env,
                capture_output=True,
                timeout=60,
                check=True,
            )
        finally:
            self.stop_sandbox(sb)
        data = json.loads(self.scenes_file.read_text())
        self.display_id = data["scenes"][0]["display_id"]
        self.notes["scene"] = self.display_id

    # ---- one measured run

    def measure(
        self,
        case: str,
        tool: str,
        rnd: int,
        cmd: Sequence[str],
        expected: dict[Path, int],
        outputs: Sequence[Path] = (),
        env: dict[str, str] | None = None,
        settle: float | None = None,
        sandbox: SandboxProc | None = None,
        check: Callable[[], bool] | None = None,
        clean: Sequence[Path] = (),
        nbytes: int | None = None,
        manifest_dir: Path | None = None,
        require_checksum: bool = False,
    ) -> Run:
        """Delete the outputs, sync, run ``cmd``, check the outputs, record the run.

        ``expected`` maps each output file to its size; ``outputs`` are directories to empty
        (and create) first; ``check`` is an extra test of the result; ``clean`` are paths to
        delete before the run; ``nbytes`` is the payload when it is not the outputs' size (a
        tool that only reads). With ``sandbox``, the run's API and STAC calls are counted and
        its wall time is split at the first call and at the first and last file request. With
        ``manifest_dir`` (a CLI run), the manifest's counts and how each file was verified are
        recorded; ``require_checksum`` fails a run whose files were checked by size only
        (it would have measured the CLI without its SHA-512 comparison).
        """
        for p in (*outputs, *expected, *clean):
            remove(p)
        for p in outputs:
            p.mkdir(parents=True, exist_ok=True)
        sync_and_settle(self.sizes.settle if settle is None else settle)
        offset = self.nginx.log_offset()
        api_offset = sandbox.log_offset() if sandbox is not None else 0
        log = self.logs / f"{case}-{tool}.log".replace(" ", "_").replace("/", "_")
        t_start = time.time()
        # The snapshot's PYTHONPATH is for the sandbox: a measured m2mdl imports its own venv's.
        child_env = dict(os.environ if env is None else env)
        child_env.pop("PYTHONPATH", None)
        m = run_measured(cmd, env=child_env, log=log)
        sizes_ok = all(p.is_file() and p.stat().st_size == n for p, n in expected.items())
        checked = check() if (check is not None and m.rc == 0 and sizes_ok) else True
        run = Run(
            case=case,
            tool=tool,
            round=rnd,
            wall=round(m.wall, 4),
            user=round(m.user, 4),
            sys=round(m.sys, 4),
            maxrss_kib=m.maxrss_kib,
            rc=m.rc,
            ok=(m.rc == 0 and sizes_ok and checked),
            nbytes=sum(expected.values()) if nbytes is None else nbytes,
            server=self.nginx.stats(offset),
        )
        if sandbox is not None:
            self._record_calls(run, sandbox.records(api_offset), t_start, t_start + m.wall)
        if manifest_dir is not None:
            verified = self._record_manifest(run, manifest_dir)
            if require_checksum and "size" in verified:
                run.ok = checked = False
        self.runs.append(run)
        mark = "" if run.ok else f"  FAILED rc={m.rc} sizes_ok={sizes_ok} check={checked} ({log})"
        print(
            f"  [{case}] r{rnd} {tool:<38} {m.wall:7.3f} s  cpu {run.cpu:6.3f} s  "
            f"rss {run.maxrss_kib / 1024:6.1f} MiB{mark}",
            flush=True,
        )
        return run

    def measure_bundle(
        self,
        case: str,
        tool: str,
        rnd: int,
        cmd: Sequence[str],
        out: Path,
        bundle: tuple[str, int],
        env: dict[str, str] | None,
        sandbox: SandboxProc | None,
    ) -> Run:
        """:meth:`measure` of a run that writes ``bundle`` (name, size) into ``out``, emptied.

        With ``sandbox`` (an m2mdl CLI run) its API calls are counted and its manifest in
        ``out`` must show the bundle checked against a SHA-512, not by size alone.
        """
        name, size = bundle
        return self.measure(
            case,
            tool,
            rnd,
            cmd,
            {out / name: size},
            outputs=[out],
            env=env,
            sandbox=sandbox,
            manifest_dir=out if sandbox is not None else None,
            require_checksum=True,
        )

    @staticmethod
    def _record_manifest(run: Run, out: Path) -> dict[str, int]:
        """The newest manifest's counts and ``verified`` values; the latter's tally.

        A manifest without ``verified`` fields (schema 1, before checksums) gives ``{}``; such
        a run is not failed by ``require_checksum``.
        """
        manifests = sorted(out.glob("m2mdl-manifest-*.json"))
        if not manifests:
            return {}
        data = json.loads(manifests[-1].read_text())
        run.extra["counts"] = data.get("summary")
        items = data.get("items") or []
        tally = Counter(str(i["verified"]) for i in items if i.get("verified") is not None)
        verified = dict(sorted(tally.items()))
        run.extra["verified"] = verified
        return verified

    @staticmethod
    def _record_calls(
        run: Run, records: list[dict[str, Any]], t_start: float, t_end: float
    ) -> None:
        """API calls per endpoint, STAC requests, and where the CLI's wall time went."""
        api = [r for r in records if r["kind"] == "api"]
        run.extra["api_calls"] = dict(sorted(Counter(r["endpoint"] for r in api).items()))
        run.extra["stac_calls"] = sum(r["kind"] == "stac" for r in records)
        first_file, last_file = run.server.get("first_start"), run.server.get("last_end")
        if records and first_file is not None and last_file is not None:
            first_call = min(float(r["t"]) for r in records)
            run.extra["phases"] = {
                "start_to_first_api_s": round(first_call - t_start, 4),
                "api_until_first_byte_request_s": round(first_file - first_call, 4),
                "transfer_window_s": round(last_file - first_file, 4),
                "after_last_response_s": round(t_end - last_file, 4),
            }
