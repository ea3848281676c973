"""Configuration of the sandbox: users, data scale, clock and injected faults.

Everything here is plain data so the CLI (``__main__``), the Python API and the pytest
fixtures build the same objects.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .service import ServiceOptions

#: The STAC API root path, as on landsatlook.usgs.gov.
STAC_PREFIX = "/stac-server"


@dataclass(frozen=True)
class UserSpec:
    """One ERS account the sandbox accepts on ``login-token``.

    ``contact_id`` becomes the ``cid`` of the API key and the ``contactId`` of signed URLs.
    """

    username: str
    token: str
    permissions: tuple[str, ...] = ("user", "download", "order")
    contact_id: int = 27100031


def default_users() -> tuple[UserSpec, ...]:
    """The built-in accounts: ``demo`` (full M2M access) and ``noaccess`` (no download role).

    ``noaccess`` reproduces accounts without the MACHINE role: download-options and
    download-request answer AUTH_UNAUTHROIZED (docs/design.md §M2M API: authentication).
    """
    return (
        UserSpec("demo", "demo-token", ("user", "download", "order"), 27100031),
        UserSpec("noaccess", "noaccess-token", ("user",), 27100032),
    )


@dataclass
class Faults:
    """Faults to inject. ``None``/0 means off.

    File faults apply to the download host; their counters are kept per served file name
    (so ``fail_times=2`` fails the first two requests for *each* file). API faults count
    globally over all API calls except login-token and logout.
    """

    rate: int | None = None  # bytes per second per connection
    drop_after: int | None = None  # reset the connection after this many body bytes ...
    drop_times: int = 1  # ... for the first N requests of each file
    fail_status: int | None = None  # answer this HTTP status (HTML body) ...
    fail_times: int = 1  # ... for the first N requests of each file
    retry_after: int | None = None  # Retry-After seconds sent with fail_status
    html200_times: int = 0  # first N requests of each file get an HTML page with status 200
    ignore_range: bool = False  # answer 200 with the full body to Range requests
    mutate_after: int | None = None  # after N requests of a file its content/ETag change
    url_ttl: float | None = None  # signed URLs older than this many seconds get 403
    stall_after: int | None = None  # stop sending after this many body bytes ...
    stall_times: int = 1  # ... for the first N requests of each file ...
    stall_seconds: float = 120.0  # ... keep the socket open this long, then close
    preparing_seconds: float | None = None  # downloads are "preparing" for this long
    ttfb: float = 0.0  # seconds to wait before the status line of file responses
    api_error: str | None = None  # errorCode for the next api_error_times API calls
    api_error_times: int = 1
    api_error_endpoint: str | None = None  # limit api_error to this endpoint
    api_fail_status: int | None = None  # HTTP status with an HTML body for API calls ...
    api_fail_times: int = 1  # ... for the next N API calls
    api_garbage_times: int = 0  # next N API calls get HTTP 200 with a non-JSON body
    evil_filename: str | None = None  # Content-Disposition filename override
    flip_byte_times: int = 0  # first N responses of each file get one byte flipped
    zero_body_times: int = 0  # first N responses of each file: magic header, then zeros
    stac_down: bool = False  # every STAC API call answers 503 with an HTML body
    wrong_checksum: str | None = None  # fnmatch pattern: these files get a wrong checksum
    stac_no_checksums: bool = False  # STAC items and sidecars without file:checksum
    clock_skew: float = 0.0  # seconds added to every Date response header


@dataclass
class SandboxConfig:
    """How a :class:`~m2mdl.sandbox.Sandbox` runs.

    ``data_scale`` scales every file size (1.0 = realistic, bundles near the recorded
    ~0.9 GB); ``now`` is the sandbox clock (seconds since the epoch), used for the catalog's
    newest scenes and for key expiry; ``files_dir``/``files_url`` make the sandbox write
    requested files to disk and hand out URLs under ``files_url`` (for a static server).
    """

    host: str = "127.0.0.1"
    port: int = 0
    data_scale: float = 0.01
    key_idle_seconds: float = 7200.0
    users: tuple[UserSpec, ...] = field(default_factory=default_users)
    faults: Faults = field(default_factory=Faults)
    service: ServiceOptions = field(default_factory=ServiceOptions)
    log_path: Path | None = None
    files_dir: Path | None = None
    files_url: str | None = None
    api_min_seconds: float = 0.0  # each API call holds the per-IP in-flight slot this long
    secret: bytes = b"m2mdl-sandbox-signing-key"
    now: Callable[[], float] = time.time
