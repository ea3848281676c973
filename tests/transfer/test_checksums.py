"""The engine against an expected SHA-512: refetch on mismatch, keep aside when stale."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import threading
from pathlib import Path

import pytest

from m2mdl.transfer import (
    FileJob,
    MemberVerdict,
    TarContents,
    TransferInterrupted,
    TransferOptions,
    run_transfers,
)
from m2mdl.transfer.errors import digest_difference
from m2mdl.transfer.journal import load_journal
from m2mdl.transfer.tarscan import TarScanner

from .faultserver import FaultServer, make_bytes
from .support import RecordingSink, leftovers

SIZE = 300_000


def _sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def _run(server: FaultServer, fast: TransferOptions, dest: Path, **kw: object) -> object:
    faults = kw.pop("faults", {})
    assert isinstance(faults, dict)
    job = FileJob("k", server.url("f.bin", **faults), dest, **kw)  # type: ignore[arg-type]
    [result] = run_transfers([job], dataclasses.replace(fast, max_attempts=4), RecordingSink())
    return result


def test_matching_digest_is_recorded_as_checked(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    result = _run(server, fast, tmp_path / "f.bin", expected_sha512=_sha512(data))
    assert result.ok and result.checksum_checked and result.sha512 == _sha512(data)  # type: ignore[attr-defined]


def test_flipped_byte_is_refetched_from_zero(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    dest = tmp_path / "f.bin"
    result = _run(
        server, fast, dest, expected_sha512=_sha512(data), faults={"t": "flip", "flip_times": 1}
    )
    assert result.ok and dest.read_bytes() == data  # type: ignore[attr-defined]
    assert server.sent("f.bin") == 2 * SIZE  # one complete download thrown away
    assert leftovers(tmp_path) == []


def test_same_wrong_bytes_twice_are_kept_aside(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    dest = tmp_path / "f.bin"
    result = _run(server, fast, dest, expected_sha512="1" * 128)
    assert not result.ok and result.error_kind == "checksum_mismatch"  # type: ignore[attr-defined]
    assert "may be stale" in result.error and "f.bin.checksum-mismatch" in result.error  # type: ignore[attr-defined]
    assert not dest.exists()
    assert (tmp_path / "f.bin.checksum-mismatch").read_bytes() == data
    assert server.sent("f.bin") == 2 * SIZE  # exactly two complete downloads, no loop
    assert leftovers(tmp_path) == []


def test_different_wrong_bytes_each_time_stop_after_the_budget(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    data = make_bytes(SIZE)
    server.add("f.bin", data)
    dest = tmp_path / "f.bin"
    # mutate_after=1 changes the content from the second request on: three different
    # answers are impossible here, so expect "same bytes twice" after the second.
    result = _run(
        server, fast, dest, expected_sha512=_sha512(b"x"), faults={"t": "m", "mutate_after": 1}
    )
    assert not result.ok and result.error_kind == "checksum_mismatch"  # type: ignore[attr-defined]
    assert result.error.startswith("SHA-512 ")  # type: ignore[attr-defined]
    assert ": 3 downloads gave the same bytes" in result.error  # type: ignore[attr-defined]
    assert server.sent("f.bin") == 3 * SIZE
    assert not dest.exists()


def test_damaged_prefix_vouched_by_the_journal_is_caught(
    server: FaultServer, fast: TransferOptions, tmp_path: Path
) -> None:
    size = 4_000_000
    data = make_bytes(size)
    server.add("f.bin", data)
    dest = tmp_path / "f.bin"
    options = dataclasses.replace(fast, segment_min_size=10**12)
    stop = threading.Event()
    job = FileJob("k", server.url("f.bin", rate=8_000_000), dest, expected_size=size)
    with pytest.raises(TransferInterrupted):
        run_transfers([job], options, RecordingSink(at_bytes=1_000_000, action=stop.set), stop=stop)
    journal = load_journal(tmp_path / "f.bin.part.json")
    assert journal is not None and journal.ranges[0][1] >= 8192
    part = tmp_path / "f.bin.part"
    with part.open("r+b") as handle:  # 4 KiB of damage inside the vouched prefix
        handle.seek(4096)
        handle.write(b"\x00" * 4096)
    server.wait_idle()
    again = FileJob(
        "k", server.url("f.bin", t="again"), dest, expected_size=size, expected_sha512=_sha512(data)
    )
    [result] = run_transfers([again], options, RecordingSink())
    assert result.ok and dest.read_bytes() == data
    assert leftovers(tmp_path) == []


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.mark.parametrize("step", [1, 511, 512, 4096, 10**6])
def test_tar_scanner_hashes_members_in_any_block_size(step: int) -> None:
    members = {
        "a.TIF": make_bytes(70_000, seed=2),
        "b_stac.json": b'{"x": 1}',
        "empty.txt": b"",
        "d" * 150 + ".TIF": make_bytes(1000, seed=3),  # a pax long name
    }
    blob = _tar(members)
    scanner = TarScanner()
    for offset in range(0, len(blob), step):
        scanner.feed(blob[offset : offset + step])
    contents = scanner.finish()
    assert contents.complete and contents.problem is None
    assert contents.digests == {name: _sha512(body) for name, body in members.items()}
    assert contents.captured == {"b_stac.json": b'{"x": 1}'}


def test_tar_scanner_reports_a_damaged_header() -> None:
    blob = bytearray(_tar({"a.TIF": b"1" * 600}))
    blob[100] ^= 0xFF  # inside the first header (mode field)
    scanner = TarScanner()
    scanner.feed(bytes(blob))
    assert not scanner.finish().complete and scanner.contents.problem


@pytest.mark.parametrize("bad", [False, True], ids=["ok", "member-mismatch"])
def test_tar_members_are_checked_before_publishing(
    server: FaultServer, fast: TransferOptions, tmp_path: Path, bad: bool
) -> None:
    members = {"x_B1.TIF": make_bytes(50_000, seed=5), "x_MTL.txt": b"GROUP = X\nEND\n"}
    blob = _tar(members)
    server.add("f.tar", blob)
    want = {name: _sha512(body) for name, body in members.items()}
    if bad:
        want["x_B1.TIF"] = "2" * 128
    seen: list[TarContents] = []

    def check(contents: TarContents) -> MemberVerdict:
        seen.append(contents)
        wrong = tuple(n for n, d in contents.digests.items() if want[n] != d)
        return MemberVerdict({n: "test" for n in contents.digests}, wrong)

    dest = tmp_path / "f.tar"
    job = FileJob("k", server.url("f.tar"), dest, kind="tar", check_members=check)
    [result] = run_transfers([job], fast, RecordingSink())
    if bad:
        assert result.error_kind == "checksum_mismatch" and "x_B1.TIF" in (result.error or "")
        assert not dest.exists() and (tmp_path / "f.tar.checksum-mismatch").exists()
        assert len(seen) == 2
    else:
        assert result.ok and result.members == {"x_B1.TIF": "test", "x_MTL.txt": "test"}
        assert result.members_sha512 == want


@pytest.mark.parametrize(
    ("got", "expected", "line"),
    [
        (
            "0123456789abcdef" + "0" * 112,
            "fedcba9876543210" + "0" * 112,
            "SHA-512 0123456789abcdef… differs from the expected fedcba9876543210…",
        ),
        (
            "a" * 127 + "b",
            "a" * 127 + "c",
            "SHA-512 …aaaaaaaaaaaaaaab differs from the expected …aaaaaaaaaaaaaaac",
        ),
        (
            "a" * 64 + "1" + "a" * 63,
            "A" * 64 + "2" + "a" * 63,
            "SHA-512 …aaaaaaaa1aaaaaaa… differs from the expected …aaaaaaaa2aaaaaaa…",
        ),
    ],
)
def test_a_mismatch_shows_where_the_digests_differ(got: str, expected: str, line: str) -> None:
    assert digest_difference(got, expected) == line
