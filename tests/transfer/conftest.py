"""Fixtures for the transfer engine tests: the fault server and fast options."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from m2mdl.transfer import TransferOptions

from .faultserver import FaultServer


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """A running fault server."""
    with FaultServer() as running:
        yield running


@pytest.fixture
def fast() -> TransferOptions:
    """Options with tiny backoffs and timeouts so failing cases finish quickly."""
    return TransferOptions(
        workers=4,
        chunk_size=64 * 1024,
        journal_interval=256 * 1024,
        segment_min_size=1024 * 1024,
        backoff_base=0.01,
        backoff_cap=0.05,
        retry_after_cap=0.2,
        connect_timeout=2.0,
        read_timeout=5.0,
        stall_bytes=1024,
        stall_seconds=1.0,
        split_after=0.0,  # split up front, as soon as connections are spare (test_split.py
        # covers the default: split late, after measuring the first stream's rate)
    )
