"""A tar reader fed in file order: each member's SHA-512 and the tar's tree digest, in one pass.

``InOrderHasher`` hands every block it hashes (in file order, from the network or read back
from disk) to a ``TarScanner``, which follows the 512-byte headers and hashes each regular
member's data. So a bundle's members are checked without reading the file a second time.

**The tree digest** (``TarScanner.tree_hexdigest``; this class is its only definition) is
what identifies a scanned tar instead of a whole-file SHA-512, so that each byte of a bundle
is hashed once (docs/design.md §STAC and checksums: checksum policy). It is the SHA-512 of
the tar's bytes in file order in which the data of each regular member (types ``0``, NUL,
``7``) is replaced by the 64-byte raw SHA-512 of that data (also for an empty member). Every
other byte enters as it is: headers, GNU long-name and pax records, the data of non-regular
members, padding, the end-of-archive blocks and anything after them; after a header that is
not a valid tar header, the rest of the file enters as it is. What it costs: the headers and
padding, plus 64 bytes per member, hashed once more (a few KiB per bundle).
Why it fingerprints every byte: headers are hashed as they are and decide how the following
bytes are read, so the digest's input decodes back to the same structure, and every member's
bytes are fixed by its SHA-512; two tars with the same tree digest hold the same bytes
unless SHA-512 collides. A tar with no regular member has the tree digest equal to its
SHA-512. It is not the SHA-512 of the file, so it is never compared with a published
``file:checksum`` nor written as one.

Understood: ustar and GNU headers (name + prefix), GNU long names (``L``), pax ``path``
records (``x``; global ``g`` headers are skipped) and base-256 sizes. Members that are not
regular files have no digest. Small JSON members (metadata sidecars) are also kept in memory
(``TarContents.captured``), so the caller can check the others against them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

BLOCK = 512
#: JSON members up to this size are kept in memory for the caller's check.
CAPTURE_MAX = 2**20
_REGULAR = (b"0", b"\x00", b"7")
_META_MAX = 2**20  # a long name or pax record larger than this is not followed


@dataclass
class TarContents:
    """What a scan found: per regular member its SHA-512 (hex) and size; small JSON bytes.

    ``complete`` is False when the data ended inside a member or before the end marker was
    seen, or a header was not a tar header (``problem`` says why).
    """

    digests: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    captured: dict[str, bytes] = field(default_factory=dict)
    complete: bool = False
    problem: str | None = None


class TarScanner:
    """Parses a tar stream block by block; not thread-safe (the hasher serialises it)."""

    def __init__(self) -> None:
        self.contents = TarContents()
        self._header = bytearray()
        self._name: str | None = None  # current member (regular file) or None
        self._digest: hashlib._Hash | None = None
        self._capture: bytearray | None = None
        self._meta: bytearray | None = None  # GNU long name or pax data being read
        self._meta_kind = b""
        self._next_name: str | None = None  # from an ``L`` or ``x`` header
        self._left = 0  # data bytes left in the current member
        self._pad = 0  # padding bytes left after it
        self._done = False  # end marker or an error: the rest enters the tree digest as is
        self._tree = hashlib.sha512()  # the tree digest (see the module docstring)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Consume the next bytes of the file."""
        view = memoryview(data).cast("B")
        while view and not self._done:
            if self._left:
                take = min(self._left, len(view))
                self._member_data(view[:take])
                self._left -= take
                view = view[take:]
                if not self._left:
                    self._end_member()
            elif self._pad:
                take = min(self._pad, len(view))
                self._tree.update(view[:take])
                self._pad -= take
                view = view[take:]
            else:
                take = min(BLOCK - len(self._header), len(view))
                self._tree.update(view[:take])
                self._header += view[:take]
                view = view[take:]
                if len(self._header) == BLOCK:
                    header, self._header = bytes(self._header), bytearray()
                    self._on_header(header)
        if view:  # after the end marker or a damaged header
            self._tree.update(view)

    def tree_hexdigest(self) -> str:
        """The tree digest of the bytes fed so far (module docstring); a member cut short
        counts with the SHA-512 of the part of its data that was fed."""
        tree = self._tree.copy()
        if self._left and self._digest is not None:
            tree.update(self._digest.copy().digest())
        return tree.hexdigest()

    def finish(self) -> TarContents:
        """The contents at the end of the file (a tar without end marker is accepted when
        the data ended exactly after a member)."""
        idle = not (self._left or self._pad or self._header or self._meta is not None)
        if not self._done and idle and self.contents.digests:
            self.contents.complete = True
        return self.contents

    def _member_data(self, chunk: memoryview) -> None:
        if self._digest is not None:
            self._digest.update(chunk)
        else:  # not a regular member: its data enters the tree digest as it is
            self._tree.update(chunk)
        if self._capture is not None:
            self._capture += chunk
        if self._meta is not None:
            self._meta += chunk

    def _end_member(self) -> None:
        if self._name is not None and self._digest is not None:
            raw = self._digest.digest()
            self._tree.update(raw)
            self.contents.digests[self._name] = raw.hex()
            if self._capture is not None:
                self.contents.captured[self._name] = bytes(self._capture)
        if self._meta is not None:
            self._next_name = _meta_name(self._meta_kind, bytes(self._meta)) or self._next_name
        self._name, self._digest, self._capture, self._meta = None, None, None, None

    def _on_header(self, header: bytes) -> None:
        if header == bytes(BLOCK):
            self._done = True
            self.contents.complete = True
            return
        if not _checksum_ok(header):
            self._fail("a tar header is damaged")
            return
        size = _size(header[124:136])
        if size is None:
            self._fail("a tar header has an unreadable size")
            return
        kind = header[156:157]
        self._left, self._pad = size, -size % BLOCK
        if kind in (b"L", b"x"):
            if size <= _META_MAX:
                self._meta, self._meta_kind = bytearray(), kind
        elif kind in _REGULAR:
            name = self._next_name or _header_name(header)
            self._next_name = None
            self._name, self._digest = name, hashlib.sha512()
            self.contents.sizes[name] = size
            if name.lower().endswith(".json") and size <= CAPTURE_MAX:
                self._capture = bytearray()
        else:
            self._next_name = None
        if not self._left:
            self._end_member()

    def _fail(self, problem: str) -> None:
        self._done = True
        self.contents.problem = problem


def _header_name(header: bytes) -> str:
    name = header[0:100].split(b"\x00", 1)[0]
    if header[257:262] == b"ustar":
        prefix = header[345:500].split(b"\x00", 1)[0]
        if prefix:
            name = prefix + b"/" + name
    return name.decode("utf-8", "replace")


def _meta_name(kind: bytes, data: bytes) -> str | None:
    if kind == b"L":
        return data.split(b"\x00", 1)[0].decode("utf-8", "replace") or None
    # pax: "<len> key=value\n" records
    for line in data.split(b"\n"):
        _, _, record = line.partition(b" ")
        key, _, value = record.partition(b"=")
        if key == b"path":
            return value.decode("utf-8", "replace")
    return None


def _size(field_bytes: bytes) -> int | None:
    if field_bytes[:1] and field_bytes[0] & 0x80:  # GNU base-256
        return int.from_bytes(field_bytes[1:], "big")
    text = field_bytes.split(b"\x00", 1)[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        return None


def _checksum_ok(header: bytes) -> bool:
    text = header[148:156].split(b"\x00", 1)[0].strip()
    try:
        stored = int(text, 8)
    except ValueError:
        return False
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:])
    return stored == unsigned
