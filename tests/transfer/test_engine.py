"""The engine against the fault server: one table of scenarios (docs/design.md §Transfer engine:
peer behaviour under faults).

Every case checks the final sha512 (or that no final file exists), that no side files are
left behind after success, the result's ok/error_kind, and where it matters how many body
bytes the server sent beyond the file size (counted on the server side).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from m2mdl.transfer import FileJob, TransferOptions, run_transfers

from .faultserver import FaultServer, make_bytes, mutate, sha512
from .support import RecordingSink, leftovers

SMALL = 300_000  # below segment_min_size (1 MiB in the fast options): one stream
LARGE = 3_000_000  # split into 4 segments
TAR = (b"\x00" * 257 + b"ustar\x0000").ljust(SMALL, b"\x01")


@dataclass
class Case:
    id: str
    faults: dict[str, Any] = field(default_factory=dict)
    size: int = SMALL
    ok: bool = True
    kind: str | None = None  # the result's error_kind
    content: str = "orig"  # "orig" or "mutated": which version must be published
    max_resent: int | None = 0  # server bytes beyond the size; None: not checked
    job: dict[str, Any] = field(default_factory=dict)
    opts: dict[str, Any] = field(default_factory=dict)
    attempts: tuple[int, int] = (1, 99)  # inclusive bounds on result.attempts
    data: bytes | None = None
    refresh: str | None = None  # "ok": refresh_url returns a clean URL; "raise": it raises


PACED = {"rate": 20_000_000}  # keeps in-flight data (lost by an RST) small

CASES = [
    Case("plain-small", attempts=(1, 1)),
    Case("plain-large-split", size=LARGE, attempts=(4, 4)),
    Case("large-no-expected-size", size=LARGE, job={"expected_size": None}, max_resent=None),
    Case("zero-bytes", size=0, job={"expected_size": 0}),
    Case("drop-resumes", {"drop_after": 150_000, **PACED}, max_resent=256 * 1024),
    Case("drop-3-times", {"drop_after": 50_000, "drop_times": 3, **PACED}, max_resent=400_000),
    Case("drop-large", {"drop_after": 400_000, **PACED}, size=LARGE, max_resent=512 * 1024),
    Case("503-retry-after", {"fail": "503:2", "retry_after": 0}, attempts=(3, 3)),
    Case("429-retry-after", {"fail": "429:2", "retry_after": 0}, attempts=(3, 3)),
    Case("500-then-ok", {"fail": "500:3"}, attempts=(4, 4)),
    Case("500-forever", {"fail": "500:99"}, ok=False, kind="http", attempts=(4, 4)),
    Case("404", {}, ok=False, kind="http", attempts=(1, 1), job={"url_name": "missing"}),
    Case("html200-once", {"html200": 1}, attempts=(2, 2)),
    Case("html200-forever", {"html200": 99}, ok=False, kind="http", attempts=(4, 4)),
    Case("json-page", {"ctype": "application/json"}, ok=False, kind="http", max_resent=None),
    Case("403-no-refresh", {"forbid": 1}, ok=False, kind="http", attempts=(1, 1)),
    Case("403-refresh", {"forbid": 1}, refresh="ok", attempts=(2, 2)),
    Case("403-refresh-raises", {"forbid": 1}, ok=False, kind="refresh", refresh="raise"),
    Case("html-refresh", {"html200": 99}, refresh="ok", attempts=(2, 2)),
    Case("ignore-range", {"ignore_range": 1}, size=LARGE, attempts=(1, 1)),
    Case(
        "ignore-range-drop",
        {"ignore_range": 1, "drop_after": 100_000, **PACED},
        max_resent=100_000,
    ),
    Case(
        "mutate-after-drop",
        {"mutate_after": 1, "drop_after": 100_000, **PACED},
        content="mutated",
        max_resent=None,
    ),
    Case(
        "mutate-large-segments",
        {"mutate_after": 1, "drop_after": 200_000, **PACED},
        size=LARGE,
        content="mutated",
        max_resent=None,
    ),
    Case("no-validators-drop", {"no_validators": 1, "drop_after": 100_000, **PACED}),
    Case("nocl", {"nocl": 1}, attempts=(1, 1)),
    Case("nocl-drop", {"nocl": 1, "drop_after": 100_000, **PACED}, max_resent=256 * 1024),
    Case("nocl-no-size", {"nocl": 1}, job={"expected_size": None}),
    Case("wrong-range-start", {"wrong_start": 5}, max_resent=None),
    Case("wrong-range-start-large", {"wrong_start": 7}, size=LARGE, max_resent=None),
    Case("stall", {"stall_after": 100_000, "stall_for": 20}),
    Case("trickle", {"trickle_after": 100_000, "trickle_times": 1}, max_resent=None),
    Case("wrong-expected-size", job={"expected_size": SMALL + 1}, ok=False, kind="integrity"),
    Case("tar-ok", data=TAR, job={"kind": "tar"}),
    Case("tar-magic-wrong", job={"kind": "tar"}, ok=False, kind="integrity"),
    Case("tiff-magic-wrong", job={"kind": "tiff"}, ok=False, kind="integrity"),
    Case(
        "sha-mismatch",
        job={"expected_sha512": "0" * 128},
        ok=False,
        kind="checksum_mismatch",
        attempts=(2, 2),
        max_resent=None,
    ),
    # A legal shorter 206 is progress: 12 short answers with a budget of 4 attempts.
    Case("short-206", {"short206": 25_000}, attempts=(12, 12)),
    Case("short-206-large", {"short206": 200_000}, size=LARGE, max_resent=None),
    Case("verify-tls-off", opts={"verify_tls": False}),
    Case("gzip-encoding", {"cenc": "gzip"}, ok=False, kind="http", attempts=(1, 1)),
    Case("identity-encoding", {"cenc": "identity"}),
    Case("star-total", {"star_total": 1}, size=LARGE, max_resent=None),
    Case("weak-etag-drop", {"weak_etag": 1, "drop_after": 100_000, **PACED}),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_scenario(case: Case, server: FaultServer, fast: TransferOptions, tmp_path: Path) -> None:
    data = case.data if case.data is not None else make_bytes(case.size, seed=len(case.id))
    server.add("f.bin", data)
    job_kw = {"expected_size": len(data), **case.job}
    url_name = job_kw.pop("url_name", "f.bin")
    refresh = _refresh(case, server) if case.refresh else None
    url = server.url(url_name, t=case.id, **case.faults)
    job = FileJob("k", url, tmp_path / "f.bin", refresh_url=refresh, **job_kw)
    options = dataclasses.replace(fast, max_attempts=4, **case.opts)
    sink = RecordingSink()

    [result] = run_transfers([job], options, sink)

    assert result.ok is case.ok, result
    assert result.error_kind == case.kind
    assert case.attempts[0] <= result.attempts <= case.attempts[1], result
    assert sink.finished == [result]
    dest = tmp_path / "f.bin"
    if case.ok:
        want = data if case.content == "orig" else mutate(data)
        assert sha512(dest.read_bytes()) == sha512(want) == result.sha512
        assert result.size == len(want)
        assert leftovers(tmp_path) == []
        assert result.error is None
    else:
        assert not dest.exists()
        assert result.error and "\n" not in result.error and "t=" not in result.error
        assert not list(tmp_path.glob("*.m2mdl-tmp"))
    if case.max_resent is not None:
        assert server.sent("f.bin") - len(data) <= case.max_resent


def _refresh(case: Case, server: FaultServer) -> Any:
    def refresh() -> str:
        if case.refresh == "raise":
            raise RuntimeError("download-retrieve failed for https://m2m/x?apiKey=SECRET")
        return server.url("f.bin", t=case.id + "-fresh")

    return refresh


def test_requests_carry_identity_and_if_range(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(SMALL)
    server.add("f.bin", data)
    url = server.url("f.bin", drop_after=100_000, **PACED)
    [result] = run_transfers([FileJob("k", url, tmp_path / "f.bin")], fast, RecordingSink())
    assert result.ok
    first, second = server.entries("f.bin")
    assert first.range == "bytes=0-" and first.if_range is None
    assert second.range is not None and second.range.startswith("bytes=")
    assert second.if_range == f'"{SMALL:x}-v0"'  # the strong ETag wins over Last-Modified
    assert {entry.accept_encoding for entry in (first, second)} == {"identity"}


def test_weak_etag_uses_last_modified_for_if_range(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    server.add("f.bin", make_bytes(SMALL))
    url = server.url("f.bin", weak_etag=1, drop_after=100_000, **PACED)
    [result] = run_transfers([FileJob("k", url, tmp_path / "f.bin")], fast, RecordingSink())
    assert result.ok
    second = server.entries("f.bin")[1]
    assert second.status == 206 and second.if_range is not None
    assert second.if_range.endswith("GMT")


def test_many_files_share_workers(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    files = {f"f{i}.bin": make_bytes(200_000 + i, seed=i) for i in range(9)}
    for name, data in files.items():
        server.add(name, data)
    jobs = [
        FileJob(name, server.url(name, fail="503:1"), tmp_path / name, expected_size=len(data))
        for name, data in files.items()
    ]
    results = run_transfers(jobs, fast, RecordingSink())
    assert [result.key for result in results] == list(files)  # job order
    assert all(result.ok for result in results)
    for name, data in files.items():
        assert sha512((tmp_path / name).read_bytes()) == sha512(data)


def test_partial_failure_does_not_raise(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    server.add("good.bin", make_bytes(1000))
    jobs = [
        FileJob("bad", server.url("nope.bin"), tmp_path / "bad.bin"),
        FileJob("good", server.url("good.bin"), tmp_path / "good.bin"),
    ]
    bad, good = run_transfers(jobs, fast, RecordingSink())
    assert (bad.ok, bad.error_kind, good.ok) == (False, "http", True)


def test_duplicate_destinations_rejected(fast: TransferOptions, tmp_path: Path) -> None:
    jobs = [FileJob("a", "http://x/a", tmp_path / "a"), FileJob("b", "http://x/b", tmp_path / "a")]
    with pytest.raises(ValueError, match="same destination"):
        run_transfers(jobs, fast, RecordingSink())


def test_connection_refused_is_network(fast: TransferOptions, tmp_path: Path) -> None:
    with FaultServer() as gone:
        url = gone.url("f.bin", t="secret")  # the port is closed once the server stops
    options = dataclasses.replace(fast, max_attempts=2)
    [result] = run_transfers([FileJob("k", url, tmp_path / "f.bin")], options, RecordingSink())
    assert (result.ok, result.error_kind, result.attempts) == (False, "network", 2)
    assert result.error is not None and "secret" not in result.error
    assert result.error.endswith(" (gave up after 2 attempts)")  # said once, not twice


@pytest.mark.parametrize(
    ("files", "size", "workers", "min_requests"),
    [(8, 300_000, 3, 16), (1, LARGE, 2, 2), (2, LARGE, 4, 4)],
    ids=["files-first", "segments-share-the-limit", "two-files-two-segments-each"],
)
def test_never_more_connections_than_workers(
    server: FaultServer,
    fast: TransferOptions,
    tmp_path: Path,
    files: int,
    size: int,
    workers: int,
    min_requests: int,
) -> None:
    datas = {f"f{i}.bin": make_bytes(size, seed=i) for i in range(files)}
    for name, data in datas.items():
        server.add(name, data)
    jobs = [
        FileJob(name, server.url(name, fail="503:1"), tmp_path / name, expected_size=size)
        for name in datas
    ]
    options = dataclasses.replace(fast, workers=workers, adaptive_successes=1)
    results = run_transfers(jobs, options, RecordingSink())
    assert all(result.ok for result in results)
    for name, data in datas.items():
        assert sha512((tmp_path / name).read_bytes()) == sha512(data)
    assert server.max_active <= workers
    assert len(server.log) >= min_requests


def test_expired_url_is_refreshed_once_for_all_segments(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(LARGE)
    server.add("f.bin", data)
    calls: list[str] = []

    def refresh() -> str:
        calls.append("x")
        return server.url("f.bin", t="fresh")

    url = server.url("f.bin", forbid_from=1)  # the first segment's request works, then 403
    job = FileJob("k", url, tmp_path / "f.bin", expected_size=LARGE, refresh_url=refresh)
    [result] = run_transfers([job], fast, RecordingSink())
    assert result.ok and result.sha512 == sha512(data)
    assert calls == ["x"]
    assert 403 in [entry.status for entry in server.entries("f.bin")]
    assert server.sent("f.bin") == LARGE  # resumed with the stored validators: no restart
