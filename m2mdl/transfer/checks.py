"""Checks on what a server sent: Content-Type, size and leading ("magic") bytes.

docs/design.md §Transfer engine: peer behaviour under faults, §Transfer engine: checks before
publish; status 200 alone proves nothing; HTML error pages were saved as products by curl, wget and
aria2. So a response is checked before its first byte is written, and the finished file again before
it is published.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ErrorPage, IntegrityError
from .hashing import InOrderHasher
from .tarscan import TarContents

HEAD_BYTES = 4096  # enough for every check below
_ERROR_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/json", "text/json"})
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
_HTML_STARTS = (b"<!doctype html", b"<html")


def check_content_type(content_type: str | None, dest_name: str = "") -> None:
    """Raise ``ErrorPage`` when the Content-Type says HTML or JSON (an error page).

    A JSON type is accepted when the file itself is a ``.json`` (e.g. a metadata file), and
    an HTML type when it is a ``.html``/``.htm``.
    """
    if not content_type:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    suffix = dest_name.lower().rpartition(".")[2]
    is_json = media.endswith(("/json", "+json"))
    if (is_json and suffix == "json") or (media == "text/html" and suffix in ("html", "htm")):
        return
    if media in _ERROR_TYPES or is_json:
        raise ErrorPage(f"got an error page ({media}) instead of the file")


def magic_problem(head: bytes, kind: str | None) -> str | None:
    """Return why ``head`` (the file's first bytes) does not look like ``kind``, or None.

    Args:
        head: at least the first 4 KiB of the file, or the whole file when shorter.
        kind: "tar" (``ustar`` at offset 257), "tiff" (``II*\\0``, ``MM\\0*`` or BigTIFF),
            "text" (no NUL in the first 4 KiB, not an HTML page) or None (no check).
    """
    if kind is None:
        return None
    if kind == "tar":
        ok = head[257:262] == b"ustar"
    elif kind == "tiff":
        ok = head[:4] in _TIFF_MAGIC
    elif kind == "text":
        start = head[:HEAD_BYTES].lstrip().lower()
        ok = b"\x00" not in head[:HEAD_BYTES] and not start.startswith(_HTML_STARTS)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    if ok:
        return None
    if head.lstrip()[:64].lower().startswith((*_HTML_STARTS, b"<?xml", b"{")):
        return f"the file is an HTML/XML/JSON page, not {kind}"
    return f"the file does not start like a {kind} file"


def check_head(head: bytes, kind: str | None) -> None:
    """Raise ``IntegrityError`` when ``head`` does not look like ``kind``."""
    problem = magic_problem(head, kind)
    if problem is not None:
        raise IntegrityError(problem)


def check_size(size: int, *, server_total: int | None, expected: int | None) -> None:
    """Raise ``IntegrityError`` unless ``size`` equals every size that is known."""
    for label, want in (("the server's", server_total), ("the expected", expected)):
        if want is not None and size != want:
            raise IntegrityError(f"size {size} differs from {label} size {want}")


def read_head(fd: int) -> bytes:
    """Return the first ``HEAD_BYTES`` of an open file (fewer when it is shorter)."""
    return os.pread(fd, HEAD_BYTES, 0)


def sha512_file(path: Path, chunk_size: int = 2**20) -> str:
    """Return the hex SHA-512 of a file, read in chunks (constant memory)."""
    digests = hash_file(path, chunk_size=chunk_size)
    assert digests.sha512 is not None  # always computed for a file not scanned as a tar
    return digests.sha512


@dataclass(frozen=True)
class FileDigests:
    """What one read of a file computed (``hash_file``).

    Attributes:
        sha512: the hex SHA-512 of the file's bytes; None for a tar scanned without
            ``whole_file``.
        tree_sha512: a scanned tar's tree digest (``tarscan.py``), else None.
        contents: a scanned tar's members (digests, sizes, small JSON members), else None.
    """

    sha512: str | None
    tree_sha512: str | None = None
    contents: TarContents | None = None


def hash_file(
    path: Path, *, scan_tar: bool = False, whole_file: bool = False, chunk_size: int = 2**20
) -> FileDigests:
    """Hash a file in one read, as the download did (``InOrderHasher``): its SHA-512 or,
    with ``scan_tar``, its tar members and tree digest, plus the whole-file SHA-512 only with
    ``whole_file`` (a second hash of the same bytes, for a record that holds one).

    Raises:
        OSError: the file cannot be read.
    """
    hasher = InOrderHasher()
    if scan_tar:
        hasher.scan_tar(whole_file=whole_file)
    with path.open("rb") as handle:
        while block := handle.read(chunk_size):
            hasher.feed(hasher.position, block)
    scanner = hasher.scanner
    return FileDigests(
        hasher.sha512_hexdigest(),
        hasher.tree_hexdigest(),
        scanner.finish() if scanner is not None else None,
    )


def looks_complete(dest: Path, expected_size: int | None, kind: str | None) -> bool:
    """Cheap check of a finished file: it exists, has the expected size and the right magic.

    Reads at most 4 KiB; use ``verify_existing`` for a checksum.
    """
    try:
        with dest.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(HEAD_BYTES)
    except OSError:
        return False
    if not dest.is_file() or (expected_size is not None and size != expected_size):
        return False
    return magic_problem(head, kind) is None


def verify_existing(dest: Path, expected_size: int | None, kind: str | None) -> str | None:
    """Return the SHA-512 of ``dest`` if it looks complete (see ``looks_complete``), else None.

    Hashing reads the whole file (about 2 s of CPU per GiB for SHA-512 here) plus the disk
    read. Use ``looks_complete`` when that is too slow.
    """
    if not looks_complete(dest, expected_size, kind):
        return None
    try:
        return sha512_file(dest)
    except OSError:
        return None
