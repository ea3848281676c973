"""An independent reference for a tar's tree digest (m2mdl/transfer/tarscan.py), for tests.

Built on the standard library's ``tarfile`` (not on m2mdl's streaming scanner): the SHA-512
of the file's bytes in order, with each regular member's data replaced by its 64-byte raw
SHA-512. Valid tars only (``tarfile`` must read them).
"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path
from typing import BinaryIO

#: Member types whose data the tree digest replaces by its SHA-512.
REGULAR = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_CHUNK = 2**20


def _copy(handle: BinaryIO, start: int, end: int, into: hashlib._Hash) -> None:
    handle.seek(start)
    left = end - start
    while left > 0:
        block = handle.read(min(_CHUNK, left))
        assert block, "the tar ends early"
        into.update(block)
        left -= len(block)


def tree_sha512_reference(path: Path) -> str:
    """The tree digest of the tar at ``path``, computed with ``tarfile``."""
    tree = hashlib.sha512()
    position = 0
    with tarfile.open(path) as tar, path.open("rb") as handle:
        for info in tar.getmembers():
            if info.type not in REGULAR:
                continue
            _copy(handle, position, info.offset_data, tree)
            member = hashlib.sha512()
            _copy(handle, info.offset_data, info.offset_data + info.size, member)
            tree.update(member.digest())
            position = info.offset_data + info.size
        _copy(handle, position, path.stat().st_size, tree)
    return tree.hexdigest()
