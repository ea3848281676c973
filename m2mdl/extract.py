"""``--extract``: unpack a downloaded bundle into ``OUT/<display id>/``, member by member,
each verified against USGS's SHA-512 before it gets its final name.

How, and why it is safe to kill at any moment:

1. The tar's headers are read first (``tarfile`` seeks past the data) and every member is
   checked before anything is written: absolute names, ``..``, links, devices and fifos are
   refused with :class:`UnsafeArchive`, and so are duplicate names.
2. The checksums come from the bundle's own ``*_stac.json`` members (``file:checksum``, a
   SHA-512 multihash), filled in by the caller's (from the scene's STAC items) where the
   sidecar has none. See docs/design.md, "bundles" and "STAC and checksums".
3. Each member streams (1 MiB reads) into a temporary name beside its final one
   (``NAME.<random>.m2mdl-tmp``), hashed with SHA-512 while it is written, compared, fsynced,
   and only then renamed to ``NAME`` and its directory fsynced
   (:func:`m2mdl.util.fs.atomic_writer`). A mismatch removes the temporary file and raises
   :class:`ExtractError`; the tar is kept.
4. When every member is in place a marker (``.m2mdl-extracted.json``: member names, sizes,
   SHA-512, how each was verified) is written atomically, and only then is the tar removed
   (unless ``keep_tar``).

A rerun after a kill finds the tar still there (it goes last), removes the leftover
temporary files, skips members whose final file has the member's size and mtime (final names
only ever appear after verification; the mtime is set from the tar header, like ``tar -x``),
and extracts the rest. So a final name never holds half a member, and a rerun completes the
job. Cost: one read of the tar (plus one of its headers) and one SHA-512 pass over the bytes,
done while writing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from .errors import DownloadError
from .stac import checksums_of
from .util.fs import TMP_SUFFIX, atomic_write_bytes, atomic_writer, fsync_dir
from .util.jsontypes import JsonObject

log = logging.getLogger("m2mdl.extract")

MARKER = ".m2mdl-extracted.json"
CHUNK = 1 << 20


class ExtractError(DownloadError):
    """A bundle could not be extracted and verified; the tar is kept.

    Attributes:
        member: the member concerned, or None.
    """

    default_hint = "the .tar is kept; delete it and run the same command again to fetch it anew"

    def __init__(self, message: str, *, member: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.member = member


class UnsafeArchive(ExtractError):
    """A member would escape the target directory or is not a regular file."""

    default_hint = "the bundle is not a USGS bundle; nothing of it was extracted"


@dataclass(frozen=True)
class MemberResult:
    """One member in place.

    Attributes:
        name: the member's relative path (the file name for USGS bundles).
        size: bytes.
        sha512: hex digest of the bytes in place.
        verified_by: ``bundle-stac`` (the bundle's sidecar), ``usgs-stac`` (the caller's
            checksums), or ``size`` (no published checksum: size from the tar header only).
        skipped: already in place from an earlier run.
    """

    name: str
    size: int
    sha512: str | None
    verified_by: str
    skipped: bool = False


@dataclass(frozen=True)
class ExtractResult:
    """What :func:`extract_bundle` did."""

    directory: Path
    members: tuple[MemberResult, ...]
    tar_removed: bool


def _member_name(member: tarfile.TarInfo) -> str:
    """The member's relative path, or raise UnsafeArchive."""
    raw = member.name
    if "\x00" in raw or raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw):
        raise UnsafeArchive(f"bundle member {raw!r} has an absolute path", member=raw)
    parts = [p for p in PurePosixPath(raw.replace("\\", "/")).parts if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"bundle member {raw!r} points outside its folder (..)", member=raw)
    if member.issym() or member.islnk():
        raise UnsafeArchive(f"bundle member {raw!r} is a link", member=raw)
    if member.isdev() or member.isfifo():
        raise UnsafeArchive(f"bundle member {raw!r} is a device or fifo", member=raw)
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchive(f"bundle member {raw!r} is not a regular file", member=raw)
    if not parts:
        return ""
    name = "/".join(parts)
    if name.endswith(TMP_SUFFIX) or name == MARKER:
        raise UnsafeArchive(f"bundle member {raw!r} collides with m2mdl's own files", member=raw)
    return name


def read_members(tar: tarfile.TarFile) -> list[tuple[str, tarfile.TarInfo]]:
    """Every regular-file member with its checked relative path; refuses hostile archives.

    Raises:
        UnsafeArchive: a hostile or duplicate member.
        ExtractError: the tar cannot be read.
    """
    try:
        members = tar.getmembers()
    except (tarfile.TarError, EOFError) as exc:
        raise ExtractError(f"cannot read the bundle: {exc}") from exc
    files: list[tuple[str, tarfile.TarInfo]] = []
    seen: set[str] = set()
    for member in members:
        name = _member_name(member)
        if member.isdir():
            continue
        if name in seen:
            raise UnsafeArchive(f"bundle member {name!r} appears twice", member=name)
        seen.add(name)
        files.append((name, member))
    if not files:
        raise ExtractError("the bundle holds no files")
    return files


def bundle_checksums(
    tar: tarfile.TarFile, files: list[tuple[str, tarfile.TarInfo]]
) -> dict[str, str]:
    """Checksums from the bundle's ``*_stac.json`` members (none when they carry none)."""
    found: dict[str, str] = {}
    for name, member in files:
        if not name.lower().endswith("stac.json") or member.size > 16 * CHUNK:
            continue
        handle = tar.extractfile(member)
        if handle is None:
            continue
        try:
            document = json.loads(handle.read().decode("utf-8"))
        except (ValueError, RecursionError, tarfile.TarError, OSError):
            log.warning("%s: not a readable STAC document; its checksums are not used", name)
            continue
        for file_name, digest in checksums_of(document).items():
            if found.setdefault(file_name, digest) != digest:
                log.warning("%s: the bundle's sidecars disagree on its checksum", file_name)
    return found


def _in_place(path: Path, member: tarfile.TarInfo) -> bool:
    """An earlier run put this member here (final names appear only after verification)."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return (
        os.path.isfile(path)
        and not path.is_symlink()
        and info.st_size == member.size
        and int(info.st_mtime) == int(member.mtime)
    )


def _remove_leftovers(directory: Path) -> None:
    """Temporary files of an interrupted extraction (only m2mdl's own ``.m2mdl-tmp``)."""
    for folder, _dirs, names in os.walk(directory):  # never follows symbolic links
        for name in names:
            path = Path(folder) / name
            if name.endswith(TMP_SUFFIX) and path.is_file() and not path.is_symlink():
                with contextlib.suppress(OSError):
                    path.unlink()


def _copy_verified(
    source: IO[bytes], target: Path, member: tarfile.TarInfo, expected: str | None
) -> str:
    """Stream ``source`` into a temporary file, verify, fsync, rename; return the SHA-512.

    :func:`m2mdl.util.fs.atomic_writer` owns the temporary file, the fsyncs and the rename;
    a check that fails inside its block removes the temporary file and keeps ``target``.
    """
    digest = hashlib.sha512()
    try:
        with atomic_writer(target) as out:
            while block := source.read(CHUNK):
                out.write(block)
                digest.update(block)
            if out.size != member.size:
                raise ExtractError(
                    f"bundle member {target.name} ends after {out.size} of {member.size} bytes",
                    member=target.name,
                )
            if expected is not None and digest.hexdigest() != expected:
                raise ExtractError(
                    f"bundle member {target.name} does not match its published SHA-512",
                    member=target.name,
                )
            os.utime(out.tmp, (member.mtime, member.mtime))  # like tar -x; _in_place reads it
    except OSError as exc:
        raise ExtractError(f"cannot write {target.name}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def extract_bundle(
    tar_path: Path,
    dest_dir: Path,
    *,
    checksums: Mapping[str, str] | None = None,
    keep_tar: bool = False,
    on_member: Callable[[MemberResult], None] | None = None,
) -> ExtractResult:
    """Extract ``tar_path`` into ``dest_dir`` with every member verified (module docstring).

    Args:
        tar_path: the downloaded bundle.
        dest_dir: ``OUT/<display id>``; created when missing.
        checksums: file name -> SHA-512 hex from the scene's STAC items, used for members
            the bundle's own sidecars give no checksum for.
        keep_tar: keep the tar after a complete extraction.
        on_member: called after each member is in place (progress).

    Raises:
        UnsafeArchive: a hostile member (nothing is written).
        ExtractError: a member is truncated or does not match its checksum, or the tar
            cannot be read; members already in place stay, the tar stays.
        DiskFull: the disk filled up (the tar and the members in place stay).
    """
    with _open_tar(tar_path) as tar:
        files = read_members(tar)
        published = bundle_checksums(tar, files)
        dest_dir.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(dest_dir)
        results: list[MemberResult] = []
        for name, member in files:
            result = _extract_one(tar, name, member, dest_dir, published, checksums or {})
            results.append(result)
            if on_member is not None:
                on_member(result)
    return _finish(tar_path, dest_dir, results, keep_tar)


def _open_tar(tar_path: Path) -> tarfile.TarFile:
    """Open a plain (uncompressed) tar for random access to its headers."""
    try:
        return tarfile.open(tar_path, "r:")
    except (OSError, tarfile.TarError) as exc:
        raise ExtractError(f"cannot open the bundle {tar_path.name}: {exc}") from exc


def _extract_one(
    tar: tarfile.TarFile,
    name: str,
    member: tarfile.TarInfo,
    dest_dir: Path,
    published: Mapping[str, str],
    extra: Mapping[str, str],
) -> MemberResult:
    base = name.rsplit("/", 1)[-1]
    expected = published.get(base)
    verified_by = "bundle-stac"
    if expected is None:
        expected = extra.get(base)
        verified_by = "usgs-stac" if expected else "size"
    target = dest_dir / name
    if _in_place(target, member):
        return MemberResult(name, member.size, expected, verified_by, skipped=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.parent.resolve().is_relative_to(dest_dir.resolve()):
        # a symbolic link already in the folder would carry the member elsewhere
        raise UnsafeArchive(f"bundle member {name!r} would be written outside", member=name)
    source = tar.extractfile(member)
    if source is None:  # pragma: no cover - read_members keeps regular files only
        raise UnsafeArchive(f"bundle member {name!r} is not a regular file", member=name)
    try:
        digest = _copy_verified(source, target, member, expected)
    except (tarfile.TarError, EOFError) as exc:
        raise ExtractError(f"the bundle is damaged at {name}: {exc}", member=name) from exc
    return MemberResult(name, member.size, digest, verified_by)


def _finish(
    tar_path: Path, dest_dir: Path, results: list[MemberResult], keep_tar: bool
) -> ExtractResult:
    """Write the marker, then (and only then) drop the tar.

    Each member's rename was made durable as it happened (:func:`_copy_verified`), so the
    marker never vouches for a member a crash could still take back.
    """
    marker = {
        "bundle": tar_path.name,
        "members": [
            {"name": r.name, "size": r.size, "sha512": r.sha512, "verified_by": r.verified_by}
            for r in results
        ],
    }
    atomic_write_bytes(dest_dir / MARKER, json.dumps(marker, indent=2).encode("utf-8"))
    removed = False
    if not keep_tar:
        with contextlib.suppress(FileNotFoundError):
            tar_path.unlink()
        fsync_dir(tar_path.parent)
        removed = True
    return ExtractResult(dest_dir, tuple(results), removed)


def extracted(dest_dir: Path) -> list[JsonObject] | None:
    """The members a finished extraction recorded in ``dest_dir``, or None.

    A bundle whose tar was removed after extraction counts as present when this returns a
    list and every listed member is still there with its size (for the skip check).
    """
    try:
        data = json.loads((dest_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    members = data.get("members") if isinstance(data, dict) else None
    if not isinstance(members, list):
        return None
    for entry in members:
        if not isinstance(entry, dict):
            return None
        path = dest_dir / str(entry.get("name"))
        if not path.is_file() or path.stat().st_size != entry.get("size"):
            return None
    return members
