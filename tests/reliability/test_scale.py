"""Case 10: a 20,000+ hit search returns every hit with one scene-search call per page,
in bounded memory; a ~2,000-file dry-run plan stays bounded and makes O(pages) API calls."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox
from m2mdl.workflow.search import SearchQuery

from ..cli_helpers import NOTEBOOK_QUERY
from .helpers import api_calls, cli_env, run_cli

pytestmark = pytest.mark.reliability

BIG_BOX = ["--bbox", "-160", "55", "-140", "68", "--start", "2015-01-01", "--end", "2020-12-31"]
_PAGE_DEFAULT = SearchQuery.__dataclass_fields__["page_size"].default
assert isinstance(_PAGE_DEFAULT, int)
PAGE: int = _PAGE_DEFAULT  # the client's scene-search page size
#: Peak RSS allowed for a CLI process (KiB). A 3-scene search peaks near 50 MiB, 24,112
#: scenes near 220 MiB (measured on the 2-core CI box); twice that is still "bounded".
MAX_RSS_KIB = 512 * 1024


def test_search_with_20000_hits_returns_all_pages(sandbox: Sandbox, tmp_path: Path) -> None:
    small = run_cli(["search", *NOTEBOOK_QUERY, "--output", "json"], cli_env(sandbox))
    assert small.code == 0, small.explain()
    out = tmp_path / "scenes.json"
    result = run_cli(
        ["search", *BIG_BOX, "--output", "json", "--output-file", str(out)],
        cli_env(sandbox),
        timeout=180,
    )
    assert result.code == 0, result.explain()
    data = json.loads(out.read_text())
    scenes = data["scenes"]
    total = data["total_hits"]
    print(
        f"search: {len(scenes)} scenes, totalHits {total}, {result.elapsed:.1f} s, "
        f"peak RSS {result.maxrss_kb / 1024:.0f} MiB (3-scene search: "
        f"{small.maxrss_kb / 1024:.0f} MiB)"
    )
    assert total >= 20_000
    assert data["count"] == total == len(scenes)
    assert len({s["entity_id"] for s in scenes}) == total, "duplicate scenes across pages"
    searches = api_calls(sandbox, "scene-search")
    small_searches = 1  # the notebook query fits one page
    assert len(searches) - small_searches == math.ceil(total / PAGE), len(searches)
    assert all(r["status"] == 200 for r in searches)
    assert result.maxrss_kb <= MAX_RSS_KIB, f"peak RSS {result.maxrss_kb} KiB"


def test_dry_run_plan_of_2000_files_is_bounded(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [
        "download",
        "--bbox",
        "-150.5",
        "61",
        "-149.5",
        "61.5",
        "--start",
        "2019-06-01",
        "--end",
        "2020-12-31",
        "--limit",
        "91",
        "--filetype",
        "band",
        "--dry-run",
        "--out",
        str(out),
    ]
    result = run_cli(args, cli_env(sandbox), timeout=120)
    assert result.code == 0, result.explain()
    assert "2002 file(s) over 91 scene(s)" in result.stderr, result.explain()
    calls = Counter(str(r["endpoint"]) for r in api_calls(sandbox))
    print(
        f"dry run: {dict(calls)}, {result.elapsed:.1f} s, "
        f"peak RSS {result.maxrss_kb / 1024:.0f} MiB"
    )
    pages = math.ceil(91 / PAGE)
    assert calls["scene-search"] == pages
    assert calls["download-options"] <= pages
    assert sum(calls.values()) <= 2 * pages + 2, calls  # + login (+ one dataset lookup)
    for endpoint in ("download-request", "scene-list-add", "download-retrieve"):
        assert calls[endpoint] == 0, f"a dry run called {endpoint}"
    assert not out.exists() or not list(out.iterdir())
    assert result.maxrss_kb <= MAX_RSS_KIB, f"peak RSS {result.maxrss_kb} KiB"
