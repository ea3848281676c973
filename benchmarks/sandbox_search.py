"""Benchmark: how long the sandbox takes to answer scene-search, filter by filter.

Run with the project's venv: ``.venv/bin/python benchmarks/sandbox_search.py [--repeat 3]``.

It starts an in-process sandbox on 127.0.0.1 (a free port), logs in, and times each search
over real HTTP (stdlib ``urllib``), taking the median of ``--repeat`` runs after one warm-up.
The searches cover a metadata filter alone (entity id, display id, several ids under ``or``,
path/row, sensor, satellite, off-nadir), no filter at all, a spatial + date search and sorted
searches. It prints one line per search and exits 1 if any search without a spatial and
date filter (a "metadata-only" search) takes 1 s or more (docs/sandbox.md, "Search").

Only the standard library and m2mdl are imported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from typing import Any

from m2mdl.sandbox import Sandbox, SandboxConfig

L2 = "landsat_ot_c2_l2"
LIMIT_SECONDS = 1.0
CLEAR = {"min": 0, "max": 5}
ANCHORAGE_MBR = {
    "filterType": "mbr",
    "lowerLeft": {"latitude": 61.0031, "longitude": -150.9495},
    "upperRight": {"latitude": 61.4834, "longitude": -148.9555},
}


def _value(fid: str, value: str) -> dict[str, str]:
    return {"filterType": "value", "filterId": fid, "value": value}


def cases() -> list[tuple[str, bool, dict[str, Any]]]:
    """(name, metadata-only?, scene-search body) for every timed search."""
    scene = "5e83d14fc84c9a78"
    product = "5e83d14f567d0086"
    ids = ["LC80680172020070LGN00", "LC80680182020070LGN00", "LC80670182020063LGN00"]
    meta_only: dict[str, Any] = {
        "entity id": _value(scene, ids[0]),
        "display id": _value(product, "LC08_L2SP_068017_20200310_20200822_02_T1"),
        "3 entity ids (or)": {
            "filterType": "or",
            "childFilters": [_value(scene, i) for i in ids],
        },
        "path/row (and)": {
            "filterType": "and",
            "childFilters": [_value("5e83d14fb9436d88", "68"), _value("5e83d14ff1eda1b8", "17")],
        },
        "sensor OLI_TIRS": _value("5e83d14fc6e09eb6", "OLI_TIRS"),
        "satellite 9": _value("61af9273566bb9a8", "9"),
        "off nadir": _value("5f6aa429b870fd7f", "OFFNADIR"),
        "tier RT (matches nothing in L2)": _value("5f6a6fb2137a3c00", "RT"),
    }
    out: list[tuple[str, bool, dict[str, Any]]] = [
        (name, True, {"datasetName": L2, "sceneFilter": {"metadataFilter": flt}})
        for name, flt in meta_only.items()
    ]
    out += [
        ("no filter", True, {"datasetName": L2}),
        ("500 per page", True, {"datasetName": L2, "sceneFilter": {}, "maxResults": 500}),
        ("no filter, sorted by cloud cover", True, {"datasetName": L2, "sortField": "cloudCover"}),
        ("seasonal: January", True, {"datasetName": L2, "sceneFilter": {"seasonalFilter": [1]}}),
        ("cloud cover <= 5", True, {"datasetName": L2, "sceneFilter": {"cloudCoverFilter": CLEAR}}),
        (
            "Anchorage mbr + 2020",
            False,
            {
                "datasetName": L2,
                "sceneFilter": {
                    "spatialFilter": ANCHORAGE_MBR,
                    "acquisitionFilter": {"start": "2020-01-01", "end": "2020-12-31"},
                },
            },
        ),
    ]  # fmt: skip
    return out


def _post(url: str, body: Any, key: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["X-Auth-Token"] = key
    # url is the in-process sandbox's http://127.0.0.1 address, never user input
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)  # noqa: S310
    with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310
        envelope = json.load(resp)
    if envelope.get("errorCode"):
        raise RuntimeError(f"{envelope['errorCode']}: {envelope['errorMessage']}")
    return envelope["data"]


def main(argv: list[str] | None = None) -> int:
    """Time every case; exit 1 if a metadata-only search takes LIMIT_SECONDS or more."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per search (median)")
    args = parser.parse_args(argv)
    slow: list[str] = []
    with Sandbox(SandboxConfig(data_scale=0.001)) as sb:
        key = _post(sb.api_url + "login-token", {"username": "demo", "token": "demo-token"})
        print(f"{'search':<36} {'median s':>9} {'max s':>7} {'hits':>6} {'totalHits':>10}")
        for name, meta_only, body in cases():
            _post(sb.api_url + "scene-search", body, key)  # warm-up (fills caches)
            times: list[float] = []
            data: Any = None
            for _ in range(max(1, args.repeat)):
                started = time.perf_counter()
                data = _post(sb.api_url + "scene-search", body, key)
                times.append(time.perf_counter() - started)
            median, worst = statistics.median(times), max(times)
            flag = ""
            if meta_only and worst >= LIMIT_SECONDS:
                slow.append(name)
                flag = "  <-- too slow"
            print(
                f"{name:<36} {median:9.3f} {worst:7.3f} {data['recordsReturned']:6d}"
                f" {data['totalHits']:10d}{flag}"
            )
    if slow:
        print(f"metadata-only searches at or over {LIMIT_SECONDS} s: {', '.join(slow)}")
        return 1
    print(f"every metadata-only search answered in under {LIMIT_SECONDS} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
