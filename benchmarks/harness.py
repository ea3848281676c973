"""Measurement primitives: constants, one measured process, sync and settle, files, work dir.

Everything here is independent of the cases: ``run_measured`` runs one process and returns
its wall time, rusage and peak RSS; the helpers prepare files and directories; ``work_dir``
and ``on_term`` make sure a run cleans up after itself (also on Ctrl-C and SIGTERM).
Only the standard library is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

MIB = 1 << 20
GIB = 1 << 30
CAP = 20 * MIB  # nginx "limit_rate 20m" is 20 MiB/s per connection
T = TypeVar("T")
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
BBOX = ("-150.5", "61.0", "-149.5", "61.5")  # Anchorage; 182 scenes in 2024 in the sandbox
DATES = ("--start", "2024-01-01", "--end", "2024-12-31")
RUN_TIMEOUT = 600.0  # seconds; no single run may take longer
GNU_TIME = "/usr/bin/time"


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


@dataclass(frozen=True)
class Measured:
    """What ``run_measured`` observed of one process."""

    wall: float  # seconds from just before fork to just after wait4
    user: float
    sys: float
    rc: int
    maxrss_kib: int


def in_turn(tools: Sequence[T], rnd: int) -> list[T]:
    """Round ``rnd``'s order (from 1): the tool list rotated by one more each round.

    In a fixed order every tool follows the same one, and a run pays for what its
    predecessor left: deleting its 1 GiB output (ext4 mounted with ``discard`` trims the
    freed blocks), dirty pages, a warm or cold cache. Rotating spreads that over the tools.
    """
    k = (rnd - 1) % max(1, len(tools))
    return [*tools[k:], *tools[:k]]


def run_measured(
    cmd: Sequence[str],
    env: dict[str, str] | None = None,
    log: Path | None = None,
    timeout: float = RUN_TIMEOUT,
) -> Measured:
    """Run ``cmd``; return its wall time, CPU, exit code and peak RSS.

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
    return Measured(wall, usage.ru_utime, usage.ru_stime, proc.returncode, maxrss)


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


def sha512_hex(path: Path) -> str:
    """SHA-512 of a file (unmeasured: what the checksum-verifying tools are given).

    Deliberately not m2mdl's own hashing helper: the reference digest must not come from the
    code under test.
    """
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        while chunk := fh.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def size_label(n: int) -> str:
    """``1 GiB``, ``100 MiB``."""
    return f"{n / GIB:g} GiB" if n >= GIB else f"{n / MIB:g} MiB"


class Interrupted(BaseException):
    """SIGTERM arrived (a BaseException, like KeyboardInterrupt: no case may swallow it)."""


def on_term(signum: int, frame: FrameType | None) -> None:
    """SIGTERM handler: unwind through every ``finally`` (servers stop, work dir goes)."""
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


#: What ``pip install`` needs of a revision: the package and the files pyproject.toml names.
BUILD_FILES = ("pyproject.toml", "README.md", "LICENSE", "m2mdl")


@dataclass(frozen=True)
class Build:
    """One m2mdl build installed in a virtualenv of its own (``pip install``, not editable)."""

    rev: str  #: short commit hash, or ``"working tree"``
    bindir: Path  #: the venv's ``bin``: its ``python`` and ``m2mdl``


def install_build(src: Path, venv: Path, rev: str) -> Build:
    """``pip install SRC`` into a new venv, with the dependencies SRC's pyproject declares.

    Both sides of a comparison are installed the same way, as a user installs m2mdl: an
    editable install would add its import finder (about 15 ms) to every start, and pip
    writes the bytecode (PYTHONDONTWRITEBYTECODE, set on some machines, would otherwise make
    every measured process compile m2mdl from source).

    Raises:
        RuntimeError: pip failed.
    """
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(src)]
    installed = subprocess.run(pip, capture_output=True, text=True)
    if installed.returncode != 0:
        raise RuntimeError(f"pip install of m2mdl {rev} failed: {installed.stderr[-300:]}")
    return Build(rev, venv / "bin")


def snapshot_sources(work: Path) -> tuple[Path, Build]:
    """Copy the working tree's m2mdl into the work directory and install that copy.

    Other people may edit the (editable) checkout while the benchmark runs; the snapshot
    keeps all rounds on the same code. The measured m2mdl runs from the snapshot's venv; the
    sandbox and this process import the snapshot's sources (PYTHONPATH, ``sys.path``).
    Returns the package directory and the build.
    """
    root = work / "snapshot"
    root.mkdir(parents=True)
    for name in BUILD_FILES:
        src = REPO / name
        if src.is_dir():
            skip = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(src, root / name, ignore=skip)
        else:
            shutil.copy2(src, root / name)
    build = install_build(root, work / "venv-now", "working tree")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p
    )
    sys.path.insert(0, str(root))
    return root / "m2mdl", build


def baseline_sources(work: Path, rev: str) -> Build:
    """Install m2mdl as it was at ``rev`` (``git archive``) in a venv of its own.

    Raises:
        RuntimeError: ``rev`` is not a revision of this repository, or it does not install.
    """
    src = work / "baseline"
    src.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(REPO)]
    found = subprocess.run(
        [*git, "rev-parse", "--short", f"{rev}^{{commit}}"], capture_output=True, text=True
    )
    if found.returncode != 0:
        raise RuntimeError(f"--baseline {rev}: not a revision here ({found.stderr.strip()})")
    short = found.stdout.strip()
    archive = subprocess.run(
        [*git, "archive", short, *BUILD_FILES], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    return install_build(src, work / "venv-before", short)


def source_fingerprint(root: Path) -> str:
    """sha256 over a copy of m2mdl's sources (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
