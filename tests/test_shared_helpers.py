"""One copy of each shared helper: atomic writes live in m2mdl.util.fs (streamed for bundle
members, whole for ``-o FILE`` outputs), URL secret patterns in m2mdl.util.net."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from m2mdl.errors import DiskFull
from m2mdl.sandbox import Sandbox
from m2mdl.util import fs

from .cli_helpers import NOTEBOOK_QUERY, env_for, run

PACKAGE = Path(__file__).resolve().parents[1] / "m2mdl"
#: The engine keeps its own part-file code; the sandbox is a separate stdlib-only program.
OUTSIDE = ("transfer", "sandbox")


def _package_sources() -> Iterator[tuple[str, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.split("/", 1)[0] not in OUTSIDE:
            yield rel, path.read_text(encoding="utf-8")


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(fs.TMP_SUFFIX))


# --- one owner ------------------------------------------------------------------------------


def test_only_util_fs_renames_a_temporary_file_into_place() -> None:
    owners = [
        rel
        for rel, text in _package_sources()
        if re.search(r"\bos\.(replace|rename)\(|os\.O_EXCL|NamedTemporaryFile\(|mkstemp\(", text)
    ]
    # doctor's write probe is a NamedTemporaryFile it deletes, never renamed into place
    assert owners == ["util/fs.py", "workflow/doctor.py"], owners
    doctor = (PACKAGE / "workflow" / "doctor.py").read_text(encoding="utf-8")
    assert not re.search(r"\bos\.(replace|rename)\(|os\.O_EXCL", doctor)


def test_url_secret_patterns_are_defined_once_in_util_net() -> None:
    defining = [
        rel
        for rel, text in _package_sources()
        if re.search(r"re\.compile\([^)]*(requestSignature|https\?://)", text)
        or "b64decode" in text
    ]
    assert defining == ["util/net.py"], defining


# --- the streaming writer -------------------------------------------------------------------


def test_atomic_writer_streams_then_renames_and_syncs_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    real_sync = fs.fsync_dir

    def spy(directory: Path) -> None:
        synced.append(directory)
        real_sync(directory)

    monkeypatch.setattr(fs, "fsync_dir", spy)
    target = tmp_path / "member.TIF"
    target.write_bytes(b"old")
    with fs.atomic_writer(target) as out:
        for block in (b"ab", b"", b"cd" * 3):
            assert out.write(block) == len(block)
        assert target.read_bytes() == b"old"  # nothing visible before the block ends
        assert out.tmp.read_bytes() == b"abcdcdcd" and out.size == 8
        os.utime(out.tmp, (1_000_000_000, 1_000_000_000))
    assert target.read_bytes() == b"abcdcdcd"
    assert int(target.stat().st_mtime) == 1_000_000_000  # set inside the block, kept
    assert synced == [tmp_path] and _leftovers(tmp_path) == []


def test_atomic_writer_refused_in_the_block_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "member.TIF"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="checksum"), fs.atomic_writer(target) as out:
        out.write(b"new bytes")
        raise ValueError("checksum differs")
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []
    with pytest.raises(KeyboardInterrupt), fs.atomic_writer(tmp_path / "new") as out:
        out.write(b"x")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["member.TIF"]


def test_atomic_writer_errors_name_the_target_not_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-dir" / "f.json"
    with pytest.raises(FileNotFoundError) as info:
        fs.atomic_write_bytes(missing, b"x")
    assert info.value.filename == str(missing)

    def broken(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "I/O error", str(src))

    target = tmp_path / "f.json"
    target.write_bytes(b"old")
    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="I/O error") as io_info:
        fs.atomic_write_bytes(target, b"new")
    assert io_info.value.errno == errno.EIO and io_info.value.filename == str(target)
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []


def test_atomic_writer_full_disk_mid_stream_is_disk_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = [0]
    real_write = fs.pwrite_all

    def fills_up(fd: int, data: bytes, offset: int) -> None:
        calls[0] += 1
        if calls[0] == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(fd, data, offset)

    monkeypatch.setattr(fs, "pwrite_all", fills_up)
    target = tmp_path / "b.TIF"
    full = pytest.raises(DiskFull, match=r"no space left while writing b\.TIF")
    with full, fs.atomic_writer(target) as out:
        out.write(b"first")
        out.write(b"second")
    assert list(tmp_path.iterdir()) == []


# --- -o FILE outputs --------------------------------------------------------------------------


def test_write_output_replaces_a_file_whole_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "scenes.json"
    target.write_bytes(b"old")
    target.chmod(0o640)
    fs.write_output(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _leftovers(tmp_path) == []


def test_write_output_gives_a_new_file_what_open_gives(tmp_path: Path, umask: int) -> None:
    os.umask(0o002)
    fs.write_output(tmp_path / "new.json", b"{}")
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o664


def test_write_output_follows_a_link_and_keeps_it(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_bytes(b"old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    fs.write_output(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_write_output_writes_devices_in_place_and_never_replaces_them() -> None:
    fs.write_output(Path("/dev/null"), b"discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    with pytest.raises(DiskFull, match="no space left"):
        fs.write_output(Path("/dev/full"), b"x" * 70_000)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert not [p for p in Path("/dev").iterdir() if p.name.endswith(fs.TMP_SUFFIX)]


def test_write_output_to_a_directory_is_is_a_directory_naming_it(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError) as info:
        fs.write_output(tmp_path, b"x")
    assert info.value.filename == str(tmp_path)


def _fail_the_second_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The write stops halfway, on a full disk (as an interrupted run would stop)."""
    real_write = fs.pwrite_all

    def half_then_full(fd: int, data: bytes, offset: int) -> None:
        real_write(fd, data[: len(data) // 2], offset)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fs, "pwrite_all", half_then_full)


def test_search_output_file_is_old_or_complete_never_half(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "scenes.json"
    args = ["search", *NOTEBOOK_QUERY, "--output", "json", "-o", str(saved)]
    first = run(args, env_for(sandbox))
    assert first.exit_code == 0, first.stderr
    complete = saved.read_bytes()
    assert complete.rstrip().endswith(b"}") and b'"scenes"' in complete
    saved.write_bytes(b"the old content")
    _fail_the_second_write(monkeypatch)
    failed = run(args, env_for(sandbox))
    assert failed.exit_code == 6, failed.stderr
    assert "no space left" in failed.stderr and "Traceback" not in failed.stderr
    assert saved.read_bytes() == b"the old content"
    assert _leftovers(tmp_path) == []
    monkeypatch.undo()
    again = run(args, env_for(sandbox))
    assert again.exit_code == 0, again.stderr
    assert saved.read_bytes() == complete


def test_aoi_output_file_is_old_or_complete_never_half(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "area.geojson"
    args = ["aoi", "--bbox", "-150.9495", "61.0031", "-148.9555", "61.4834", "-o", str(out)]
    _fail_the_second_write(monkeypatch)
    failed = run(args)
    assert failed.exit_code == 6, failed.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    done = run(args)
    assert done.exit_code == 0, done.stderr
    assert b'"Polygon"' in out.read_bytes() and _leftovers(tmp_path) == []
