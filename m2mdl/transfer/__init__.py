"""The transfer engine: resumable, verified, parallel HTTP downloads.

It knows nothing about M2M. The caller builds ``FileJob``s and calls ``run_transfers``.
From the rest of m2mdl only ``m2mdl.errors`` and the shared leaf helpers of ``m2mdl.util``
(``fs``, ``net``, ``jsontypes``) are imported; neither typer nor rich is used.

Design decisions (measurements were taken on the project's 2-core development VM):

* Files: ``NAME.part`` plus the journal ``NAME.part.json`` (validators, size, URL without
  query, durable byte ranges). The journal is rewritten (tmp + fsync + rename + dir fsync)
  by a per-file helper thread after every ``journal_interval / 2`` new bytes (the stream
  waits only if the previous rewrite is still running, so the journal never lags by more
  than about ``journal_interval``) and on stop, always after an fsync of the data, so it
  never claims bytes the disk may not hold. A file that ends before its first rewrite never
  gets a journal (its ``.part`` alone is truncated by the next run). ``NAME`` appears only
  through ``os.replace`` after size, magic and SHA-512 checks (``partfile.py``); directory
  fsyncs of concurrent publishes are shared (``fsutil.fsync_dir``).
* One owner per file (``coordinator.py``): a coordinator loop in the file's worker thread
  decides every range each connection fetches, retries and their backoff, URL refreshes,
  restarts from zero, splits, the hash's catch-up and publish. Connection threads
  (``lane.py``) only move bytes: each sends the request its assignment carries
  (``single.py``), reports the response's status and headers through a queue and waits
  for the coordinator's verdict (``response.py``: size, validators, where the segment
  ends), then writes the body and reports its rate and its end (or error). A connection
  changes nothing of the file's state but the bytes it writes (``PartFile.write``), the
  start of its own segment (``Segment.claim``, under the lock that lets the coordinator
  cut the segment's end) and locked counters (attempts, bytes received).
  docs/design.md §Transfer engine: file coordinator and ordered pieces.
* Hot path (``single.py``): one body loop reads with urllib3's public ``read1`` (one
  ``recv``, up to a chunk, no decoding), writes with ``os.pwrite`` and queues the same
  ``bytes`` for the hasher's helper thread (no copy, bounded queue); the journal's fsyncs
  run on a flusher thread; bodies read to their end keep their connection alive. The
  durable, hashed prefix is dropped from the page cache after each flush. Measured, 1 GiB
  in one stream from nginx on loopback, SHA-512 checked, 6 interleaved rounds on a noisy
  2-core VM: median 2.49 s wall / 3.79 s CPU reading with ``readinto1``, 2.30 s /
  3.50 s with ``read1``; ``curl -o`` 2.12 s.
* Resume: ``Range: bytes=N-`` + ``If-Range`` (strong ETag, else Last-Modified). Only a 206
  whose Content-Range starts where asked and names the known total is accepted; a 200 to a
  range request truncates and restarts; a 416 finishes a file whose size was unknown when the
  server confirms it, and restarts otherwise (``response.py``).
* Checksums: ``FileJob.expected_sha512`` is compared before the rename; a mismatch is
  refetched from zero, and two complete downloads with the same wrong bytes end as
  "checksum_mismatch" with the bytes kept as ``NAME.checksum-mismatch`` (``filerun.py``).
  Tars can be checked member by member in the same pass (``tarscan.py``); such a tar is
  identified by its tree digest (its headers and padding with each member's SHA-512 in place
  of its data), not by a second SHA-512 of the same bytes.
* Hash strategy: SHA-512 in file order while writing; a resumed prefix is hashed from disk
  once when the file is opened; a file fetched in pieces is hashed as its contiguous prefix
  grows: live where a write lands at the hash's position, otherwise read back from disk
  (usually the page cache) by the coordinator in steps between reports, the small
  remainder before publishing. (Measured with sha256, used then:
  0.58 s CPU/GiB here (1.77 GiB/s with SHA-NI); the catch-up pass 0.63 s CPU/GiB
  (``hashing.py``).) End to end against the in-process fault server on loopback, a 512 MiB
  download cost the client 2.1-2.5 s CPU/GiB as one stream and 1.3-1.7 s/GiB with 4 segments
  (hashing and fsyncs included; noisy 2-vCPU VM shared with the server).
* Attempt budget: ``max_attempts`` failures per file in a row without progress; it refills
  whenever the file got at least one chunk beyond its best position in this run (a
  high-water mark, so a file that keeps changing and restarting does not refill it). The
  global ``deadline`` bounds everything else (``retry.py``).
* Backoff: full jitter, ``uniform(0, min(cap, base * 2**(n-1)))``; Retry-After (seconds or
  date) wins, capped at ``retry_after_cap``.
* Refresh: 401/403/410 and HTML/JSON pages call ``FileJob.refresh_url`` (once per failure
  for all segments of a file), then resume with the stored validators; a changed file then
  fails If-Range and restarts from 0.
* Concurrency: ``workers`` file threads; every HTTP request holds a slot of an adaptive
  limit that starts at ``workers``, drops by one on each 429/503 (never below 1) and grows
  by one after ``adaptive_successes`` accepted responses in a row. Every file starts on one
  connection; a stream that is slow (its rest would take more than ``split_after`` seconds
  at the rate it shows) while connections are idle keeps a first piece of its rest, and the
  rest is handed out as Range pieces in file order (about 2 s at the measured rate each,
  the connections' fair share near the end), up to ``segments`` connections per file
  (``segmented.py``): a fast link never splits, a capped one does, the hash keeps up with
  the bytes, and the last large file of a run gets the connections the others left. A 200
  to a Range request means no segments for that file.
* Rate limit: ``limit_rate`` caps the bytes per second of the whole run with one token
  bucket that every stream pays before its next read (``ratelimit.py``).
* Stalls and stops: a watchdog thread shuts the socket of any stream that got fewer than
  ``stall_bytes`` in ``stall_seconds``, or whose file must stop (stop event, deadline, full
  disk, a failed sibling segment); so a stop is prompt while bodies stream. A stop while
  connecting or waiting for headers takes up to ``connect_timeout``/``read_timeout``.
* Disk full (ENOSPC/EDQUOT, also from posix_fallocate, which makes it show up front): the
  file stops writing and keeps its ``.part`` and its last journal untouched; fail-fast, the
  other files stop too and end with error_kind "disk_full" (they share the disk).
* Other local write errors (EIO, EACCES, EROFS...) end the file with error_kind "io".
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checks import hash_file, looks_complete, verify_existing
    from .engine import run_transfers
    from .errors import HeaderError, TransferInterrupted, UnsafeFileName
    from .filerun import MISMATCH_SUFFIX
    from .http_parse import parse_content_disposition, parse_content_range
    from .lock import DirectoryLock, DirectoryLocked
    from .model import (
        FileJob,
        FileResult,
        MemberCheck,
        MemberVerdict,
        NullSink,
        ProgressSink,
        TransferOptions,
    )
    from .naming import safe_join
    from .stale import find_stale_parts
    from .tarscan import TarContents

#: Public name -> the submodule that defines it. Imported on first use (PEP 562), so that
#: ``m2mdl.transfer.lock`` (taken before a download's first API call) does not load the
#: engine and its helpers: a command's start-up pays only for what it uses.
_WHERE = {
    "MISMATCH_SUFFIX": "filerun",
    "DirectoryLock": "lock",
    "DirectoryLocked": "lock",
    "FileJob": "model",
    "FileResult": "model",
    "HeaderError": "errors",
    "MemberCheck": "model",
    "MemberVerdict": "model",
    "NullSink": "model",
    "ProgressSink": "model",
    "TarContents": "tarscan",
    "TransferInterrupted": "errors",
    "TransferOptions": "model",
    "UnsafeFileName": "errors",
    "find_stale_parts": "stale",
    "hash_file": "checks",
    "looks_complete": "checks",
    "parse_content_disposition": "http_parse",
    "parse_content_range": "http_parse",
    "run_transfers": "engine",
    "safe_join": "naming",
    "verify_existing": "checks",
}

__all__ = [
    "MISMATCH_SUFFIX",
    "DirectoryLock",
    "DirectoryLocked",
    "FileJob",
    "FileResult",
    "HeaderError",
    "MemberCheck",
    "MemberVerdict",
    "NullSink",
    "ProgressSink",
    "TarContents",
    "TransferInterrupted",
    "TransferOptions",
    "UnsafeFileName",
    "find_stale_parts",
    "hash_file",
    "looks_complete",
    "parse_content_disposition",
    "parse_content_range",
    "run_transfers",
    "safe_join",
    "verify_existing",
]


def __getattr__(name: str) -> Any:  # Any: PEP 562 hook; mypy types each name by the imports
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{where}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value
