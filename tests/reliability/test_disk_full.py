"""Case 2: the output directory is on a tmpfs too small for the run; then it grows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox

from ..test_schemas import assert_valid
from .helpers import (
    BUNDLES,
    MANIFEST_RE,
    assert_complete,
    cli_env,
    download_args,
    inspect_out,
    run_cli,
    statuses,
)
from .io_env import mount, tmpfs

pytestmark = pytest.mark.reliability

MiB = 2**20


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs (root only); skipped where mounting is not permitted."""
    with tmpfs(tmp_path / "tmpfs", "size=24m") as mnt:
        yield mnt


def test_disk_full_fails_cleanly_and_resumes_after_space_is_freed(
    sandbox_factory: Callable[..., Sandbox], small_tmpfs: Path
) -> None:
    # 3 bundles of ~9.8 MB = ~29 MB into 24 MiB: two fit, the third cannot.
    sb = sandbox_factory(data_scale=0.01)
    assert sum(sb.expected_size(n) for n in BUNDLES) > 24 * MiB
    out = small_tmpfs
    env = cli_env(sb)
    args = download_args(out, "bundle", "--workers", "3")

    full = run_cli(args, env, timeout=60)
    assert full.code == 6, full.explain()
    lines = [
        line
        for line in full.stderr.splitlines()
        if "space" in line.lower() or "disk" in line.lower()
    ]
    assert lines, f"no line about the full disk on stderr\n{full.explain()}"
    assert any(str(out) in line for line in lines), (
        f"the disk-full message does not name the disk/directory {out}: {lines}"
    )
    assert "Traceback" not in full.stderr
    state = inspect_out(out, sb)  # every final-named file verified, JSON valid
    assert len(state.finals) < len(BUNDLES)
    names = [p.name for p in out.iterdir() if MANIFEST_RE.match(p.name)]
    assert names, "no manifest at all"
    for name in names:  # a manifest the full disk kept from being rewritten is still valid
        assert_valid("manifest", json.loads((out / name).read_text()))
    manifest = state.newest_manifest()
    assert manifest["exit_code"] == 6, manifest["exit_code"]
    failed = {k: v for k, v in statuses(manifest).items() if k not in state.finals}
    assert failed and set(failed.values()) <= {"failed", "pending"}, statuses(manifest)
    errors = [i.get("last_error") or "" for i in manifest["items"] if i["status"] == "failed"]
    assert any("space" in e.lower() for e in errors), errors

    grown = mount("-o", "remount,size=96m", str(out))
    assert grown.returncode == 0, grown.stderr
    rerun = run_cli(args, env, timeout=60)
    assert rerun.code == 0, rerun.explain()
    assert_complete(out, sb, BUNDLES)
