"""Sets of byte ranges as sorted lists of half-open ``(start, end)`` pairs.

Pure functions; the journal stores these lists and ``PartFile`` keeps them per file.
"""

from __future__ import annotations

Range = tuple[int, int]


def add_range(ranges: list[Range], start: int, end: int) -> list[Range]:
    """Return ``ranges`` with ``[start, end)`` added, merged and sorted."""
    if end <= start:
        return list(ranges)
    merged: list[Range] = []
    for lo, hi in sorted([*ranges, (start, end)]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def covered(ranges: list[Range]) -> int:
    """Return the number of bytes in ``ranges``."""
    return sum(hi - lo for lo, hi in ranges)


def missing(ranges: list[Range], total: int | None) -> list[tuple[int, int | None]]:
    """Return the gaps of ``ranges`` in ``[0, total)``; with ``total`` None the last is open."""
    gaps: list[tuple[int, int | None]] = []
    pos = 0
    for lo, hi in ranges:
        if lo > pos:
            gaps.append((pos, lo))
        pos = max(pos, hi)
    if total is None:
        gaps.append((pos, None))
    elif pos < total:
        gaps.append((pos, total))
    return gaps


def prefix_end(ranges: list[Range]) -> int:
    """Return the end of the range starting at 0, or 0 when byte 0 is missing."""
    return ranges[0][1] if ranges and ranges[0][0] == 0 else 0


def is_valid(ranges: object, limit: int | None) -> bool:
    """Return True if ``ranges`` (e.g. read from JSON) is a sorted, disjoint list in bounds."""
    if not isinstance(ranges, list):
        return False
    pos = -1
    for item in ranges:
        if not (isinstance(item, list | tuple) and len(item) == 2):
            return False
        lo, hi = item
        if not (type(lo) is int and type(hi) is int and pos < lo < hi):
            return False
        pos = hi
    return limit is None or pos <= limit
