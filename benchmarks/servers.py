"""The servers a benchmark run starts: nginx (files) and the m2mdl sandbox (M2M API, STAC).

Both listen on 127.0.0.1 on free high ports and are stopped by ``stop()`` (the caller does it
in ``finally``). Their logs are read by byte offset: take ``log_offset()`` before a run and
read what the run added afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from harness import REPO, free_port


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
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The M2M API URL (what M2MDL_API_URL must be)."""
        from m2mdl.sandbox.server import API_PREFIX

        return self.base_url + API_PREFIX

    @property
    def stac_url(self) -> str:
        """The STAC API root (what M2MDL_STAC_URL must be), as ``Sandbox.stac_url`` says."""
        from m2mdl.sandbox.server import STAC_PREFIX

        return self.base_url + STAC_PREFIX

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

    def records(self, offset: int) -> list[dict[str, Any]]:
        """API and STAC records of the sandbox log written after byte ``offset``.

        ``kind`` is ``api`` for an M2M call and ``stac`` for a STAC request (file requests go
        to nginx, not here).
        """
        with self.log.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode()
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [r for r in records if r.get("kind") in ("api", "stac")]

    def log_offset(self) -> int:
        """Current size of the sandbox log."""
        try:
            return self.log.stat().st_size
        except FileNotFoundError:
            return 0
