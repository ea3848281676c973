"""``atomic_write_bytes`` (``m2mdl.util.fs``, and the engine's ``fsutil`` form): file modes, and
what an error or an interrupt leaves behind."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from m2mdl.errors import DiskFull
from m2mdl.transfer import fsutil, naming
from m2mdl.transfer.errors import NoSpace
from m2mdl.util import fs

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _write_under(umask_bits: int, path: Path, mode: int | None = None) -> int:
    os.umask(umask_bits)
    if mode is None:
        fsutil.atomic_write_bytes(path, b"data")
    else:
        fsutil.atomic_write_bytes(path, b"data", mode=mode)
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
@pytest.mark.usefixtures("umask")
def test_default_mode_is_0644_narrowed_by_the_umask(tmp_path: Path) -> None:
    assert _write_under(0o022, tmp_path / "a") == 0o644
    assert _write_under(0o077, tmp_path / "b") == 0o600
    assert _write_under(0o027, tmp_path / "c") == 0o640


@posix_only
@pytest.mark.usefixtures("umask")
def test_private_mode_is_exactly_0600_whatever_the_umask(tmp_path: Path) -> None:
    assert _write_under(0, tmp_path / "a", 0o600) == 0o600  # the umask widens nothing
    assert _write_under(0o277, tmp_path / "b", 0o600) == 0o600  # the owner keeps rw
    target = tmp_path / "c"
    target.write_bytes(b"old")
    target.chmod(0o644)
    assert _write_under(0o022, target, 0o600) == 0o600  # a replaced file's mode is not kept
    assert target.read_bytes() == b"data"


@posix_only
@pytest.mark.usefixtures("umask")
def test_private_file_is_never_wider_not_even_at_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[int] = []
    real_open = os.open

    def spy(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        fd = real_open(path, flags, mode)
        if flags & os.O_CREAT:  # the tmp file (the directory fsync opens one too)
            created.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return fd

    monkeypatch.setattr(os, "open", spy)
    os.umask(0)
    fsutil.atomic_write_bytes(tmp_path / "secret", b"token", mode=0o600)
    assert created == [0o600]


def test_an_interrupt_removes_the_tmp_file_and_keeps_the_old_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "journal"
    target.write_bytes(b"old")

    def interrupted(fd: int, data: bytes, offset: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fs, "pwrite_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fsutil.atomic_write_bytes(target, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal"]
    assert target.read_bytes() == b"old"


def test_a_full_disk_is_no_space_and_leaves_no_tmp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes, offset: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fs, "pwrite_all", full)
    with pytest.raises(NoSpace, match="no space left while writing f"):
        fsutil.atomic_write_bytes(tmp_path / "f", b"x")
    assert list(tmp_path.iterdir()) == []


def test_outside_the_engine_a_full_disk_is_disk_full_not_the_engines_no_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes, offset: int) -> None:
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    monkeypatch.setattr(fs, "pwrite_all", full)
    with pytest.raises(DiskFull, match="no space left while writing f") as info:
        fs.atomic_write_bytes(tmp_path / "f", b"x")
    assert not isinstance(info.value, NoSpace)
    assert list(tmp_path.iterdir()) == []


def test_the_engine_finds_the_tmp_files_the_leaf_writes() -> None:
    assert fs.tmp_name(Path("a.tar")).name.endswith(naming.TMP_SUFFIX)
