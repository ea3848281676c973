"""Driving the real ``m2mdl`` CLI as a subprocess and checking what it leaves behind.

Every check here is strict about the project's promise: a final-named file in the output
directory always has the sandbox's bytes, manifests and journals are always valid JSON, and
nothing else than finals, ``.part``, ``.part.json``, the lock and manifests is there, plus
the local STAC catalog (``catalog.json`` and one item per scene folder) and, in the scene
layout, one folder per scene (``OUT/<display id>/``) holding the same kinds of files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from m2mdl.sandbox import Sandbox

from ..cli_helpers import NOTEBOOK_QUERY, SCENES
from ..tarref import tree_sha512_reference

#: The sandbox account the CLI logs in as (cli_env).
USER = "demo"

CLI = (sys.executable, "-m", "m2mdl")
BUNDLES = sorted(f"{display}.tar" for display in SCENES.values())
LOCK_NAME = ".m2mdl.lock"
MANIFEST_RE = re.compile(r"^m2mdl-manifest-.+\.json$")
#: Atomic-write temporaries (journal ``*.m2mdl-tmp``, manifest ``.m2mdl-manifest-*.tmp``):
#: never final-named; a SIGKILL between create and rename can leave one behind.
TEMP_RE = re.compile(r"(\.m2mdl-tmp|^\.m2mdl-manifest-.*\.tmp)$")
STATUSES = {"pending", "downloading", "done", "skipped", "failed", "preparing"}
CATALOG_NAME = "catalog.json"
#: What an extraction leaves in a scene folder besides the members (m2mdl.extract).
EXTRACT_MARKER = ".m2mdl-extracted.json"
SCENE_DIR_RE = re.compile(r"^L[COTEM]0\d_L[12][A-Z]{2}_\d{6}_\d{8}_\d{8}_\d{2}_(T1|T2|RT)$")
#: Bytes a kernel may hold in socket buffers on loopback (send + receive).
SOCKET_BUFFER = 4 * 2**20
DEFAULT_TIMEOUT = 120.0


@dataclass
class CliResult:
    """One finished CLI process."""

    argv: list[str]
    code: int
    stdout: str
    stderr: str
    elapsed: float
    maxrss_kb: int

    def explain(self) -> str:
        """Text for assertion messages."""
        return (
            f"argv={self.argv[3:]}\nexit={self.code} after {self.elapsed:.1f}s\n"
            f"--- stdout ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-3000:]}"
        )


def cli_env(sb: Sandbox | None = None, **extra: str) -> dict[str, str]:
    """The test process's environment (isolated config/state dirs) pointed at ``sb``."""
    env = dict(os.environ)
    env.update(NO_COLOR="1", COLUMNS="200", PYTHONUNBUFFERED="1")
    if sb is not None:
        env.update(
            M2MDL_API_URL=sb.api_url,
            M2MDL_STAC_URL=sb.stac_url,
            M2MDL_USERNAME=USER,
            M2MDL_TOKEN="demo-token",
        )
    env.update(extra)
    return env


class CliProcess:
    """A running ``python -m m2mdl ARGS``; output goes to temp files (no pipe deadlocks)."""

    def __init__(
        self,
        args: Sequence[str],
        env: dict[str, str],
        stdin_text: str | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.argv = [*CLI, *args]
        # closed in _result, once the process has been reaped
        self._out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.started = time.monotonic()
        self._hwm_kib = 0  # the child's own VmHWM, sampled while it runs
        self.proc = subprocess.Popen(
            self.argv,
            env=env,
            cwd=cwd,
            stdout=self._out,
            stderr=self._err,
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        )
        if stdin_text is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(stdin_text.encode())
            self.proc.stdin.close()

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid

    def send(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the CLI process only (not to the test process)."""
        if self.proc.returncode is None:
            os.kill(self.proc.pid, sig)

    def running(self) -> bool:
        """True while the child has not exited (does not reap it)."""
        if self.proc.returncode is not None:
            return False
        try:
            waited = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        return waited is None

    def try_reap(self) -> CliResult | None:
        """The result if the child has exited (reaping it), else None; never blocks."""
        pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
        if not pid:
            return None
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return self._result(self.proc.returncode, usage.ru_maxrss)

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> CliResult:
        """Reap the child (with its rusage); kill it and fail the test after ``timeout``."""
        limit = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            self._sample_hwm()
            if time.monotonic() > limit:
                self.proc.kill()
                pid, status, usage = os.wait4(self.proc.pid, 0)
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                result = self._result(self.proc.returncode, usage.ru_maxrss)
                pytest.fail(f"m2mdl did not finish within {timeout:g} s\n{result.explain()}")
            time.sleep(0.02)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return self._result(self.proc.returncode, usage.ru_maxrss)

    def _sample_hwm(self) -> None:
        """Keep the peak of the child's VmHWM (/proc/PID/status).

        ``wait4``'s ``ru_maxrss`` cannot be used alone: Linux carries the high-water mark of
        the memory the child had before ``exec`` into it, and a child forked (or vforked) by
        a large pytest process reports the test process's size. VmHWM belongs to the
        program the child runs; polled every 20 ms it misses at most the last few ms.
        """
        path = f"/proc/{self.proc.pid}/status"
        with contextlib.suppress(OSError, ValueError), open(path, encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    self._hwm_kib = max(self._hwm_kib, int(line.split()[1]))
                    return

    def _result(self, code: int, maxrss: int) -> CliResult:
        """``maxrss``: ``ru_maxrss`` from ``wait4``; the sampled VmHWM wins when there is one
        (see ``_sample_hwm``)."""
        if self._hwm_kib:
            maxrss = self._hwm_kib
        elapsed = time.monotonic() - self.started
        texts = []
        for fh in (self._out, self._err):
            fh.seek(0)
            texts.append(fh.read().decode("utf-8", "replace"))
            fh.close()
        return CliResult(self.argv, code, texts[0], texts[1], elapsed, maxrss)


def run_cli(
    args: Sequence[str],
    env: dict[str, str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    stdin_text: str | None = None,
) -> CliResult:
    """Run the CLI to the end (bounded by ``timeout``)."""
    return CliProcess(args, env, stdin_text).wait(timeout)


def download_args(out: Path, filetype: str = "bundle", *extra: str) -> list[str]:
    """``download`` of the notebook query (3 scenes) into ``out``.

    With ``--bands``, ``--no-metadata`` is added: the files are exactly the bands named
    (``band_names``), without the MTL files that come along by default.
    """
    metadata = ["--no-metadata"] if "--bands" in extra else []
    return [
        "download",
        *NOTEBOOK_QUERY,
        "--filetype",
        filetype,
        "--out",
        str(out),
        *extra,
        *metadata,
    ]


def band_names(bands: Sequence[str]) -> list[str]:
    """The file names of ``bands`` (e.g. ``SR_B4``) for the three notebook scenes."""
    return sorted(f"{display}_{band}.TIF" for display in SCENES.values() for band in bands)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until true; fail the test after ``timeout`` seconds."""
    limit = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > limit:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


# --- the output directory ------------------------------------------------------------------


def sha512_file(path: Path) -> str:
    """Streamed SHA-512 hex of a file (what manifests record)."""
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """Streamed sha256 hex of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class OutState:
    """What an output directory holds, classified."""

    finals: dict[str, str] = field(default_factory=dict)  # name -> sha256 (verified)
    parts: list[str] = field(default_factory=list)
    journals: list[str] = field(default_factory=list)
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> JSON
    temps: list[str] = field(default_factory=list)
    aside: list[str] = field(default_factory=list)  # NAME.checksum-mismatch
    lock: bool = False
    catalog: dict[str, Any] | None = None  # OUT/catalog.json
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # display id -> STAC item
    where: dict[str, str] = field(default_factory=dict)  # final name -> path relative to OUT

    def newest_manifest(self) -> dict[str, Any]:
        """The manifest of the newest run (run ids sort by time)."""
        assert self.manifests, "no manifest in the output directory"
        return self.manifests[sorted(self.manifests)[-1]]


def load_manifest(path: Path) -> dict[str, Any]:
    """Parse and validate one manifest; its done items must match the files on disk."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        pytest.fail(f"manifest {path.name} is not valid JSON: {exc}")
    assert isinstance(data, dict), f"{path.name}: not a JSON object"
    items = data.get("items")
    assert isinstance(items, list), f"{path.name}: no items list"
    for item in items:
        assert isinstance(item, dict), f"{path.name}: item {item!r} is not an object"
        assert item.get("status") in STATUSES, f"{path.name}: bad status in {item}"
        rel = str(item.get("path"))
        parts = rel.split("/")
        assert "\\" not in rel and len(parts) <= 2, f"{path.name}: item path {rel!r}"
        assert all(p not in ("", ".", "..") for p in parts), (
            f"{path.name}: item path {rel!r} leaves the output directory"
        )
        assert len(parts) == 1 or SCENE_DIR_RE.match(parts[0]), (
            f"{path.name}: item path {rel!r} is not in a scene folder"
        )
    return data


def _json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_bytes())
    except ValueError as exc:
        pytest.fail(f"{what} {path.name} is not valid JSON: {exc}")


def _classify(path: Path, out: Path, sb: Sandbox, state: OutState, allow_temps: bool) -> None:
    """One file of OUT or of a scene folder: partial, journal, temporary, aside or final."""
    name = path.name
    if name.endswith(".part"):
        state.parts.append(name)
    elif name.endswith(".part.json"):
        _json(path, "journal")
        state.journals.append(name)
    elif name.endswith(".checksum-mismatch"):
        state.aside.append(name)  # bytes kept aside, never under a final name
    elif TEMP_RE.search(name):
        assert allow_temps, f"leftover temporary file {path.relative_to(out)}"
        state.temps.append(name)
    else:
        try:
            expected = sb.expected_sha256(name)
        except KeyError:
            pytest.fail(f"unexpected file {name!r} in {path.parent} (not a file the server has)")
        actual = sha256_file(path)
        assert actual == expected, f"final-named file {name} has wrong bytes (partial?)"
        assert name not in state.finals, f"{name} is final in two places"
        state.finals[name] = actual
        state.where[name] = path.relative_to(out).as_posix()


def _scene_folder(folder: Path, out: Path, sb: Sandbox, state: OutState, allow_temps: bool) -> None:
    """``OUT/<display id>/``: the scene's files, its STAC item, an extraction marker."""
    display = folder.name
    assert SCENE_DIR_RE.match(display), f"unexpected directory {display} in {out}"
    for path in sorted(folder.iterdir()):
        assert not path.is_dir(), f"unexpected directory {path.relative_to(out)}"
        if path.name == f"{display}.json":
            item = _json(path, "STAC item")
            assert item.get("type") == "Feature" and item.get("id") == display, path
            state.items[display] = item
        elif path.name == EXTRACT_MARKER:
            _json(path, "extraction marker")
        else:
            _classify(path, out, sb, state, allow_temps)


def inspect_out(out: Path, sb: Sandbox, *, allow_temps: bool = True) -> OutState:
    """Classify every entry of ``out`` and verify every final-named file's bytes.

    Fails the test on a final-named file whose sha256 differs from the sandbox's, on any
    file the sandbox does not serve, on invalid manifest/journal/catalog JSON, on a directory
    that is not a scene folder, and on a catalog item link whose item is missing.
    """
    state = OutState()
    for path in sorted(out.iterdir()):
        name = path.name
        if path.is_dir():
            _scene_folder(path, out, sb, state, allow_temps)
        elif name == LOCK_NAME:
            state.lock = True
        elif MANIFEST_RE.match(name):
            state.manifests[name] = load_manifest(path)
        elif name == CATALOG_NAME:
            state.catalog = _json(path, "catalog")
        else:
            _classify(path, out, sb, state, allow_temps)
    if state.catalog is not None:
        assert state.catalog.get("type") == "Catalog", state.catalog
        for link in state.catalog.get("links", []):
            if link.get("rel") == "item":
                assert (out / link["href"]).is_file(), f"catalog links a missing {link['href']}"
    for mname, data in state.manifests.items():
        for item in data["items"]:
            if item["status"] == "done":
                final = out / item["path"]
                assert final.is_file(), f"{mname}: done item {item['path']} is not on disk"
                if item.get("sha512") is None and item.get("tree_sha512") is not None:
                    assert item["tree_sha512"] == tree_sha512_reference(final), (
                        f"{mname}: done bundle {item['path']} records a tree_sha512 that differs"
                    )
                    continue
                assert item.get("sha512") == sha512_file(final), (
                    f"{mname}: done item {item['path']} records a sha512 that differs"
                )
    return state


def assert_complete(out: Path, sb: Sandbox, names: Sequence[str], code: int = 0) -> OutState:
    """Every expected file is final and verified; no .part left; the manifest says done."""
    state = inspect_out(out, sb)
    assert sorted(state.finals) == sorted(names), f"finals {sorted(state.finals)}"
    assert not state.parts and not state.journals, f"leftovers {state.parts + state.journals}"
    assert not state.lock, "the lock file was left behind after a finished run"
    manifest = state.newest_manifest()
    assert manifest.get("exit_code") == code, manifest.get("exit_code")
    statuses = {item["file_name"]: item["status"] for item in manifest["items"]}
    assert set(statuses) == set(names), statuses
    assert set(statuses.values()) <= {"done", "skipped"}, statuses
    return state


def statuses(manifest: dict[str, Any]) -> dict[str, str]:
    """file name -> status of a manifest's items."""
    return {str(item["file_name"]): str(item["status"]) for item in manifest["items"]}


# --- the sandbox's log ---------------------------------------------------------------------


def settle(sb: Sandbox, quiet: float = 0.5, timeout: float = 10.0) -> None:
    """Wait until the sandbox's log stops growing (requests of killed clients get logged
    when the server notices the closed socket)."""
    limit = time.monotonic() + timeout
    count, since = len(sb.records()), time.monotonic()
    while time.monotonic() < limit:
        time.sleep(0.1)
        now_count = len(sb.records())
        if now_count != count:
            count, since = now_count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def file_records(sb: Sandbox, name: str | None = None) -> list[dict[str, Any]]:
    """Download-host records (optionally of one file)."""
    return [
        r
        for r in sb.records()
        if r.get("kind") == "file" and (name is None or r.get("file") == name)
    ]


def api_calls(sb: Sandbox, endpoint: str | None = None) -> list[dict[str, Any]]:
    """API records (optionally of one endpoint)."""
    return [
        r
        for r in sb.records()
        if r.get("kind") == "api" and (endpoint is None or r.get("endpoint") == endpoint)
    ]


def sent_per_file(sb: Sandbox) -> dict[str, tuple[int, int]]:
    """file name -> (body bytes the host sent, GET requests that reached the body stage)."""
    totals: dict[str, tuple[int, int]] = {}
    for rec in file_records(sb):
        name = rec.get("file")
        if not name or rec.get("method") != "GET":
            continue
        sent, count = totals.get(str(name), (0, 0))
        totals[str(name)] = (sent + int(rec.get("bytes") or 0), count + 1)
    return totals


def placed(out: Path, name: str) -> Path:
    """Where the default (scene) layout puts a downloaded file: ``OUT/<display id>/NAME``
    for single files, ``OUT/NAME`` for bundles."""
    return out / name if name.endswith(".tar") else out / name[:40] / name


def files_under(out: Path, pattern: str = "*") -> list[Path]:
    """Files matching ``pattern`` in ``out`` and in its scene folders, sorted by name."""
    found = [*out.glob(pattern), *out.glob(f"*/{pattern}")]
    return sorted((p for p in found if p.is_file()), key=lambda p: p.name)


def assert_server_state_removed(sb: Sandbox, manifest: dict[str, Any]) -> None:  # Any: JSON
    """The run named in ``manifest`` left nothing on the server: each of its scene lists was
    removed by one ``scene-list-remove``, its order (if it made a ``download-request``; perhaps
    also if the signal came just before one) by one ``download-order-remove``, and the sandbox
    holds neither a list of the run nor a queue item under its label."""
    settle(sb)
    label, lists = manifest.get("label"), manifest.get("scene_lists")
    assert isinstance(label, str) and label, f"the manifest names no label: {label!r}"
    assert isinstance(lists, list) and lists, f"the manifest names no scene list: {lists!r}"
    requested = len(api_calls(sb, "download-request"))
    assert requested <= 1, f"{requested} download-request calls"
    list_removals = api_calls(sb, "scene-list-remove")
    order_removals = api_calls(sb, "download-order-remove")
    assert len(list_removals) == len(lists), f"{len(list_removals)} scene-list-remove for {lists}"
    # A signal between the run's decision to request and the request itself still removes
    # the order the server may have made (workflow/download.py sets ``requested`` first):
    # one removal without a logged download-request is right, none after one is not.
    assert len(order_removals) == 1 if requested else len(order_removals) <= 1, (
        f"{len(order_removals)} download-order-remove after {requested} download-request"
    )
    assert all(r["status"] == 200 for r in [*list_removals, *order_removals])
    state = sb.app.state
    assert not state.user_items(USER, label), f"queue items under {label} are left"
    for list_id in lists:
        assert state.scene_list(USER, list_id) is None, f"scene list {list_id} is left"


def assert_unfinished_pending_with_part(out: Path, manifest: dict[str, Any]) -> None:  # Any: JSON
    """Every file the stopped run did not finish is ``pending``, its ``.part`` kept."""
    unfinished = {n: s for n, s in statuses(manifest).items() if s != "done"}
    assert unfinished, "the run finished every file before the signal: nothing was tested"
    assert set(unfinished.values()) == {"pending"}, unfinished
    for name in unfinished:
        part = placed(out, name).with_name(name + ".part")
        assert part.is_file(), f"{name} is pending but its .part is gone"
