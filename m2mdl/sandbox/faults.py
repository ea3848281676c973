"""Fault bookkeeping: which request gets which fault.

File faults count per served file name (``fail_times=2`` fails the first two requests of
*each* file, so a multi-file download sees every fault); API faults count globally over
API calls other than login-token and logout.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from m2mdl.sandbox.config import Faults

API_EXEMPT = {"login-token", "logout"}


@dataclass(frozen=True)
class FilePlan:
    """What happens to one file request."""

    number: int  # 1-based request count for this file name
    version: int  # content version served (mutate_after)
    fail: bool
    html200: bool
    drop: bool
    stall: bool
    flip: bool = False  # one byte of the body is flipped
    zero: bool = False  # the body after the magic header is zeros


class FaultCounters:
    """Counters behind :class:`Faults`, safe across handler threads."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, int]] = {}
        self._api: dict[str, int] = {"fail": 0, "garbage": 0, "error": 0}

    def _take(self, counts: dict[str, int], name: str, limit: int) -> bool:
        if counts.get(name, 0) < limit:
            counts[name] = counts.get(name, 0) + 1
            return True
        return False

    def file_request(self, name: str) -> FilePlan:
        """Count a request of ``name`` and decide its faults (checked in this order)."""
        f = self.faults
        with self._lock:
            c = self._files.setdefault(name, {})
            c["n"] = c.get("n", 0) + 1
            fail = f.fail_status is not None and self._take(c, "fail", f.fail_times)
            html = not fail and self._take(c, "html", f.html200_times)
            drop = (
                not (fail or html)
                and f.drop_after is not None
                and self._take(c, "drop", f.drop_times)
            )
            stall = (
                not (fail or html or drop)
                and f.stall_after is not None
                and self._take(c, "stall", f.stall_times)
            )
            served = not (fail or html)
            flip = served and self._take(c, "flip", f.flip_byte_times)
            zero = served and self._take(c, "zero", f.zero_body_times)
            return FilePlan(c["n"], self._version(c["n"]), fail, html, drop, stall, flip, zero)

    def _version(self, count: int) -> int:
        after = self.faults.mutate_after
        return 1 if after is not None and count > after else 0

    def version(self, name: str) -> int:
        """The version the latest request of ``name`` saw (0 before any request)."""
        with self._lock:
            return self._version(self._files.get(name, {}).get("n", 0))

    def api_plan(self, endpoint: str) -> str | None:
        """``"fail"``, ``"garbage"``, ``"error"`` or None for the next API call."""
        if endpoint in API_EXEMPT:
            return None
        f = self.faults
        with self._lock:
            if f.api_fail_status is not None and self._take(self._api, "fail", f.api_fail_times):
                return "fail"
            if self._take(self._api, "garbage", f.api_garbage_times):
                return "garbage"
            if (
                f.api_error
                and (f.api_error_endpoint in (None, endpoint))
                and self._take(self._api, "error", f.api_error_times)
            ):
                return "error"
        return None
