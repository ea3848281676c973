"""Deterministic file bytes, computable at any offset, and tar bundles as virtual files.

A file is a short type-specific header (TIFF ``II*\\0``, JPEG SOI/JFIF, Landsat-style
MTL/ANG text, XML, JSON) followed by 64 KiB tiles of a block seeded by the file name;
tile k is the block rotated by an amount derived from k, so the content never repeats at
a fixed period (a client that writes a chunk at the wrong offset is caught by sha256)
and any byte range of a multi-GB file costs a few slices. A bundle is a tar made of
segments (member headers, member data, padding), also readable at any offset.

Versions model ``mutate_after``: version v > 0 XORs 16 bytes in the middle of the data
(never the magic header), so a resume that mixes versions is detectable.
"""

from __future__ import annotations

import bisect
import hashlib
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from m2mdl.sandbox.layout import Layout

TILE = 65536
_MUTATE_LEN = 16


def _kind(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else "bin"


def _text_header(name: str, size: int) -> bytes:
    stem = name.rsplit(".", 1)[0]
    product = stem[:40]
    kind = _kind(name)
    if kind == "xml":
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<LANDSAT_METADATA_FILE>\n'
            f"  <PRODUCT_CONTENTS>\n    <ORIGIN>Image courtesy of the U.S. Geological "
            f"Survey (m2mdl sandbox)</ORIGIN>\n    <LANDSAT_PRODUCT_ID>{product}"
            f"</LANDSAT_PRODUCT_ID>\n    <FILE_SIZE>{size}</FILE_SIZE>\n"
            f"  </PRODUCT_CONTENTS>\n<!--\n"
        ).encode()
    if kind == "json":
        return (
            f'{{"LANDSAT_METADATA_FILE": {{"PRODUCT_CONTENTS": {{"ORIGIN": "Image '
            f'courtesy of the U.S. Geological Survey (m2mdl sandbox)", '
            f'"LANDSAT_PRODUCT_ID": "{product}", "FILE_SIZE": "{size}"}}}}, '
            f'"SANDBOX_FILLER": "\n'
        ).encode()
    group = "FILE_HEADER" if stem.endswith("ANG") else "LANDSAT_METADATA_FILE"
    return (
        f'GROUP = {group}\n  GROUP = PRODUCT_CONTENTS\n    ORIGIN = "Image courtesy '
        f'of the U.S. Geological Survey (m2mdl sandbox)"\n    LANDSAT_PRODUCT_ID = '
        f'"{product}"\n    FILE_NAME = "{name}"\n    FILE_SIZE = {size}\n'
        f"  END_GROUP = PRODUCT_CONTENTS\n"
    ).encode()


def header(name: str, size: int) -> bytes:
    """The magic header of ``name`` (before the tiled filler)."""
    kind = _kind(name)
    if kind == "tif":
        return b"II*\x00\x08\x00\x00\x00" + f"m2mdl-sandbox {name} {size}\n".encode()
    if kind == "jpeg":
        return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    if kind in ("txt", "xml", "json"):
        return _text_header(name, size)
    return b""


@lru_cache(maxsize=512)
def _block(name: str) -> bytes:
    """TILE bytes seeded by the name: random for binaries, text lines for text files."""
    seed = hashlib.sha256(name.encode()).digest()
    if _kind(name) not in ("txt", "xml", "json"):
        return hashlib.shake_256(seed).digest(TILE)
    words = hashlib.shake_256(seed).digest(TILE // 8)
    lines: list[str] = []
    total, i = 0, 0
    while total < TILE:
        value = int.from_bytes(words[(i * 4) % len(words) : (i * 4) % len(words) + 4], "big")
        line = f"    PARAMETER_{i:05d} = {value / 2**32:.6f}\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines).encode()[:TILE]


def _tile(name: str, k: int) -> bytes:
    block = _block(name)
    shift = (k * 2654435761 + len(name)) % TILE
    return block[shift:] + block[:shift]


def _filler(name: str, start: int, length: int) -> bytes:
    """Bytes [start, start+length) of the tiled filler (offsets relative to its start)."""
    parts: list[bytes] = []
    end = start + length
    pos = start
    while pos < end:
        k, off = divmod(pos, TILE)
        take = min(TILE - off, end - pos)
        parts.append(_tile(name, k)[off : off + take])
        pos += take
    return b"".join(parts)


def filler(name: str, start: int, length: int) -> bytes:
    """Bytes [start, start+length) of the deterministic filler of ``name``."""
    return _filler(name, start, length)


def mutate(data: bytes, offset: int, size: int, version: int) -> bytes:
    """``data`` read at ``offset`` of a ``size``-byte file, as content ``version`` has it."""
    return _apply_mutation(data, offset, size, _mutation_offset(size), version)


def _mutation_offset(size: int) -> int:
    # the middle of the file; min_size() keeps every header well below size // 2
    return max(4, min(size // 2, size - _MUTATE_LEN))


def _apply_mutation(data: bytes, offset: int, size: int, mut: int, version: int) -> bytes:
    """XOR the 16 mutated bytes of ``version`` into ``data`` read at ``offset``."""
    lo, hi = max(offset, mut), min(offset + len(data), mut + _MUTATE_LEN, size)
    if version <= 0 or lo >= hi:
        return data
    buf = bytearray(data)
    for pos in range(lo, hi):
        buf[pos - offset] ^= (0x5A + version) & 0xFF or 0x5A
    return bytes(buf)


@dataclass(frozen=True)
class PlainSource:
    """One plain file: header + filler, ``size`` bytes long."""

    name: str
    size: int

    def read(self, offset: int, length: int, version: int = 0) -> bytes:
        """Bytes [offset, offset+length) of the file (clipped at its end)."""
        length = max(0, min(length, self.size - offset))
        if length == 0:
            return b""
        head = header(self.name, self.size)[: self.size]
        parts = [head[offset : offset + length]] if offset < len(head) else []
        start = max(offset, len(head))
        if start < offset + length:
            parts.append(_filler(self.name, start - len(head), offset + length - start))
        data = b"".join(parts)
        mut = _mutation_offset(self.size)
        return _apply_mutation(data, offset, self.size, mut, version)


class DocumentSource:
    """A generated text document (a STAC sidecar) padded with spaces to ``size`` bytes.

    ``render`` is called on the first read only; JSON allows trailing whitespace, so the
    padded file still parses, and its size is fixed by the layout before rendering.
    """

    def __init__(self, name: str, size: int, render: Callable[[], bytes]) -> None:
        self.name = name
        self.size = size
        self._render = render
        self._data: bytes | None = None

    def data(self) -> bytes:
        """The whole document, padded (rendered once)."""
        if self._data is None:
            text = self._render()
            if len(text) + 1 > self.size:
                raise ValueError(f"{self.name}: {len(text)} bytes do not fit in {self.size}")
            self._data = text + b" " * (self.size - len(text) - 1) + b"\n"
        return self._data

    def read(self, offset: int, length: int, version: int = 0) -> bytes:
        """Bytes [offset, offset+length) of the document."""
        data = self.data()[offset : offset + max(0, length)]
        return _apply_mutation(data, offset, self.size, _mutation_offset(self.size), version)


class MemberSource(Protocol):
    """One product file (a tar member or a single download), readable at any offset."""

    @property
    def name(self) -> str:
        """The file name."""

    @property
    def size(self) -> int:
        """Length in bytes."""

    def read(self, offset: int, length: int, version: int = 0) -> bytes:
        """Bytes [offset, offset+length), clipped at the end, as content ``version`` has it."""


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 1598054400  # 2020-08-22, the C2 reprocessing date; fixed for determinism
    info.uname = info.gname = "landsat"
    return info.tobuf(format=tarfile.USTAR_FORMAT)


@dataclass(frozen=True)
class _Segment:
    start: int
    length: int
    member: MemberSource | None  # None: literal ``raw`` bytes or zeros
    raw: bytes = b""


class TarSource:
    """A tar bundle assembled on the fly from its members' sources."""

    def __init__(
        self,
        name: str,
        lay: Layout,
        member: Callable[[str, int], MemberSource] = PlainSource,
    ) -> None:
        self.name = name
        self.size = lay.tar_size
        self.segments: list[_Segment] = []
        pos = 0
        biggest = (0, 0)
        for member_name, member_size in lay.members:
            raw = _tar_header(member_name, member_size)
            self.segments.append(_Segment(pos, 512, None, raw))
            pos += 512
            self.segments.append(_Segment(pos, member_size, member(member_name, member_size)))
            biggest = max(biggest, (member_size, pos))
            pos += member_size
            pad = -member_size % 512
            if pad:
                self.segments.append(_Segment(pos, pad, None, b""))
                pos += pad
        self.segments.append(_Segment(pos, self.size - pos, None, b""))
        self._starts = [s.start for s in self.segments]
        self._mutation = biggest[1] + biggest[0] // 2  # inside the biggest member's data

    def read(self, offset: int, length: int, version: int = 0) -> bytes:
        """Bytes [offset, offset+length) of the tar (clipped at its end)."""
        end = min(self.size, offset + length)
        parts: list[bytes] = []
        pos = offset
        i = max(0, bisect.bisect_right(self._starts, pos) - 1)
        while pos < end and i < len(self.segments):
            seg = self.segments[i]
            rel = pos - seg.start
            take = min(seg.length - rel, end - pos)
            if seg.member is not None:
                parts.append(seg.member.read(rel, take))
            elif seg.raw:
                parts.append(seg.raw[rel : rel + take])
            else:
                parts.append(bytes(take))
            pos += take
            i += 1
        data = b"".join(parts)
        return _apply_mutation(data, offset, self.size, self._mutation, version)


Source = MemberSource | TarSource
