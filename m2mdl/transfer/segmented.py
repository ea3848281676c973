"""Where a file's byte ranges are cut: when a stream splits, and how large pieces are.

The file's coordinator (``coordinator.py``) applies these rules; they decide nothing else.

When to split (``TransferOptions.split_after``): every file starts on one connection. A
stream reports its measured rate every ``single.RATE_INTERVAL``; when connections are idle
(no queued file will take them) and the stream's remaining bytes at that rate would take
longer than ``split_after`` seconds (``splittable``), the stream keeps a first piece of its
rest and the bytes after it are handed out as pieces, in file order, to idle connections (at
most ``segments`` per file). So a fast link, where one stream is quickest, never splits, a
capped one splits early, and the last large file of a run gets the connections the finished
files left (the tail of a run is not one connection). The stream whose segment was cut stops
at its new end and drops its connection (the bytes in flight are lost; at a capped rate that
is little). The journal records byte ranges, so a split file resumes gap by gap.

Ordered pieces: SHA-512 is sequential, so bytes written far ahead of the contiguous prefix
wait to be hashed. Cutting the rest into pieces of about ``PIECE_SECONDS`` of the measured
rate, handed out lowest first, keeps the written region nearly contiguous and the hash
follows it during the transfer (with 4 equal segments it hashed 3/4 of the file after the
last byte). Pieces shrink to the connections' fair share near the end so they finish
together (docs/design.md §Transfer engine: file coordinator and ordered pieces). With
``split_after`` 0 the split is planned up front into equal segments (``plan_split``),
without a measured rate.

Segments write with ``os.pwrite`` into the preallocated ``.part`` (docs/design.md §Transfer engine:
preallocation and segments; 4 threads reached 1.15x curl; under a per-connection cap they matched
aria2 -x4). Each connection still holds a limiter slot per request, so files and segments together
never use more than ``workers`` connections.
"""

from __future__ import annotations

import itertools

from .errors import Cancelled, DeadlineReached, NoSpace, RestartNeeded, Stopped, TransferError
from .model import TransferOptions
from .task import FileTask, Segment

#: A stream faster than this (bytes per second) is never split, however long its rest: at
#: such rates the client's CPU (SHA-512 at about 825 MiB/s, the copies, the writes) bounds
#: it, not the path, and more connections only add work. Measured, 1 GiB from nginx on
#: loopback: 4 segments took 3.66 s against 1.62 s for one stream. Per-connection caps of
#: file servers (about 20 MiB/s) are far below it.
FAST_STREAM = 100 * 2**20
#: A piece lasts about this many seconds at the measured per-connection rate (40 MiB at
#: 20 MiB/s: about 26 requests per GiB plus the shrinking last ones). Shorter pieces would
#: keep the written region more contiguous but cost a request (a round trip and a slower
#: TCP start on a real network) each; with 4 connections the hash's tail after the last
#: byte is at most about 3 pieces read back from the page cache.
PIECE_SECONDS = 2.0

# The first error of a kind earlier in this list wins when several segments fail.
_PRIORITY: tuple[type[TransferError], ...] = (Stopped, NoSpace, DeadlineReached, RestartNeeded)


def pick_error(errors: list[BaseException]) -> BaseException:
    """Choose which of several segment failures to report (bugs first, Cancelled last)."""
    for exc in errors:
        if not isinstance(exc, TransferError):
            return exc
    for kind in _PRIORITY:
        for exc in errors:
            if isinstance(exc, kind):
                return exc
    real = [exc for exc in errors if not isinstance(exc, Cancelled)]
    return (real or errors)[0]


def splittable(task: FileTask, seg: Segment, rate: float) -> bool:
    """True when ``seg``, streaming at ``rate``, may give part of its rest to an idle
    connection.

    Only for a file of at least ``segment_min_size`` whose server proved Range works, with
    ``split_after`` above 0 (0 plans the split up front instead), while the rest would take
    more than ``split_after`` seconds at ``rate``, the stream is slower than ``FAST_STREAM``
    and the rest holds two pieces of at least ``min_piece``.
    """
    opts = task.options
    total = task.part.total
    left = seg.left()
    if (
        opts.split_after <= 0
        or left is None
        or seg.short_end is not None
        or total is None
        or total < opts.segment_min_size
        or not task.ranges.usable()
    ):
        return False
    if rate <= 0 or rate >= FAST_STREAM or left / rate <= opts.split_after:
        return False
    return left >= 2 * min_piece(opts)


def min_piece(options: TransferOptions) -> int:
    """The smallest piece handed to a connection: 4 chunks (a request costs a round trip)."""
    return 4 * options.chunk_size


def piece_size(options: TransferOptions, rate: float, remaining: int, lanes: int) -> int:
    """The size of the next piece (or of the part a stream keeps when it splits).

    ``remaining``: the bytes not fetched yet (handed out or not); ``lanes``: the connections
    that will share them. A piece is the lanes' fair share of ``remaining`` (so near the end
    pieces shrink and the connections finish together, guided-scheduling style), but at most
    ``PIECE_SECONDS`` at ``rate`` (so the bytes arrive nearly in file order and the hash
    follows them) and at least ``min_piece``.
    """
    smallest = min_piece(options)
    target = max(smallest, int(rate * PIECE_SECONDS))
    fair = remaining // max(1, lanes)
    return max(smallest, min(target, fair))


def take_split(task: FileTask, seg: Segment) -> list[Segment]:
    """After a response was accepted: the extra segments to start now (maybe none).

    With ``split_after`` 0 (split up front): a split planned before the first request (the
    size was known) starts once a 206 proved that Range works; otherwise the first accepted
    206 may split the file now, once. Otherwise streams split later (``splittable``).
    """
    planned, may_split = task.ranges.take_split()
    if planned:
        return planned
    if not may_split or task.part.total is None or seg.end is None:
        return []
    return plan_split(task, seg, task.part.total)


def plan_split(task: FileTask, seg: Segment, total: int) -> list[Segment]:
    """Shrink ``seg`` to its first part and return the other parts, or [] to keep it whole.

    Only for files of at least ``segment_min_size`` and only as far as connections are
    spare: the limit is shared among unfinished files first (split across files first,
    docs/design.md §Transfer engine: concurrency), and every part must be at least 4 chunks long.
    """
    opts = task.options
    if total < opts.segment_min_size or seg.end is None:
        return []
    share = task.run.limiter.limit // max(1, task.run.unfinished())
    count = min(opts.segments, share, (seg.end - seg.start) // (4 * opts.chunk_size))
    if count < 2:
        return []
    return cut(seg, count)


def cut(seg: Segment, count: int) -> list[Segment]:
    """Shrink ``seg`` (of known end) to the first of ``count`` equal parts; return the rest."""
    assert seg.end is not None
    span = seg.end - seg.start
    bounds = [seg.start + span * i // count for i in range(count + 1)]
    first_end = seg.cut(bounds[1])  # where the segment really ends if it got further
    edges = [first_end, *(b for b in bounds[2:] if b > first_end)]
    return [Segment(lo, hi) for lo, hi in itertools.pairwise(edges)]
