"""The tar's tree digest (m2mdl/transfer/tarscan.py): one hash per byte of a bundle.

Checked against an independent reference built on ``tarfile`` (tests/tarref.py), and computed
the same way by the streaming hasher, by a resumed catch-up from disk, by ``hash_file`` and by
a download through the engine.
"""

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
    hash_file,
    run_transfers,
)
from m2mdl.transfer.errors import ChecksumMismatch
from m2mdl.transfer.hashing import ASYNC_MIN, InOrderHasher
from m2mdl.transfer.journal import load_journal
from m2mdl.transfer.partfile import PartFile
from m2mdl.transfer.tarscan import BLOCK, TarScanner

from ..tarref import tree_sha512_reference
from .faultserver import FaultServer, make_bytes
from .support import RecordingSink, leftovers

MEMBERS = {
    "x_B1.TIF": make_bytes(70_000, seed=2),
    "x_stac.json": b'{"x": 1}',
    "empty.txt": b"",
    "d" * 150 + ".TIF": make_bytes(3000, seed=3),  # a pax long name
}


def _tar(
    members: dict[str, bytes], *, trailing: bytes = b"", fmt: int = tarfile.PAX_FORMAT
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        folder = tarfile.TarInfo("sub")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
    return buffer.getvalue() + trailing


def _scan(blob: bytes, step: int) -> str:
    scanner = TarScanner()
    for offset in range(0, len(blob), step):
        scanner.feed(blob[offset : offset + step])
    return scanner.tree_hexdigest()


def _reference(tmp_path: Path, blob: bytes) -> str:
    path = tmp_path / "ref.tar"
    path.write_bytes(blob)
    return tree_sha512_reference(path)


def _offsets(blob: bytes) -> dict[str, int]:
    """Where to flip a byte: in a header, in padding, in a member, in trailing bytes."""
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        infos = {i.name: i for i in tar.getmembers()}
    big = infos["x_B1.TIF"]
    return {
        "header-name": big.offset_data - BLOCK,  # first byte of its ustar name field
        "padding": big.offset_data + big.size + 10,
        "member": big.offset_data + big.size // 2,
        "end-blocks": len(blob) - 2000,
        "trailing": len(blob) - 1,
    }


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
@pytest.mark.parametrize("step", [1, 100, 512, 4096, 10**6])
def test_tree_digest_equals_the_reference_in_any_block_size(
    tmp_path: Path, step: int, fmt: int
) -> None:
    members = MEMBERS if fmt != tarfile.USTAR_FORMAT else {"a.TIF": MEMBERS["x_B1.TIF"]}
    blob = _tar(members, trailing=b"trailing bytes", fmt=fmt)
    digest = _scan(blob, step)
    assert digest == _reference(tmp_path, blob)
    assert digest == _scan(blob, 777)  # the same bytes: the same digest
    assert digest != hashlib.sha512(blob).hexdigest()  # not the SHA-512 of the file


@pytest.mark.parametrize("where", ["header-name", "padding", "member", "end-blocks", "trailing"])
def test_one_flipped_byte_anywhere_changes_the_tree_digest(tmp_path: Path, where: str) -> None:
    blob = _tar(MEMBERS, trailing=b"\x00" * 100 + b"tail")
    damaged = bytearray(blob)
    damaged[_offsets(blob)[where]] ^= 0x01
    assert _scan(bytes(damaged), 4096) != _scan(blob, 4096)


def test_a_damaged_header_still_fingerprints_the_rest() -> None:
    blob = _tar(MEMBERS)
    damaged = bytearray(blob)
    damaged[100] ^= 0xFF  # the first header's checksum no longer matches
    later = bytearray(damaged)
    later[-1] ^= 0x01  # and one byte at the very end
    scanner = TarScanner()
    scanner.feed(bytes(damaged))
    assert scanner.finish().problem
    assert _scan(bytes(damaged), 512) != _scan(bytes(later), 512)


def test_a_tar_without_regular_members_has_its_sha512_as_tree_digest() -> None:
    blob = _tar({})
    assert _scan(blob, 512) == hashlib.sha512(blob).hexdigest()


def test_a_tar_cut_inside_a_member_differs_from_the_whole() -> None:
    blob = _tar(MEMBERS)
    cut = blob[: _offsets(blob)["member"]]
    assert _scan(cut, 4096) != _scan(blob, 4096)


def _hasher(*, whole_file: bool = False) -> InOrderHasher:
    hasher = InOrderHasher()
    hasher.scan_tar(whole_file=whole_file)
    return hasher


def test_streaming_catch_up_and_hash_file_give_the_same_tree_digest(tmp_path: Path) -> None:
    blob = _tar({**MEMBERS, "big.TIF": make_bytes(3 * ASYNC_MIN + 5, seed=9)})
    path = tmp_path / "b.tar"
    path.write_bytes(blob)
    want = tree_sha512_reference(path)

    streamed = _hasher()  # in the helper thread (large blocks) and inline (small ones)
    for offset in range(0, len(blob), ASYNC_MIN + 1000):
        streamed.submit(offset, blob[offset : offset + ASYNC_MIN + 1000])
    resumed = _hasher()  # a prefix read back from disk, then the stream
    cut = len(blob) // 3
    with path.open("rb") as handle:
        resumed.catch_up(handle.fileno(), cut)
        resumed.submit(cut, blob[cut:])
        on_disk = _hasher()
        on_disk.catch_up(handle.fileno(), len(blob))
    found = hash_file(path, scan_tar=True)
    try:
        digests = {h.hexdigest() for h in (streamed, resumed, on_disk)}
    finally:
        streamed.close()
        resumed.close()
    assert digests == {want} and found.tree_sha512 == want
    assert found.sha512 is None and streamed.sha512_hexdigest() is None
    assert found.contents is not None and found.contents.complete
    assert found.contents.digests == {
        n: hashlib.sha512(d).hexdigest() for n, d in blob_members(blob)
    }


def blob_members(blob: bytes) -> list[tuple[str, bytes]]:
    """(name, data) of each regular member, read with ``tarfile``."""
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        return [
            (i.name, tar.extractfile(i).read())  # type: ignore[union-attr]
            for i in tar.getmembers()
            if i.isreg()
        ]


def test_whole_file_keeps_the_sha512_and_the_tree_digest(tmp_path: Path) -> None:
    blob = _tar(MEMBERS)
    path = tmp_path / "b.tar"
    path.write_bytes(blob)
    hasher = _hasher(whole_file=True)
    hasher.feed(0, blob)
    found = hash_file(path, scan_tar=True, whole_file=True)
    assert hasher.whole_file and not _hasher().whole_file
    assert hasher.hexdigest() == found.sha512 == hashlib.sha512(blob).hexdigest()
    assert hasher.tree_hexdigest() == found.tree_sha512 == tree_sha512_reference(path)
    plain = hash_file(path)  # not scanned: the SHA-512 alone
    assert (plain.sha512, plain.tree_sha512, plain.contents) == (found.sha512, None, None)


def test_reset_starts_the_tree_digest_over() -> None:
    blob = _tar(MEMBERS)
    hasher = _hasher()
    hasher.feed(0, b"garbage" * 100)
    hasher.reset()
    hasher.feed(0, blob)
    assert hasher.hexdigest() == _scan(blob, 512) and not hasher.whole_file


def _publish(tmp_path: Path, blob: bytes, expected: str | None) -> tuple[int, str, object]:
    part = PartFile.open(tmp_path / "b.tar", "http://127.0.0.1/b.tar", None, 2**20, scan_tar=True)
    try:
        part.adopt(len(blob), None, None)
        part.write(0, blob)
        return part.publish(expected_size=len(blob), kind="tar", expected_sha512=expected)
    finally:
        part.close()


def test_publish_returns_the_tree_digest_of_a_scanned_tar(tmp_path: Path) -> None:
    blob = _tar(MEMBERS)
    size, digest, _ = _publish(tmp_path, blob, None)
    assert (size, digest) == (len(blob), tree_sha512_reference(tmp_path / "b.tar"))


def test_publish_checks_a_scanned_tars_own_sha512_when_one_is_expected(tmp_path: Path) -> None:
    blob = _tar(MEMBERS)
    whole = hashlib.sha512(blob).hexdigest()
    _, digest, _ = _publish(tmp_path, blob, whole.upper())
    assert digest == whole and (tmp_path / "b.tar").read_bytes() == blob
    (tmp_path / "b.tar").unlink()
    with pytest.raises(ChecksumMismatch) as caught:
        _publish(tmp_path, blob, "1" * 128)
    assert caught.value.digest == whole and not (tmp_path / "b.tar").exists()


def _check(contents: TarContents) -> MemberVerdict:
    return MemberVerdict({name: "test" for name in contents.digests}, ())


@pytest.mark.parametrize("resumed", [False, True], ids=["one-stream", "resumed"])
def test_a_downloaded_bundle_carries_its_tree_digest(
    server: FaultServer, fast: TransferOptions, tmp_path: Path, resumed: bool
) -> None:
    blob = _tar({**MEMBERS, "big.TIF": make_bytes(3_000_000, seed=4)})
    server.add("b.tar", blob)
    dest = tmp_path / "b.tar"
    options = dataclasses.replace(fast, segment_min_size=10**12)
    if resumed:  # a first run stops after 1 MB; the rerun hashes the vouched prefix from disk
        stop = threading.Event()
        first = FileJob(
            "k", server.url("b.tar", rate=8_000_000), dest, kind="tar", check_members=_check
        )
        with pytest.raises(TransferInterrupted):
            run_transfers(
                [first], options, RecordingSink(at_bytes=1_000_000, action=stop.set), stop=stop
            )
        journal = load_journal(tmp_path / "b.tar.part.json")
        assert journal is not None and journal.ranges[0][1] > 0
        server.wait_idle()
    job = FileJob("k", server.url("b.tar", t="again"), dest, kind="tar", check_members=_check)
    assert job.tree_digest and not dataclasses.replace(job, expected_sha512="0" * 128).tree_digest
    [result] = run_transfers([job], options, RecordingSink())
    assert result.ok and dest.read_bytes() == blob and leftovers(tmp_path) == []
    assert (
        result.sha512 == tree_sha512_reference(dest) == hash_file(dest, scan_tar=True).tree_sha512
    )
    assert result.members_sha512 == {
        n: hashlib.sha512(d).hexdigest() for n, d in blob_members(blob)
    }
