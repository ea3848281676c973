"""Running the real CLI in-process against a sandbox, and reading the sandbox's log."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from m2mdl.cli import app
from m2mdl.sandbox import Sandbox

ANCHORAGE = Path(__file__).resolve().parents[1] / "examples" / "anchorage.geojson"
NOTEBOOK_QUERY = [
    "--aoi",
    str(ANCHORAGE),
    "--start",
    "2020-03-01",
    "--end",
    "2020-03-15",
    "--cloud-max",
    "60",
]
SCENES = {
    "LC80680172020070LGN00": "LC08_L2SP_068017_20200310_20200822_02_T1",
    "LC80680182020070LGN00": "LC08_L2SP_068018_20200310_20200822_02_T1",
    "LC80670182020063LGN00": "LC08_L2SP_067018_20200303_20200822_02_T1",
}


@dataclass
class Run:
    """The outcome of one CLI invocation."""

    exit_code: int
    stdout: str
    stderr: str


def env_for(sb: Sandbox, **extra: str) -> dict[str, str]:
    """Environment that points m2mdl at the sandbox as user demo."""
    return {
        "M2MDL_API_URL": sb.api_url,
        "M2MDL_STAC_URL": sb.stac_url,
        "M2MDL_USERNAME": "demo",
        "M2MDL_TOKEN": "demo-token",
        **extra,
    }


def run(
    args: Sequence[str], env: Mapping[str, str | None] | None = None, input: str | None = None
) -> Run:
    """Invoke ``m2mdl ARGS`` in-process; exceptions are never swallowed silently."""
    result = CliRunner().invoke(app, list(args), env=env, input=input, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def calls(sb: Sandbox, endpoint: str | None = None) -> list[dict[str, Any]]:
    """API records (optionally of one endpoint) from the sandbox's log."""
    return [
        r
        for r in sb.records()
        if r.get("kind") == "api" and (endpoint is None or r.get("endpoint") == endpoint)
    ]


def file_bytes(sb: Sandbox) -> int:
    """Body bytes the download host has sent so far."""
    return sum(int(r.get("bytes") or 0) for r in sb.records() if r.get("kind") == "file")


def manifest(out: Path) -> dict[str, Any]:
    """The newest manifest in ``out``."""
    paths = sorted(out.glob("m2mdl-manifest-*.json"))
    assert paths, f"no manifest in {out}"
    return json.loads(paths[-1].read_text())  # type: ignore[no-any-return]


CATALOG = "catalog.json"


def is_catalog_file(out: Path, path: Path) -> bool:
    """``OUT/catalog.json`` or a scene's STAC item ``OUT/<display id>/<display id>.json``."""
    rel = path.relative_to(out).parts
    return rel == (CATALOG,) or (len(rel) == 2 and rel[1] == f"{rel[0]}.json")


def data_files(out: Path) -> list[Path]:
    """The downloaded files in ``out``, in either layout (``OUT/<display id>/`` folders or
    ``OUT`` itself), without manifests and the STAC catalog, sorted by name."""
    found = []
    for path in out.iterdir():
        children = sorted(path.iterdir()) if path.is_dir() else [path]
        found += [
            child
            for child in children
            if not child.name.startswith("m2mdl-manifest-") and not is_catalog_file(out, child)
        ]
    return sorted(found, key=lambda p: p.name)
