"""``--extract``: every member verified before it gets its final name; safe to kill; hostile
tars refused."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from m2mdl.errors import DiskFull
from m2mdl.extract import (
    MARKER,
    ExtractError,
    MemberResult,
    UnsafeArchive,
    bundle_checksums,
    extract_bundle,
    extracted,
    read_members,
)
from m2mdl.sandbox.core import Sandbox

SCENE = "LC08_L2SP_068017_20200310_20200822_02_T1"
STAC = Path(__file__).parent / "data" / "stac-real"
HREF = "https://landsatlook.usgs.gov/data/collection02/level-2/standard/oli-tirs/2020/068/017"


def payload(name: str, size: int) -> bytes:
    """Deterministic, member-specific bytes."""
    seed = hashlib.sha512(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def sidecar(files: Mapping[str, bytes], wrong: str | None = None) -> bytes:
    """A 1.0.0-style sidecar whose assets carry ``file:checksum`` multihashes."""
    assets = {}
    for name, data in files.items():
        digest = hashlib.sha512(data + (b"x" if name == wrong else b"")).hexdigest()
        assets[name] = {"href": f"{HREF}/{SCENE}/{name}", "file:checksum": "1340" + digest}
    return json.dumps({"type": "Feature", "id": f"{SCENE}_SR", "assets": assets}).encode()


def members(size: int = 4096) -> dict[str, bytes]:
    names = ["ANG.txt", "MTL.txt", "MTL.xml", "QA_PIXEL.TIF", "SR_B4.TIF", "SR_B5.TIF"]
    return {f"{SCENE}_{n}": payload(n, size + i) for i, n in enumerate(names)}


def make_bundle(
    path: Path,
    files: Mapping[str, bytes],
    *,
    checksums: bool = True,
    wrong: str | None = None,
) -> Path:
    """A bundle like USGS's: flat members plus an ``_SR_stac.json`` sidecar."""
    stac = sidecar(files, wrong) if checksums else json.dumps({"assets": {}}).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in {**files, f"{SCENE}_SR_stac.json": stac}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_600_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def sha512(path: Path) -> str:
    return hashlib.sha512(path.read_bytes()).hexdigest()


def test_members_are_verified_and_the_tar_removed(tmp_path: Path) -> None:
    files = members()
    tar = make_bundle(tmp_path / f"{SCENE}.tar", files)
    dest = tmp_path / SCENE
    seen: list[MemberResult] = []
    result = extract_bundle(tar, dest, on_member=seen.append)
    assert result.tar_removed and not tar.exists()
    assert [m.name for m in seen] == [m.name for m in result.members]
    for name, data in files.items():
        assert (dest / name).read_bytes() == data
    by_name = {m.name: m for m in result.members}
    assert {by_name[n].verified_by for n in files} == {"bundle-stac"}
    assert by_name[f"{SCENE}_SR_stac.json"].verified_by == "size"  # not an asset of itself
    assert by_name[f"{SCENE}_SR_B4.TIF"].sha512 == sha512(dest / f"{SCENE}_SR_B4.TIF")
    assert not [p for p in dest.iterdir() if p.name.endswith(".m2mdl-tmp")]
    listed = extracted(dest)
    assert listed is not None and len(listed) == len(files) + 1


def test_a_sandbox_bundle_extracts_to_the_files_it_serves_singly(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    name = f"{SCENE}.tar"
    tar = tmp_path / name
    tar.write_bytes(sandbox.expected_bytes(name))
    result = extract_bundle(tar, tmp_path / SCENE)
    assert len(result.members) == 27  # an OLI/TIRS Level-2 bundle
    for member in result.members:
        path = tmp_path / SCENE / member.name
        assert path.read_bytes() == sandbox.expected_bytes(member.name), member.name
        assert member.verified_by in {"bundle-stac", "size"}
    assert not tar.exists()


def test_keep_tar_and_a_rerun_skips_what_is_in_place(tmp_path: Path) -> None:
    tar = make_bundle(tmp_path / f"{SCENE}.tar", members())
    dest = tmp_path / SCENE
    first = extract_bundle(tar, dest, keep_tar=True)
    assert tar.exists() and not first.tar_removed
    again = extract_bundle(tar, dest, keep_tar=True)
    assert all(m.skipped for m in again.members)
    assert [m.sha512 for m in again.members if m.verified_by != "size"] == [
        m.sha512 for m in first.members if m.verified_by != "size"
    ]


def test_a_changed_file_in_place_is_extracted_again(tmp_path: Path) -> None:
    files = members()
    tar = make_bundle(tmp_path / f"{SCENE}.tar", files)
    dest = tmp_path / SCENE
    extract_bundle(tar, dest, keep_tar=True)
    damaged = dest / f"{SCENE}_SR_B4.TIF"
    damaged.write_bytes(b"short")
    result = extract_bundle(tar, dest)
    assert damaged.read_bytes() == files[damaged.name]
    assert not {m.name: m for m in result.members}[damaged.name].skipped


def test_a_member_that_disagrees_with_its_checksum_never_gets_its_name(tmp_path: Path) -> None:
    bad = f"{SCENE}_SR_B5.TIF"
    tar = make_bundle(tmp_path / f"{SCENE}.tar", members(), wrong=bad)
    dest = tmp_path / SCENE
    with pytest.raises(ExtractError, match="does not match its published SHA-512") as err:
        extract_bundle(tar, dest)
    assert err.value.member == bad
    assert err.value.exit_code == 6
    assert not (dest / bad).exists()
    assert tar.exists()  # kept: the caller decides to fetch it again
    assert not [p for p in dest.iterdir() if p.name.endswith(".m2mdl-tmp")]
    assert extracted(dest) is None


def test_caller_checksums_fill_in_for_a_sidecar_without_any(tmp_path: Path) -> None:
    files = members()
    tar = make_bundle(tmp_path / f"{SCENE}.tar", files, checksums=False)
    known = {n: hashlib.sha512(d).hexdigest() for n, d in files.items() if "SR_B" in n}
    result = extract_bundle(tar, tmp_path / SCENE, checksums=known, keep_tar=True)
    by = {m.name: m.verified_by for m in result.members}
    assert by[f"{SCENE}_SR_B4.TIF"] == "usgs-stac"
    assert by[f"{SCENE}_MTL.txt"] == "size"
    wrong = dict(known, **{f"{SCENE}_SR_B4.TIF": "0" * 128})
    (tmp_path / SCENE / f"{SCENE}_SR_B4.TIF").unlink()
    with pytest.raises(ExtractError, match="SR_B4"):
        extract_bundle(tar, tmp_path / SCENE, checksums=wrong)


def test_a_full_disk_stops_cleanly_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = members(64 * 1024)
    tar = make_bundle(tmp_path / f"{SCENE}.tar", files)
    dest = tmp_path / SCENE
    real_pwrite = os.pwrite
    budget = [150 * 1024]  # room for two members and a bit

    def pwrite(fd: int, data: bytes | memoryview, offset: int) -> int:
        if budget[0] < len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        budget[0] -= len(data)
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    with pytest.raises(DiskFull):
        extract_bundle(tar, dest)
    monkeypatch.undo()
    assert tar.exists()
    assert not [p for p in dest.iterdir() if p.name.endswith(".m2mdl-tmp")]
    _assert_never_half(dest, files)
    placed = [n for n in files if (dest / n).exists()]
    assert 1 <= len(placed) < len(files)
    result = _rerun_completes(tar, dest, files)
    assert sum(m.skipped for m in result) == len(placed)


def hostile(path: Path, info: tarfile.TarInfo, data: bytes = b"") -> Path:
    with tarfile.open(path, "w") as tar:
        ok = tarfile.TarInfo(f"{SCENE}_MTL.txt")
        ok.size = 3
        tar.addfile(ok, io.BytesIO(b"abc"))
        info.size = len(data) if info.isfile() else 0
        tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    ("info", "reason"),
    [
        (_info("/etc/m2mdl-test"), "absolute path"),
        (_info("../escape.txt"), r"outside its folder"),
        (_info("a/../../escape.txt"), r"outside its folder"),
        (_info("link.TIF", tarfile.SYMTYPE, "/etc/passwd"), "is a link"),
        (_info("hard.TIF", tarfile.LNKTYPE, f"{SCENE}_MTL.txt"), "is a link"),
        (_info("dev", tarfile.CHRTYPE), "device or fifo"),
        (_info("blk", tarfile.BLKTYPE), "device or fifo"),
        (_info("fifo", tarfile.FIFOTYPE), "device or fifo"),
        (_info(f"{SCENE}_MTL.txt"), "appears twice"),
        (_info(MARKER), "m2mdl's own files"),
    ],
)
def test_hostile_members_are_refused_before_anything_is_written(
    tmp_path: Path, info: tarfile.TarInfo, reason: str
) -> None:
    tar = hostile(tmp_path / "evil.tar", info, b"pwned")
    dest = tmp_path / "out" / SCENE
    with pytest.raises(UnsafeArchive, match=reason):
        extract_bundle(tar, dest)
    assert not dest.exists()
    assert tar.exists()
    assert not (tmp_path / "escape.txt").exists()


def test_subfolders_inside_the_target_are_allowed(tmp_path: Path) -> None:
    tar = hostile(tmp_path / "nested.tar", _info("./sub/inner.txt"), b"inner")
    result = extract_bundle(tar, tmp_path / SCENE)
    assert (tmp_path / SCENE / "sub" / "inner.txt").read_bytes() == b"inner"
    assert {m.name for m in result.members} == {f"{SCENE}_MTL.txt", "sub/inner.txt"}


def test_a_symlink_already_in_the_folder_is_not_followed(tmp_path: Path) -> None:
    tar = hostile(tmp_path / "nested.tar", _info("sub/inner.txt"), b"inner")
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / SCENE
    dest.mkdir()
    (dest / "sub").symlink_to(outside)
    with pytest.raises(UnsafeArchive, match="outside"):
        extract_bundle(tar, dest)
    assert not list(outside.iterdir())
    assert tar.exists()


def test_not_a_tar_is_an_error_and_kept(tmp_path: Path) -> None:
    tar = tmp_path / f"{SCENE}.tar"
    tar.write_bytes(b"<html>maintenance</html>" * 100)
    with pytest.raises(ExtractError, match="cannot open the bundle"):
        extract_bundle(tar, tmp_path / SCENE)
    assert tar.exists()


def test_a_truncated_tar_is_an_error(tmp_path: Path) -> None:
    tar = make_bundle(tmp_path / f"{SCENE}.tar", members(64 * 1024))
    data = tar.read_bytes()
    tar.write_bytes(data[: len(data) // 2])
    with pytest.raises(ExtractError):
        extract_bundle(tar, tmp_path / SCENE)
    finals = [p for p in (tmp_path / SCENE).glob(f"{SCENE}_*") if p.name != MARKER]
    for path in finals:  # whatever got its name is complete and correct
        assert path.read_bytes() == members(64 * 1024).get(path.name, path.read_bytes())
    assert tar.exists()


def test_the_real_sidecars_checksums_are_read(tmp_path: Path) -> None:
    tm = "LT05_L2SP_010067_19860424_20200918_02_T2"
    old = "LC08_L2SP_047027_20201204_20210313_02_T1_ST_stac.json"
    real = {f"{tm}_SR_stac.json": (STAC / f"{tm}_SR_stac.json").read_bytes()}
    with tarfile.open(tmp_path / "real.tar", "w") as tar:
        for name, data in [*real.items(), (old, (STAC / old).read_bytes())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with tarfile.open(tmp_path / "real.tar") as tar:
        found = bundle_checksums(tar, read_members(tar))
    name = f"{tm}_MTL.xml"
    # the value checked against the real file (sha512sum) in the fixture's provenance notes
    assert found[name].startswith("11cae7037983141995b3d5f9b493de2476a0dc8629")
    assert len(found) == 16  # every asset but "index"; the old ST sidecar adds none


CHILD = """
import sys, time
from pathlib import Path
from m2mdl.extract import extract_bundle

pause_after = int(sys.argv[3])
count = 0

def on_member(result):
    global count
    count += 1
    print(result.name, flush=True)
    if count == pause_after:
        time.sleep(60)  # killed here

extract_bundle(Path(sys.argv[1]), Path(sys.argv[2]), on_member=on_member)
print("finished", flush=True)
"""


def _child(tar: Path, dest: Path, pause_after: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tar), str(dest), str(pause_after)],
        stdout=subprocess.PIPE,
        text=True,
    )


def _assert_never_half(dest: Path, files: Mapping[str, bytes]) -> None:
    """Every final name holds the whole, correct member."""
    for name, data in files.items():
        path = dest / name
        if path.exists():
            assert path.read_bytes() == data, name


def _rerun_completes(tar: Path, dest: Path, files: Mapping[str, bytes]) -> list[MemberResult]:
    result = extract_bundle(tar, dest)
    assert not tar.exists()
    for name, data in files.items():
        assert sha512(dest / name) == hashlib.sha512(data).hexdigest()
    assert not [p for p in dest.iterdir() if p.name.endswith(".m2mdl-tmp")]
    assert extracted(dest) is not None
    return list(result.members)


def test_killed_between_members_then_rerun(tmp_path: Path) -> None:
    files = members(256 * 1024)
    tar = make_bundle(tmp_path / f"{SCENE}.tar", files)
    dest = tmp_path / SCENE
    child = _child(tar, dest, pause_after=3)
    assert child.stdout is not None
    lines = [child.stdout.readline() for _ in range(3)]
    assert all(lines)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert tar.exists()
    _assert_never_half(dest, files)
    result = _rerun_completes(tar, dest, files)
    assert sum(m.skipped for m in result) == 3


def test_killed_in_the_middle_of_a_member_then_rerun(tmp_path: Path) -> None:
    """SIGKILL while a member is half written: its temporary file is cleared by the rerun
    and no final name ever holds part of a member. Tries a few times to land mid-member."""
    files = members(24 * 1024 * 1024)
    tar = make_bundle(tmp_path / f"{SCENE}.tar", files)
    dest = tmp_path / SCENE
    landed = False
    for _attempt in range(5):
        child = _child(tar, dest, pause_after=0)
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline and not landed:
            with os.scandir(dest) if dest.is_dir() else _empty() as entries:
                for entry in entries:
                    if entry.name.endswith(".m2mdl-tmp") and entry.stat().st_size > 0:
                        child.send_signal(signal.SIGKILL)
                        landed = True
                        break
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
        _assert_never_half(dest, files)
        if landed:
            break
        tar.unlink(missing_ok=True)  # it finished first: start over
        for path in dest.iterdir():
            path.unlink()
        make_bundle(tar, files)
    assert landed, "the extraction never ran long enough to be killed mid-member"
    assert tar.exists()
    assert [p for p in dest.iterdir() if p.name.endswith(".m2mdl-tmp")]
    _rerun_completes(tar, dest, files)


class _empty:
    def __enter__(self) -> list[os.DirEntry[str]]:
        return []

    def __exit__(self, *exc: object) -> None:
        return None
