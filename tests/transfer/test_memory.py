"""Constant memory whatever the file size (docs/design.md §Transfer engine: memory; response.content
used ~2x)."""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path

import pytest

from m2mdl.transfer import FileJob, TransferOptions, run_transfers

from .faultserver import FaultServer, make_bytes, sha512
from .support import RecordingSink

SIZE = 64 * 2**20


@pytest.mark.parametrize("segmented", [False, True], ids=["single", "segmented"])
def test_peak_memory_stays_small(
    server: FaultServer, fast: TransferOptions, tmp_path: Path, segmented: bool
) -> None:
    data = make_bytes(SIZE)
    server.add("big.bin", data)
    options = dataclasses.replace(
        fast,
        chunk_size=2**20,
        journal_interval=8 * 2**20,
        segment_min_size=32 * 2**20 if segmented else 10**12,
    )
    job = FileJob("k", server.url("big.bin"), tmp_path / "big.bin", expected_size=SIZE)
    tracemalloc.start()
    try:
        [result] = run_transfers([job], options, RecordingSink())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.ok and result.sha512 == sha512(data)
    assert result.attempts == (4 if segmented else 1)
    # O(workers x chunk): 4 streams x 1 MiB reads, plus the server's and requests' buffers.
    print(f"peak {peak / 2**20:.1f} MiB")
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB"
