"""``python -m m2mdl.sandbox``: run the sandbox until SIGINT/SIGTERM.

The first line of stdout is the base URL (e.g. ``http://127.0.0.1:8765``), flushed at once,
so scripts can read it; ``--port 0`` picks a free port.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from m2mdl.sandbox.config import Faults, SandboxConfig
from m2mdl.sandbox.core import Sandbox
from m2mdl.sandbox.service import HELP as SERVICE_HELP
from m2mdl.sandbox.service import ServiceOptions

_HELP = {
    "rate": "bytes per second per connection",
    "drop_after": "reset the connection after this many body bytes (see --drop-times)",
    "drop_times": "--drop-after applies to the first N requests of each file (default 1)",
    "fail_status": "answer this HTTP status with an HTML body (see --fail-times)",
    "fail_times": "--fail-status applies to the first N requests of each file (default 1)",
    "retry_after": "Retry-After seconds sent with --fail-status",
    "html200_times": "first N requests of each file get an HTML page with status 200",
    "ignore_range": "ignore Range and answer 200 with the full body",
    "mutate_after": "after N requests of a file its content, ETag and Last-Modified change",
    "url_ttl": "signed URLs older than S seconds answer 403",
    "stall_after": "stop sending after this many body bytes, keep the socket open",
    "stall_times": "--stall-after applies to the first N requests of each file (default 1)",
    "stall_seconds": "a stalled connection stays open this many seconds, then closes (default 120)",
    "preparing_seconds": "downloads are preparing for S seconds before they are available",
    "ttfb": "seconds to wait before the status line of each file response (default 0)",
    "api_error": "errorCode for the next --api-error-times API calls (e.g. RATE_LIMIT)",
    "api_error_times": "how many API calls get --api-error (default 1)",
    "api_error_endpoint": "only calls to this endpoint (e.g. download-request) get --api-error",
    "api_fail_status": "HTTP status with an HTML body for the next --api-fail-times API calls",
    "api_fail_times": "how many API calls get --api-fail-status (default 1)",
    "api_garbage_times": "next N API calls answer HTTP 200 with a non-JSON body",
    "evil_filename": "Content-Disposition filename override (hostile-name tests)",
    "flip_byte_times": "first N responses of each file get one byte flipped in the middle "
    "(of the served range); headers unchanged",
    "zero_body_times": "first N responses of each file send the right magic header, then "
    "zeros (right size)",
    "stac_down": "every STAC API call answers 503 with an HTML body",
    "wrong_checksum": "fnmatch pattern of file names whose published file:checksum "
    "(STAC items and bundle sidecars) is wrong, e.g. '*_SR_B4.TIF'",
    "stac_no_checksums": "STAC items and sidecars without file:checksum (like older documents)",
    "clock_skew": "seconds added to every Date response header (may be negative)",
}


def _dataclass_options(
    parser: argparse.ArgumentParser, title: str, options: type, helps: dict[str, str]
) -> None:
    """One flag per field of ``options`` (``--field-name``), typed by the field's annotation."""
    group = parser.add_argument_group(title)
    for f in dataclasses.fields(options):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            group.add_argument(flag, action="store_true", help=helps.get(f.name))
            continue
        kind = str if "str" in str(f.type) else float if "float" in str(f.type) else int
        group.add_argument(flag, type=kind, default=None, help=helps.get(f.name))


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m m2mdl.sandbox", description="Local USGS M2M API + download host."
    )
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0: any free port)")
    parser.add_argument(
        "--data-scale",
        type=float,
        default=0.01,
        help="file size scale; 1.0 = realistic (~0.9 GB bundles)",
    )
    parser.add_argument(
        "--key-idle-seconds",
        type=float,
        default=7200.0,
        help="API keys expire after this many idle seconds",
    )
    parser.add_argument(
        "--api-min-seconds",
        type=float,
        default=0.0,
        help="each API call holds the per-IP in-flight slot this long",
    )
    parser.add_argument("--log", type=Path, default=None, help="JSON-lines request log")
    parser.add_argument(
        "--files-dir",
        type=Path,
        default=None,
        help="write requested files here (for a static server)",
    )
    parser.add_argument("--files-url", default=None, help="URL under which --files-dir is served")
    _dataclass_options(parser, "service", ServiceOptions, SERVICE_HELP)
    _dataclass_options(parser, "faults (file downloads unless named api)", Faults, _HELP)
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """A SandboxConfig from parsed arguments."""
    # "is not None", not "not in (None, False)": 0 == False, and --mutate-after 0 matters
    values = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(Faults)
        if getattr(args, f.name) is not None and getattr(args, f.name) is not False
    }
    return SandboxConfig(
        port=args.port,
        data_scale=args.data_scale,
        key_idle_seconds=args.key_idle_seconds,
        api_min_seconds=args.api_min_seconds,
        log_path=args.log,
        files_dir=args.files_dir,
        files_url=args.files_url,
        faults=Faults(**values),
        service=ServiceOptions(
            **{
                f.name: getattr(args, f.name)
                for f in dataclasses.fields(ServiceOptions)
                if getattr(args, f.name) is not None and getattr(args, f.name) is not False
            }
        ),
    )


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT or SIGTERM; exit 0."""
    args = build_parser().parse_args(argv)
    if (args.files_dir is None) != (args.files_url is None):
        print("--files-dir and --files-url go together", file=sys.stderr)
        return 2
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with Sandbox(config_from_args(args)) as sb:
        print(sb.base_url, flush=True)
        print(f"API: {sb.api_url}  users: demo/demo-token, noaccess/noaccess-token", flush=True)
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
