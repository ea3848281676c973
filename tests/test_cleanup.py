"""cleanup: server-side orders and scene lists, local stale partial files."""

from __future__ import annotations

import os
import time
from pathlib import Path

from m2mdl.sandbox import Sandbox
from m2mdl.transfer.journal import Journal

from .cli_helpers import NOTEBOOK_QUERY, calls, env_for, manifest, run


def test_kept_server_state_is_removed_by_cleanup(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        [
            "download",
            *NOTEBOOK_QUERY,
            "--filetype",
            "band_group",
            "--group",
            "ls_c2l2_sr_band",
            "--keep-server-state",
            "--out",
            str(out),
        ],
        env_for(sandbox),
    )
    assert result.exit_code == 0, result.stderr
    assert not calls(sandbox, "scene-list-remove") and not calls(sandbox, "download-order-remove")
    label = manifest(out)["label"]
    lists = manifest(out)["scene_lists"]
    assert lists == [label, f"{label}_files"]  # two lists for band groups

    dry = run(["cleanup", "--dry-run", "--dir", str(out)], env_for(sandbox))
    assert dry.exit_code == 0
    assert f"would remove download order {label}" in dry.stdout
    assert not calls(sandbox, "download-order-remove")

    done = run(["cleanup", "--dir", str(out)], env_for(sandbox))
    assert done.exit_code == 0, done.stderr
    assert f"removed download order {label}" in done.stdout
    assert len(calls(sandbox, "download-order-remove")) == 1
    removed = [r for r in calls(sandbox, "scene-list-remove") if r.get("status") == 200]
    assert len(removed) >= 2
    assert done.stdout.count("removed scene list") == 2
    again = run(["cleanup", "--dry-run"], env_for(sandbox))
    assert label not in again.stdout
    nothing = run(["cleanup", "--dir", str(out)], env_for(sandbox))
    assert nothing.exit_code == 0, nothing.stderr
    assert nothing.stdout == "" and "nothing to remove" in nothing.stderr


def test_cleanup_names_only_the_scene_lists_that_existed(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["download", *NOTEBOOK_QUERY, "--filetype", "bundle", "--keep-server-state"]
    result = run([*args, "--dry-run", "--out", str(out)], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    result = run([*args, "--out", str(out)], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    label = manifest(out)["label"]
    done = run(["cleanup", "--dir", str(out)], env_for(sandbox))
    assert done.exit_code == 0, done.stderr
    assert f"removed scene list {label}\n" in done.stdout
    assert f"{label}_files" not in done.stdout  # a bundle run never makes that list


def test_stale_partial_files_are_removed(sandbox: Sandbox, tmp_path: Path) -> None:
    part = tmp_path / "LC08_X_SR_B4.TIF.part"
    journal = tmp_path / "LC08_X_SR_B4.TIF.part.json"
    fresh = tmp_path / "LC08_Y_SR_B4.TIF.part"
    keep = tmp_path / "LC08_Z_SR_B4.TIF"
    foreign = tmp_path / "ubuntu.iso.part"  # not m2mdl's: no journal next to it
    for path in (part, fresh, keep, foreign):
        path.write_bytes(b"x")
    journal.write_bytes(Journal(url="https://example.com/x").to_json())
    old = time.time() - 3 * 86400
    for path in (part, journal, foreign):
        os.utime(path, (old, old))
    dry = run(["cleanup", "--no-server", "--dry-run", "--dir", str(tmp_path)], env_for(sandbox))
    assert dry.exit_code == 0 and str(part) in dry.stdout and part.exists()
    done = run(["cleanup", "--no-server", "--dir", str(tmp_path)], env_for(sandbox))
    assert done.exit_code == 0, done.stderr
    assert not part.exists() and not journal.exists()
    assert fresh.exists() and keep.exists()  # younger than --older-than, and final files
    assert foreign.exists(), "cleanup removed a .part file m2mdl never wrote"
