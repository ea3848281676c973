"""m2mdl benchmarks: throughput, per-connection caps, memory, API calls, start-up.

Run through ``bash benchmarks/run.sh`` (it installs nginx-light, curl and aria2 first), or
directly with the project's venv: ``.venv/bin/python benchmarks/bench.py [--rounds 7] [--quick]``.

What it does (details in benchmarks/README.md):

* starts nginx (private config, 127.0.0.1, a high port) on a work directory with the source
  files, and ``python -m m2mdl.sandbox`` instances whose ``--files-dir`` lies under nginx's
  root, so download URLs handed out by the sandbox are served by nginx;
* runs every case in interleaved rounds (A, B, C, A, B, C ...), deleting the output and
  calling ``sync`` before each run; wall time from fork to exit, CPU and peak RSS from
  ``wait4`` (the child and its waited-for descendants);
* writes ``results/latest.md`` and ``results/latest.json`` (``quick.*`` with ``--quick``);
* stops every process it started and removes its work directory, also on errors and Ctrl-C.

Only the standard library and m2mdl (for the sandbox's file sizes) are imported.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

MIB = 1 << 20
GIB = 1 << 30
CAP = 20 * MIB  # nginx "limit_rate 20m" is 20 MiB/s per connection
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
BBOX = ("-150.5", "61.0", "-149.5", "61.5")  # Anchorage; 182 scenes in 2024 in the sandbox
DATES = ("--start", "2024-01-01", "--end", "2024-12-31")
RUN_TIMEOUT = 600.0  # seconds; no single run may take longer
REQUEST_BATCH = 1000  # m2mdl's download-request batch size (m2mdl/workflow/fetch.py)


# --------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class Sizes:
    """File sizes of one benchmark mode."""

    big: int  # case 1 (one stream) and case 3 (capped bundle, 4 segments)
    each: int  # case 2: size of each file
    count: int  # case 2: number of files
    rss_small: int  # case 4
    rss_large: int  # case 4
    settle: float  # seconds of sleep after sync, before each transfer run


FULL = Sizes(big=GIB, each=64 * MIB, count=8, rss_small=100 * MIB, rss_large=2 * GIB, settle=1.0)
QUICK = Sizes(
    big=256 * MIB, each=16 * MIB, count=8, rss_small=100 * MIB, rss_large=512 * MIB, settle=0.3
)

#: The official notebook's calls for the same work (docs/design.md §M2M API: notebook workflows,
#: NB25 outputs); see ``notebook_derivation``. Optional calls the notebook makes are marked with
#: "*".
NOTEBOOK_CALLS: dict[str, list[str]] = {
    "bundle": [
        "login-token",
        "scene-search",
        "scene-list-add",
        "scene-list-get*",
        "download-options",
        "download-request",
        "scene-list-remove",
        "logout",
    ],
    "band": [
        "login-token",
        "scene-search",
        "scene-list-add",
        "scene-list-get*",
        "download-options",
        "download-request",
        "scene-list-remove",
        "logout",
    ],
    "band_group": [
        "login-token",
        "scene-search",
        "scene-list-add",
        "scene-list-get*",
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


# --------------------------------------------------------------------------------------------
# measurement


@dataclass
class Run:
    """One measured process."""

    case: str
    tool: str
    round: int
    wall: float
    user: float
    sys: float
    maxrss_kib: int
    rc: int
    ok: bool
    nbytes: int
    server: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cpu(self) -> float:
        """user + sys seconds."""
        return self.user + self.sys


GNU_TIME = "/usr/bin/time"


def run_measured(
    cmd: Sequence[str],
    env: dict[str, str] | None = None,
    log: Path | None = None,
    timeout: float = RUN_TIMEOUT,
) -> tuple[float, Any, int, int]:
    """Run ``cmd``; return (wall seconds, rusage, exit code, peak RSS in KiB).

    Wall time runs from just before fork to just after ``wait4``. The rusage (CPU) is the
    child's, including descendants it waited for. The peak RSS comes from GNU time's ``%M``:
    ``ru_maxrss`` of a child forked from this Python process starts at this process's own
    RSS (the pre-exec copy counts), which would put a ~20 MiB floor under every figure. GNU
    time forks from a ~2 MiB process and reports its child's RSS alone. The child is killed
    after ``timeout`` s.
    """
    rss_file = (log or Path("/tmp/m2mdl-bench")).with_suffix(".rss")
    argv = list(cmd)
    if os.access(GNU_TIME, os.X_OK):
        argv = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *argv]
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=REPO
        )
        timer = threading.Timer(timeout, _kill_quietly, args=(proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log is not None and not isinstance(out, int):
            out.close()
    maxrss = int(usage.ru_maxrss)
    if argv[0] == GNU_TIME:
        with contextlib.suppress(OSError, ValueError, IndexError):
            maxrss = int(rss_file.read_text().split()[-1])
        remove(rss_file)
    return wall, usage, proc.returncode, maxrss


def _kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def sync_and_settle(settle: float) -> None:
    """``sync`` (flush every dirty page, so runs do not pay for each other), then sleep."""
    os.sync()
    if settle > 0:
        time.sleep(settle)


def remove(path: Path) -> None:
    """Delete a file or a directory tree if present."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def free_port() -> int:
    """A free high TCP port on 127.0.0.1 (taken by the caller right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_random(path: Path, size: int) -> None:
    """A file of ``size`` random bytes (incompressible, like real data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        left = size
        while left > 0:
            n = min(left, 4 * MIB)
            fh.write(os.urandom(n))
            left -= n


def warm(path: Path) -> None:
    """Read a file once so nginx serves it from the page cache."""
    with path.open("rb") as fh:
        while fh.read(8 * MIB):
            pass


# --------------------------------------------------------------------------------------------
# servers


class Nginx:
    """nginx on 127.0.0.1 with a private config: ``/`` and ``/cap20/`` serve ``root``."""

    def __init__(self, prefix: Path, root: Path) -> None:
        self.prefix = prefix
        self.root = root
        self.port = free_port()
        self.access_log = prefix / "access.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        """The nginx.conf text."""
        p = self.prefix
        user = "user root;\n" if os.geteuid() == 0 else ""
        return f"""{user}worker_processes 1;
daemon off;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 256; }}
http {{
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 30;
    types {{ }}
    default_type application/octet-stream;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    log_format bench '$msec $request_time $status $bytes_sent $body_bytes_sent '
                     '"$http_range" "$http_if_range" "$uri" "$http_user_agent"';
    access_log {p}/access.log bench;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.root};
        location /cap20/ {{
            alias {self.root}/;
            limit_rate 20m;
        }}
    }}
}}
"""

    def start(self) -> None:
        """Write the config, start nginx in the foreground, wait until it answers."""
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.config())
        err = (self.prefix / "stderr.log").open("wb")
        try:
            self.proc = subprocess.Popen(
                ["nginx", "-c", str(conf), "-p", str(self.prefix)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )
        finally:
            err.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    "nginx exited: " + (self.prefix / "stderr.log").read_text(errors="replace")
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("nginx did not start listening within 10 s")

    def stop(self) -> None:
        """Stop nginx (SIGQUIT: graceful; SIGKILL after 10 s)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def log_offset(self) -> int:
        """Current size of the access log (read the lines after it with :meth:`stats`)."""
        try:
            return self.access_log.stat().st_size
        except FileNotFoundError:
            return 0

    def stats(self, offset: int) -> dict[str, Any]:
        """Requests, body bytes and the transfer window of the log lines after ``offset``."""
        try:
            with self.access_log.open("rb") as fh:
                fh.seek(offset)
                lines = fh.read().decode(errors="replace").splitlines()
        except FileNotFoundError:
            lines = []
        starts: list[float] = []
        ends: list[float] = []
        body = 0
        statuses: Counter[str] = Counter()
        for line in lines:
            parts = line.split(" ", 5)
            if len(parts) < 6:
                continue
            end, took = float(parts[0]), float(parts[1])
            starts.append(end - took)
            ends.append(end)
            statuses[parts[2]] += 1
            body += int(parts[4])
        window = (max(ends) - min(starts)) if ends else 0.0
        return {
            "requests": len(lines),
            "body_bytes": body,
            "window_s": round(window, 4),
            "statuses": dict(statuses),
            "first_start": min(starts) if starts else None,
            "last_end": max(ends) if ends else None,
        }


class SandboxProc:
    """``python -m m2mdl.sandbox`` in a child process."""

    def __init__(
        self,
        name: str,
        scale: float,
        log: Path,
        files_dir: Path | None = None,
        files_url: str | None = None,
    ) -> None:
        self.name = name
        self.scale = scale
        self.log = log
        self.files_dir = files_dir
        self.files_url = files_url
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None

    @property
    def api_url(self) -> str:
        """The M2M API URL (what M2MDL_API_URL must be)."""
        return f"http://127.0.0.1:{self.port}/api/api/json/stable/"

    def start(self) -> None:
        """Start it and wait for its first stdout line (the base URL)."""
        cmd = [
            sys.executable,
            "-m",
            "m2mdl.sandbox",
            "--port",
            str(self.port),
            "--data-scale",
            repr(self.scale),
            "--log",
            str(self.log),
        ]
        if self.files_dir is not None and self.files_url is not None:
            cmd += ["--files-dir", str(self.files_dir), "--files-url", self.files_url]
        err = self.log.with_suffix(".stderr").open("w")
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                cwd=REPO,
            )
        finally:
            err.close()
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout=30):
                self.stop()
                raise RuntimeError(f"sandbox {self.name} did not start within 30 s")
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"sandbox {self.name} printed {line!r}")

    def stop(self) -> None:
        """SIGTERM (the sandbox exits 0), SIGKILL after 10 s."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()

    def api_records(self, offset: int) -> list[dict[str, Any]]:
        """API records of the sandbox log written after byte ``offset``."""
        with self.log.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode()
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [r for r in records if r.get("kind") == "api"]

    def log_offset(self) -> int:
        """Current size of the sandbox log."""
        try:
            return self.log.stat().st_size
        except FileNotFoundError:
            return 0


# --------------------------------------------------------------------------------------------
# the benchmark


class Bench:
    """Holds the servers, the work directory and every run."""

    def __init__(self, sizes: Sizes, rounds: int, work: Path, quick: bool) -> None:
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
        bindir = Path(sys.executable).parent
        self.m2mdl = (
            str(bindir / "m2mdl")
            if (bindir / "m2mdl").exists()
            else (shutil.which("m2mdl") or "m2mdl")
        )
        self.scenes_file = work / "scenes-1.json"
        self.display_id = ""

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

    def cli_env(self, sb: SandboxProc, config: str, credentials: bool = False) -> dict[str, str]:
        """Environment for the CLI: no inherited M2MDL_*; config and state under work."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("M2MDL_")}
        env.update(
            M2MDL_API_URL=sb.api_url,
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

    def bundle_scale(self, target: int) -> tuple[float, int]:
        """The data scale at which the chosen scene's bundle is ``target`` bytes (and its size)."""
        from m2mdl.sandbox import Sandbox, SandboxConfig

        name = self.display_id + ".tar"
        base = Sandbox(SandboxConfig(data_scale=1.0)).expected_size(name)
        scale = target / base
        return scale, Sandbox(SandboxConfig(data_scale=scale)).expected_size(name)

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
        outputs: list[Path],
        expected: dict[Path, int],
        env: dict[str, str] | None = None,
        settle: float | None = None,
        sandbox: SandboxProc | None = None,
        clean: Sequence[Path] = (),
    ) -> Run:
        """Delete the outputs, sync, run ``cmd``, check the outputs' sizes, record the run."""
        for p in (*outputs, *clean):
            remove(p)
        for p in outputs:
            if p.suffix == "":  # an output directory
                p.mkdir(parents=True, exist_ok=True)
        sync_and_settle(self.sizes.settle if settle is None else settle)
        offset = self.nginx.log_offset()
        api_offset = sandbox.log_offset() if sandbox is not None else 0
        log = self.logs / f"{case}-{tool}.log".replace(" ", "_").replace("/", "_")
        t_start = time.time()
        wall, usage, rc, maxrss = run_measured(cmd, env=env, log=log)
        t_end = t_start + wall
        sizes_ok = all(p.is_file() and p.stat().st_size == n for p, n in expected.items())
        nbytes = sum(expected.values())
        run = Run(
            case=case,
            tool=tool,
            round=rnd,
            wall=round(wall, 4),
            user=round(usage.ru_utime, 4),
            sys=round(usage.ru_stime, 4),
            maxrss_kib=maxrss,
            rc=rc,
            ok=(rc == 0 and sizes_ok),
            nbytes=nbytes,
            server=self.nginx.stats(offset),
        )
        if sandbox is not None:
            records = sandbox.api_records(api_offset)
            calls = Counter(r["endpoint"] for r in records)
            run.extra["api_calls"] = dict(sorted(calls.items()))
            first_file, last_file = run.server.get("first_start"), run.server.get("last_end")
            if records and first_file is not None and last_file is not None:
                first_api = min(float(r["t"]) for r in records)
                run.extra["phases"] = {  # where the CLI's wall time went
                    "start_to_first_api_s": round(first_api - t_start, 4),
                    "api_until_first_byte_request_s": round(first_file - first_api, 4),
                    "transfer_window_s": round(last_file - first_file, 4),
                    "after_last_response_s": round(t_end - last_file, 4),
                }
        self.runs.append(run)
        mark = "" if run.ok else f"  FAILED rc={rc} sizes_ok={sizes_ok} (see {log})"
        print(
            f"  [{case}] r{rnd} {tool:<34} {wall:7.3f} s  cpu {run.cpu:6.3f} s  "
            f"rss {run.maxrss_kib / 1024:6.1f} MiB{mark}",
            flush=True,
        )
        return run

    # ---- cases

    def case1(self) -> None:
        """One stream, 1 GiB to disk: m2mdl (CLI and engine) against curl -o."""
        size_target = self.sizes.big
        scale, size = self.bundle_scale(size_target)
        sb = self.sandbox("case1", scale, files_sub="b")
        try:
            env = self.login(sb, "case1")
            out = self.out / "c1"
            tar = self.display_id + ".tar"
            # warm-up (unmeasured): the sandbox writes the bundle under nginx's root
            subprocess.run(
                [
                    self.m2mdl,
                    "-q",
                    "download",
                    "--from",
                    str(self.scenes_file),
                    "--filetype",
                    "bundle",
                    "--out",
                    str(out),
                ],
                env=env,
                capture_output=True,
                timeout=RUN_TIMEOUT,
                check=True,
            )
            src = self.srv / "b" / "gen-bundle" / tar
            if src.stat().st_size != size:
                raise RuntimeError(f"{src} is {src.stat().st_size} bytes, expected {size}")
            warm(src)
            url = f"{self.nginx.url}/b/gen-bundle/{tar}"
            self.notes["case1"] = {
                "file": str(src.relative_to(self.work)),
                "bytes": size,
                "scale": scale,
            }
            cli = [
                self.m2mdl,
                "download",
                "--from",
                str(self.scenes_file),
                "--filetype",
                "bundle",
                "--out",
                str(out),
            ]
            tools: list[tuple[str, list[str], dict[str, str] | None, bool]] = [
                ("curl -o", ["curl", "-s", "-o", str(out / tar), url], None, False),
                ("m2mdl CLI (1 stream)", [*cli, "--workers", "1", "--segments", "1"], env, True),
                (
                    "m2mdl engine (1 stream)",
                    [
                        sys.executable,
                        str(HERE / "engine_driver.py"),
                        "--workers",
                        "1",
                        "--segments",
                        "1",
                        "--dir",
                        str(out),
                        url,
                    ],
                    None,
                    False,
                ),
                (
                    "m2mdl CLI (default: 4 segments)",
                    [*cli, "--workers", "4", "--segments", "4"],
                    env,
                    True,
                ),
            ]
            for rnd in range(1, self.rounds + 1):
                for tool, cmd, tenv, uses_api in tools:
                    self.measure(
                        "1",
                        tool,
                        rnd,
                        cmd,
                        [out],
                        {out / tar: size},
                        env=tenv,
                        sandbox=sb if uses_api else None,
                    )
        finally:
            self.stop_sandbox(sb)
            remove(self.out / "c1")

    def case2(self) -> None:
        """8 files of 64 MiB under a 20 MiB/s per-connection cap: m2mdl engine vs aria2c -j."""
        each, count = self.sizes.each, self.sizes.count
        files = [self.srv / "many" / f"f{i:02d}.bin" for i in range(count)]
        for f in files:
            write_random(f, each)
            warm(f)
        urls = [f"{self.nginx.url}/cap20/many/{f.name}" for f in files]
        url_list = self.work / "urls.txt"
        url_list.write_text("".join(u + "\n" for u in urls))
        out = self.out / "c2"
        expected = {out / f.name: each for f in files}
        self.notes["case2"] = {"files": count, "bytes_each": each, "cap_bytes_per_s": CAP}
        tools: list[tuple[str, list[str]]] = []
        for w in (4, 8):
            tools.append(
                (
                    f"m2mdl engine ({w} workers)",
                    [
                        sys.executable,
                        str(HERE / "engine_driver.py"),
                        "--workers",
                        str(w),
                        "--segments",
                        "1",
                        "--size",
                        str(each),
                        "--dir",
                        str(out),
                        *urls,
                    ],
                )
            )
            tools.append(
                (
                    f"aria2c -j{w}",
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
                )
            )
        try:
            for rnd in range(1, self.rounds + 1):
                for tool, cmd in tools:
                    self.measure("2", tool, rnd, cmd, [out], expected)
        finally:
            remove(out)
            remove(self.srv / "many")

    def case3(self) -> None:
        """One 1 GiB bundle under the cap with 4 segments: m2mdl CLI vs aria2c -x4 -s4."""
        scale, size = self.bundle_scale(self.sizes.big)
        sb = self.sandbox("case3", scale, files_sub="b", capped=True)
        try:
            env = self.login(sb, "case3")
            out = self.out / "c3"
            tar = self.display_id + ".tar"
            src = self.srv / "b" / "gen-bundle" / tar
            if not (src.is_file() and src.stat().st_size == size):
                # not left by case 1: let the sandbox write it (one unmeasured capped run)
                subprocess.run(
                    [
                        self.m2mdl,
                        "-q",
                        "download",
                        "--from",
                        str(self.scenes_file),
                        "--filetype",
                        "bundle",
                        "--out",
                        str(out),
                    ],
                    env=env,
                    capture_output=True,
                    timeout=RUN_TIMEOUT,
                    check=True,
                )
            warm(src)
            url = f"{self.nginx.url}/cap20/b/gen-bundle/{tar}"
            self.notes["case3"] = {
                "file": str(src.relative_to(self.work)),
                "bytes": size,
                "scale": scale,
                "cap_bytes_per_s": CAP,
            }
            tools: list[tuple[str, list[str], dict[str, str] | None, bool]] = [
                (
                    "m2mdl CLI (4 workers, 4 segments)",
                    [
                        self.m2mdl,
                        "download",
                        "--from",
                        str(self.scenes_file),
                        "--filetype",
                        "bundle",
                        "--workers",
                        "4",
                        "--segments",
                        "4",
                        "--out",
                        str(out),
                    ],
                    env,
                    True,
                ),
                (
                    "aria2c -x4 -s4",
                    [
                        "aria2c",
                        "-q",
                        "-x4",
                        "-s4",
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
                    False,
                ),
            ]
            for rnd in range(1, self.rounds + 1):
                for tool, cmd, tenv, uses_api in tools:
                    self.measure(
                        "3",
                        tool,
                        rnd,
                        cmd,
                        [out],
                        {out / tar: size},
                        env=tenv,
                        sandbox=sb if uses_api else None,
                    )
        finally:
            self.stop_sandbox(sb)
            remove(self.out / "c3")
            remove(self.srv / "b")

    def case4(self) -> None:
        """Peak RSS of the CLI downloading a 100 MiB and a 2 GiB bundle (default options)."""
        tar = self.display_id + ".tar"
        setups: list[tuple[str, SandboxProc, dict[str, str], Path, int]] = []
        try:
            for label, target in (("small", self.sizes.rss_small), ("large", self.sizes.rss_large)):
                scale, size = self.bundle_scale(target)
                sb = self.sandbox(f"case4-{label}", scale, files_sub=f"rss-{label}")
                env = self.login(sb, f"case4-{label}")
                out = self.out / f"c4-{label}"
                subprocess.run(
                    [
                        self.m2mdl,
                        "-q",
                        "download",
                        "--from",
                        str(self.scenes_file),
                        "--filetype",
                        "bundle",
                        "--out",
                        str(out),
                    ],
                    env=env,
                    capture_output=True,
                    timeout=RUN_TIMEOUT,
                    check=True,
                )
                warm(self.srv / f"rss-{label}" / "gen-bundle" / tar)
                setups.append((f"m2mdl CLI, {_size_label(size)} bundle", sb, env, out, size))
            self.notes["case4"] = {name: size for name, _, _, _, size in setups}
            for rnd in range(1, self.rounds + 1):
                for tool, sb, env, out, size in setups:
                    self.measure(
                        "4",
                        tool,
                        rnd,
                        [
                            self.m2mdl,
                            "download",
                            "--from",
                            str(self.scenes_file),
                            "--filetype",
                            "bundle",
                            "--out",
                            str(out),
                        ],
                        [out],
                        {out / tar: size},
                        env=env,
                        sandbox=sb,
                    )
        finally:
            for _, sb, _, out, _ in setups:
                self.stop_sandbox(sb)
                remove(out)
            remove(self.srv / "rss-small")
            remove(self.srv / "rss-large")

    def case5(self) -> None:
        """API calls for 5 and 50 scenes with each filetype (sandbox log)."""
        variants: list[tuple[str, list[str], bool]] = []
        for n in (50, 5):
            for ft in ("bundle", "band", "band --bands SR_B4,QA_PIXEL", "band_group"):
                variants.append((f"{ft}, {n} scenes", [*ft.split(), "--limit", str(n)], False))
        variants.append(
            (
                "bundle, 50 scenes, not logged in (env credentials)",
                ["bundle", "--limit", "50"],
                True,
            )
        )
        out = self.out / "c5"
        sb: SandboxProc | None = None
        try:
            for rnd in range(1, self.rounds + 1):
                # A fresh sandbox each round: one round requests ~2,500 downloads, and the
                # sandbox enforces M2M's 15,000 downloads per 15 minutes (RATE_LIMIT_USER_DL).
                if sb is not None:
                    self.stop_sandbox(sb)
                    remove(self.srv / "api")
                sb = self.sandbox(f"case5-r{rnd}", 0.0005, files_sub="api")  # tiny files
                remove(self.work / "config" / "case5")
                env = self.login(sb, "case5")
                fresh = self.cli_env(sb, "case5-fresh", credentials=True)
                for name, args, use_fresh in variants:
                    venv = fresh if use_fresh else env
                    ft, *rest = args
                    cmd = [
                        self.m2mdl,
                        "download",
                        "--filetype",
                        ft,
                        *rest,
                        "--bbox",
                        *BBOX,
                        *DATES,
                        "--out",
                        str(out),
                    ]
                    run = self.measure(
                        "5",
                        name,
                        rnd,
                        cmd,
                        [out],
                        {},
                        env=venv,
                        settle=0.0,
                        sandbox=sb,
                        clean=[self.work / "config" / "case5-fresh"],
                    )
                    manifests = list(out.glob("m2mdl-manifest-*.json"))
                    if manifests:
                        run.extra["counts"] = json.loads(manifests[0].read_text()).get("summary")
        finally:
            if sb is not None:
                self.stop_sandbox(sb)
            remove(self.out / "c5")
            remove(self.srv / "api")

    def case6(self) -> None:
        """Start-up: m2mdl --version, --help, download --help against python -c pass."""
        py = sys.executable
        tools = [
            ("python -c pass", [py, "-c", "pass"]),
            ("m2mdl --version", [self.m2mdl, "--version"]),
            ("m2mdl --help", [self.m2mdl, "--help"]),
            ("m2mdl download --help", [self.m2mdl, "download", "--help"]),
        ]
        for _ in range(2):  # unmeasured warm-up (bytecode caches, page cache)
            for _, cmd in tools:
                subprocess.run(cmd, capture_output=True, timeout=60, check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("M2MDL_")}
        for rnd in range(1, 3 * self.rounds + 1):
            for tool, cmd in tools:
                self.measure("6", tool, rnd, cmd, [], {}, env=env, settle=0.0)


def _size_label(n: int) -> str:
    return f"{n / GIB:g} GiB" if n >= GIB else f"{n / MIB:g} MiB"


# --------------------------------------------------------------------------------------------
# summary


def _stat(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


def summarize(runs: list[Run]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per case and tool: medians, min and max of wall, CPU, RSS; derived rates."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        out.setdefault(run.case, {}).setdefault(run.tool, {"runs": []})["runs"].append(run)
    for tools in out.values():
        for tool, entry in tools.items():
            rs: list[Run] = entry.pop("runs")
            nbytes = rs[0].nbytes
            s: dict[str, Any] = {
                "n": len(rs),
                "failed": sum(not r.ok for r in rs),
                "bytes": nbytes,
                "wall_s": _stat([r.wall for r in rs]),
                "cpu_s": _stat([r.cpu for r in rs]),
                "maxrss_mib": _stat([r.maxrss_kib / 1024 for r in rs]),
            }
            if nbytes:
                med = s["wall_s"]["median"]
                s["mb_per_s"] = round(nbytes / med / 1e6, 1)
                s["cpu_s_per_gb"] = round(s["cpu_s"]["median"] / (nbytes / 1e9), 3)
            windows = [r.server.get("window_s", 0.0) for r in rs if r.server.get("requests")]
            if windows:
                s["server_window_s"] = _stat(windows)
                s["outside_window_s"] = _stat(
                    [r.wall - r.server["window_s"] for r in rs if r.server.get("requests")]
                )
                s["server_body_bytes"] = _stat([float(r.server["body_bytes"]) for r in rs])
                s["server_requests"] = _stat([float(r.server["requests"]) for r in rs])
            calls = [r.extra["api_calls"] for r in rs if "api_calls" in r.extra]
            if calls:
                distinct = {json.dumps(c, sort_keys=True) for c in calls}
                s["api_calls"] = calls[0]
                s["api_calls_total"] = sum(calls[0].values())
                s["api_calls_stable"] = len(distinct) == 1
            phases = [r.extra["phases"] for r in rs if "phases" in r.extra]
            if phases:
                s["phases"] = {k: _stat([p[k] for p in phases]) for k in phases[0]}
            counts = [r.extra["counts"] for r in rs if "counts" in r.extra]
            if counts:
                s["file_counts"] = counts[0]
            tools[tool] = s
    return out


def evaluate(summary: dict[str, dict[str, dict[str, Any]]], sizes: Sizes) -> list[dict[str, Any]]:
    """The issue's targets, each met or not, with the numbers."""
    targets: list[dict[str, Any]] = []

    def add(tid: str, what: str, value: float | str, limit: str, met: bool, note: str = "") -> None:
        targets.append(
            {
                "id": tid,
                "target": what,
                "value": value,
                "limit": limit,
                "met": bool(met),
                "note": note,
            }
        )

    def wall(case: str, tool: str) -> float:
        v: float = summary[case][tool]["wall_s"]["median"]
        return v

    c1 = summary.get("1", {})
    if c1:
        curl = wall("1", "curl -o")
        for tool in ("m2mdl CLI (1 stream)", "m2mdl engine (1 stream)"):
            ratio = curl / wall("1", tool)
            add(
                "1",
                f"{tool}: speed vs curl -o (median wall curl / m2mdl)",
                round(ratio, 3),
                ">= 1.05",
                ratio >= 1.05,
            )
            cpg = summary["1"][tool]["cpu_s_per_gb"]
            add(
                "1",
                f"{tool}: CPU s/GB",
                cpg,
                "<= 1.2",
                cpg <= 1.2,
                f"curl: {summary['1']['curl -o']['cpu_s_per_gb']}",
            )
    c2 = summary.get("2", {})
    if c2:
        for w in (4, 8):
            ideal = sizes.count * sizes.each / (w * CAP)
            m = wall("2", f"m2mdl engine ({w} workers)")
            a = wall("2", f"aria2c -j{w}")
            add(
                "2",
                f"{w} workers: m2mdl engine vs ideal {ideal:.2f} s",
                round(m / ideal, 3),
                "<= 1.05",
                m <= 1.05 * ideal,
                f"m2mdl {m:.2f} s",
            )
            add(
                "2",
                f"{w} workers: m2mdl engine vs aria2c -j{w}",
                round(m / a, 3),
                "<= 1.00",
                m <= a,
                f"m2mdl {m:.2f} s, aria2c {a:.2f} s",
            )
    c3 = summary.get("3", {})
    if c3:
        m = wall("3", "m2mdl CLI (4 workers, 4 segments)")
        a = wall("3", "aria2c -x4 -s4")
        add(
            "3",
            "m2mdl CLI vs aria2c -x4 -s4 (median wall ratio)",
            round(m / a, 3),
            "<= 1.00",
            m <= a,
            f"m2mdl {m:.2f} s, aria2c {a:.2f} s",
        )
    c4 = summary.get("4", {})
    if len(c4) == 2:
        (_, small), (_, large) = sorted(c4.items(), key=lambda kv: kv[1]["bytes"])
        peak_small, peak_large = small["maxrss_mib"]["max"], large["maxrss_mib"]["max"]
        add(
            "4", "peak RSS, larger file (MiB, max over rounds)", peak_large, "< 64", peak_large < 64
        )
        add(
            "4",
            "flat: peak RSS larger / smaller file",
            round(peak_large / peak_small, 3),
            "<= 1.10",
            peak_large <= 1.10 * peak_small,
            f"{peak_small:.1f} MiB vs {peak_large:.1f} MiB",
        )
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
        if n5 is not None and n50 - n5 == requests50 - requests5 != 0:
            note += (
                f"; the difference is download-request batches of {REQUEST_BATCH} items"
                f" ({files} files), i.e. +1 call per {REQUEST_BATCH} files"
            )
        elif n5 != n50:
            note += "; grows with scenes beyond download-request batching"
        add(
            "5",
            f"API calls, {tool}",
            n50,
            "<= 8 (O(1) in scenes)",
            n50 <= 8 and s["api_calls_stable"],
            note,
        )
    c6 = summary.get("6", {})
    if c6:
        v = wall("6", "m2mdl --version")
        add("6", "m2mdl --version (median wall, s)", v, "< 0.100", v < 0.100)
        h = wall("6", "m2mdl --help")
        add("6", "m2mdl --help (median wall, s)", h, "< 0.300", h < 0.300)
    return targets


def snapshot_sources(work: Path) -> Path:
    """Copy m2mdl's package into the work directory and make every child import that copy.

    Other people may edit the (editable) checkout while the benchmark runs; the snapshot
    keeps all rounds on the same code. PYTHONPATH precedes the editable-install finder.
    """
    root = work / "snapshot"
    shutil.copytree(
        REPO / "m2mdl", root / "m2mdl", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p
    )
    sys.path.insert(0, str(root))
    return root / "m2mdl"


def source_fingerprint(root: Path) -> str:
    """sha256 over a copy of m2mdl's sources (names and contents)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def machine_info(work: Path) -> dict[str, Any]:
    """nproc, CPU, memory, kernel, filesystem, Python and tool versions, date."""

    def first_line(cmd: list[str]) -> str:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return "not available"
        return (p.stdout or p.stderr).strip().splitlines()[0] if (p.stdout or p.stderr) else ""

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
    fs = first_line(["findmnt", "-n", "-o", "FSTYPE,OPTIONS", "-T", str(work)])
    commit = first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = first_line(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"])
    from m2mdl import __version__

    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "filesystem": fs,
        "python": platform.python_version(),
        "m2mdl": __version__,
        "git": commit + (" (uncommitted changes)" if dirty else ""),
        "curl": first_line(["curl", "--version"]).split(" (")[0],
        "aria2c": first_line(["aria2c", "--version"]),
        "nginx": first_line(["nginx", "-v"]),
    }


# --------------------------------------------------------------------------------------------
# report


def _fmt_stat(s: dict[str, float], digits: int = 2) -> str:
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}..{s['max']:.{digits}f})"


CASE_TITLES = {
    "1": "1. One stream, one file to ext4 (no cap)",
    "2": "2. Per-connection cap 20 MiB/s (nginx limit_rate 20m): many files",
    "3": "3. One bundle under the 20 MiB/s cap with 4 segments",
    "4": "4. Peak RSS (CLI, default options: 4 workers, 4 segments)",
    "5": "5. API calls (sandbox log), logged in unless noted",
    "6": "6. Start-up (wall time of the whole process)",
}

HOW = {
    "m2mdl CLI": "CLI end to end: `m2mdl download --from scenes.json --filetype bundle` "
    "against the sandbox API, file from nginx",
    "m2mdl engine": "transfer engine only: `benchmarks/engine_driver.py` calls "
    "`m2mdl.transfer.run_transfers` on the nginx URLs",
}


def _how(tool: str) -> str:
    for prefix, text in HOW.items():
        if tool.startswith(prefix):
            return text
    return ""


def render_markdown(
    meta: dict[str, Any],
    config: dict[str, Any],
    summary: dict[str, dict[str, dict[str, Any]]],
    targets: list[dict[str, Any]],
    notes: dict[str, Any],
) -> str:
    """The ``latest.md`` text."""
    lines: list[str] = []
    add = lines.append
    add(f"# m2mdl benchmarks ({'quick' if config['quick'] else 'full'} run)")
    add("")
    add(
        f"Run {meta['date']} with `{config['command']}`: {config['rounds']} interleaved rounds, "
        f"`sync` + {config['settle_s']} s before every transfer run. Medians with (min..max). "
        "MB = 10^6 bytes, GB = 10^9 bytes; CPU = user + sys of the process (and its children); "
        "RSS = peak resident set size (`ru_maxrss`)."
    )
    add("")
    add("| machine | |")
    add("|---|---|")
    for key in (
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
    ):
        add(f"| {key} | {meta.get(key)} |")

    add("")
    add("## Targets")
    add("")
    add("| case | target | value | limit | met | note |")
    add("|---|---|---|---|---|---|")
    for t in targets:
        add(
            f"| {t['id']} | {t['target']} | {t['value']} | {t['limit']} | "
            f"{'yes' if t['met'] else '**NO**'} | {t['note']} |"
        )
    for case in ("1", "2", "3", "4"):
        tools = summary.get(case)
        if not tools:
            continue
        add("")
        add(f"## {CASE_TITLES[case]}")
        add("")
        if case in notes:
            add("Source: " + ", ".join(f"{k} {v}" for k, v in notes[case].items()) + ".")
            add("")
        if case == "2":
            n, each = config["sizes"]["count"], config["sizes"]["each"]
            ideals = ", ".join(f"{w} workers {n * each / (w * CAP):.2f} s" for w in (4, 8))
            add(f"Ideal = size / (workers x cap): {ideals}.")
            add("")
        if case == "3":
            add(f"Ideal = size / (4 x cap) = {config['sizes']['big'] / (4 * CAP):.2f} s.")
            add("")
        add(
            "| tool | bytes | wall s | MB/s | CPU s | CPU s/GB | peak RSS MiB | "
            "server window s | outside window s | fails |"
        )
        add("|---|---|---|---|---|---|---|---|---|---|")
        for tool, s in tools.items():
            window = _fmt_stat(s["server_window_s"]) if "server_window_s" in s else "-"
            outside = _fmt_stat(s["outside_window_s"]) if "outside_window_s" in s else "-"
            add(
                f"| {tool} | {s['bytes']:,} | {_fmt_stat(s['wall_s'])} | "
                f"{s.get('mb_per_s', '-')} | {_fmt_stat(s['cpu_s'])} | "
                f"{s.get('cpu_s_per_gb', '-')} | {_fmt_stat(s['maxrss_mib'], 1)} | "
                f"{window} | {outside} | {s['failed']}/{s['n']} |"
            )
        phased = {t: s["phases"] for t, s in tools.items() if "phases" in s}
        if phased:
            add("")
            add(
                "Where the CLI's wall time goes (medians, s; from the sandbox's API log and "
                "nginx's access log):"
            )
            add("")
            add(
                "| tool | start-up to first API call | API calls until the first file "
                "request | transfer window | after the last response (hash tail, fsync, "
                "rename, manifest, clean-up calls, exit) |"
            )
            add("|---|---|---|---|---|")
            for name, ph in phased.items():
                add(f"| {name} | " + " | ".join(f"{v['median']:.3f}" for v in ph.values()) + " |")
        hows = sorted({_how(t) for t in tools if _how(t)})
        if hows:
            add("")
            for h in hows:
                add(f"* {h}.")
        add(
            "* server window = first request start to last response end in nginx's access "
            "log; outside window = wall - window (process start-up, API calls, final "
            "verification, exit)."
        )
    c5 = summary.get("5")
    if c5:
        add("")
        add(f"## {CASE_TITLES['5']}")
        add("")
        endpoints = sorted({e for s in c5.values() for e in s.get("api_calls", {})})
        add("| run | files | calls | " + " | ".join(endpoints) + " | wall s |")
        add("|---|---|---|" + "---|" * len(endpoints) + "---|")
        for tool, s in c5.items():
            calls = s.get("api_calls", {})
            files = (s.get("file_counts") or {}).get("done", "?")
            stable = "" if s.get("api_calls_stable", True) else " (varied!)"
            add(
                f"| {tool} | {files} | {s.get('api_calls_total')}{stable} | "
                + " | ".join(str(calls.get(e, "")) for e in endpoints)
                + f" | {_fmt_stat(s['wall_s'])} |"
            )
        add("")
        add(
            "The official notebook's flow for the same work (derivation below), "
            "per filetype, one run from a fresh login to logout:"
        )
        add("")
        add("| filetype | calls (all) | calls without the optional ones (*) | sequence |")
        add("|---|---|---|---|")
        for ft, calls in NOTEBOOK_CALLS.items():
            required = [c for c in calls if not c.endswith("*")]
            add(f"| {ft} | {len(calls)} | {len(required)} | {', '.join(calls)} |")
        add("")
        add(notebook_derivation())
    c6 = summary.get("6")
    if c6:
        add("")
        add(f"## {CASE_TITLES['6']}")
        add("")
        add("| command | wall s | CPU s | peak RSS MiB |")
        add("|---|---|---|---|")
        for tool, s in c6.items():
            add(
                f"| `{tool}` | {_fmt_stat(s['wall_s'], 3)} | {_fmt_stat(s['cpu_s'], 3)} | "
                f"{_fmt_stat(s['maxrss_mib'], 1)} |"
            )
    add("")
    return "\n".join(lines)


def notebook_derivation() -> str:
    """How NOTEBOOK_CALLS follows from docs/design.md §M2M API: notebook workflows and the NB25
    outputs."""
    return (
        "Derivation. docs/design.md §M2M API: notebook workflows gives the notebook's common "
        "prefix `login-token` → `scene-search` → `scene-list-add` → (optional) `scene-list-get`; "
        "the NB25 outputs "
        'show all four (cell 18 "Login Successful", cell 41 the search table, cell 48 '
        "`3` from scene-list-add, cell 50 the scene-list-get listing). One `scene-search` "
        "suffices for 50 scenes (default maxResults 100, docs/design.md §M2M API: scene-search). "
        "Bands and bundles then make one `download-options {listId}` (cells 64/76) and one "
        "`download-request` (cells 70/81; all items came back in `availableDownloads`, so no "
        "`download-retrieve` poll). Band groups make `download-options` with "
        "`includeSecondaryFileGroups` (cell 87), `dataset-file-groups` (optional, cell 90), "
        "`dataset {datasetId}` (cell 98), a second `scene-list-add` of the secondary ids "
        '(cell 100, "Added 88") and `download-request {dataGroups}` (cell 104). The '
        "notebook ends with `scene-list-remove` for each list it made and `logout` "
        "(cell 111). None of these depends on the number of scenes (lists carry the ids), "
        "so the notebook is O(1) in scenes too; each preparing download would add "
        "`download-retrieve` polls (every 30 s). m2mdl's runs above start from a stored "
        "session key, so they have no `login-token` (the not-logged-in run shows +1); m2mdl "
        "never calls `logout` (the key is kept for the next run) and removes its order "
        "with `download-order-remove`. The NB25 session ran all three workflows after one "
        "login: 16 calls in all (4 prefix + 2 bands + 2 bundles + 5 band groups + 2 "
        "scene-list-remove + logout)."
    )


# --------------------------------------------------------------------------------------------
# main


class Interrupted(Exception):
    """SIGTERM arrived."""


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(f"signal {signum}")


@contextlib.contextmanager
def work_dir(keep: bool) -> Iterator[Path]:
    """``results/tmp/run-<pid>``, removed afterwards unless ``keep``."""
    path = RESULTS / "tmp" / f"run-{os.getpid()}"
    remove(path)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        if not keep:
            remove(path)
            with contextlib.suppress(OSError):
                (RESULTS / "tmp").rmdir()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write the report."""
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
    parser.add_argument("--cases", default="1,2,3,4,5,6", help="comma-separated case numbers")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)
    if not 1 <= rounds <= 50:
        parser.error("--rounds must be 1..50")
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(cases) - set("123456")
    if unknown:
        parser.error(f"unknown cases: {sorted(unknown)}")
    for tool in ("nginx", "curl", "aria2c"):
        if shutil.which(tool) is None:
            print(
                f"{tool} is missing: run `bash benchmarks/run.sh` (it installs it)", file=sys.stderr
            )
            return 2
    sizes = QUICK if args.quick else FULL
    signal.signal(signal.SIGTERM, _on_term)
    started = time.monotonic()
    RESULTS.mkdir(parents=True, exist_ok=True)
    command = (
        "bash benchmarks/run.sh"
        + (" --quick" if args.quick else "")
        + (f" --rounds {args.rounds}" if args.rounds else "")
    )
    with work_dir(args.keep) as work:
        bench = Bench(sizes, rounds, work, args.quick)
        snapshot = snapshot_sources(work)
        meta = machine_info(work)
        meta["m2mdl_sources"] = source_fingerprint(snapshot) + " (snapshot at start)"
        load_start = os.getloadavg()[0]
        try:
            bench.setup()
            bench.choose_scene()
            steps: dict[str, Callable[[], None]] = {
                "1": bench.case1,
                "2": bench.case2,
                "3": bench.case3,
                "4": bench.case4,
                "5": bench.case5,
                "6": bench.case6,
            }
            for case in cases:
                print(f"case {case}: {CASE_TITLES[case]}", flush=True)
                steps[case]()
        finally:
            bench.close()
        meta["other_load"] = (
            f"1-min load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end"
        )
        summary = summarize(bench.runs)
        targets = evaluate(summary, sizes)
        config = {
            "command": command,
            "quick": args.quick,
            "rounds": rounds,
            "cases": cases,
            "settle_s": sizes.settle,
            "sizes": asdict(sizes),
            "cap_bytes_per_s": CAP,
            "elapsed_s": round(time.monotonic() - started, 1),
        }
        report = {
            "schema_version": 1,
            "meta": meta,
            "config": config,
            "notes": bench.notes,
            "targets": targets,
            "summary": summary,
            "notebook_calls": NOTEBOOK_CALLS,
            "runs": [asdict(r) | {"cpu": round(r.cpu, 4)} for r in bench.runs],
        }
        stem = "quick" if args.quick else "latest"
        (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
        md = render_markdown(meta, config, summary, targets, bench.notes)
        (RESULTS / f"{stem}.md").write_text(md)
    print(md)
    print(f"wrote {RESULTS / (stem + '.md')} and {stem}.json in {config['elapsed_s']} s")
    return 0 if all(t["met"] for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
