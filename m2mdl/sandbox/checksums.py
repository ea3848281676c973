"""``file:checksum`` values of served files: multihash SHA-512, computed lazily and cached.

USGS publishes ``"1340" + sha512(file).hexdigest()`` (multihash: 0x13 = sha2-512, 0x40 =
64 bytes; docs/design.md, "STAC and checksums"). The sandbox hashes exactly the bytes its
download host serves for a file (content version 0, before any injected fault), the first
time a document needs the value; nothing is hashed at start-up.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

from m2mdl.sandbox.content import Source

MULTIHASH_SHA512 = "1340"
_CHUNK = 1 << 20


def multihash_sha512(data: bytes) -> str:
    """The ``file:checksum`` form of ``data``."""
    return MULTIHASH_SHA512 + hashlib.sha512(data).hexdigest()


def source_sha512(source: Source) -> str:
    """sha512 hex of a source's version-0 bytes, streamed in 1 MiB reads."""
    digest = hashlib.sha512()
    offset = 0
    while offset < source.size:
        chunk = source.read(offset, _CHUNK)
        if not chunk:
            break
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


class Checksums:
    """Cache of file name → multihash; ``lookup`` resolves a name to its source."""

    def __init__(self, lookup: Callable[[str], Source | None]) -> None:
        self._lookup = lookup
        self._cache: dict[str, str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, name: str) -> str | None:
        """``"1340…"`` for the file ``name``, or None when the sandbox has no such file."""
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:  # one thread hashes a file; others wait for its result
            cached = self._cache.get(name)
            if cached is None:
                source = self._lookup(name)
                if source is None:
                    return None
                cached = MULTIHASH_SHA512 + source_sha512(source)
                self._cache[name] = cached
        return cached
