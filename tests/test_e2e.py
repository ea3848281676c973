"""The main job end to end: the real CLI, over real HTTP, against the sandbox."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

from m2mdl.models import band_of
from m2mdl.sandbox import Sandbox

from .cli_helpers import (
    NOTEBOOK_QUERY,
    SCENES,
    calls,
    data_files,
    env_for,
    file_bytes,
    manifest,
    run,
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def per_scene(files: list[Path]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in files:
        display = path.name[:40]
        counts[display] = counts.get(display, 0) + 1
    return counts


def test_band_download_then_rerun_transfers_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run(
        ["download", *NOTEBOOK_QUERY, "--filetype", "band", "--out", str(out)], env_for(sandbox)
    )
    assert first.exit_code == 0, first.stderr
    files = data_files(out)
    assert per_scene(files) == {d: 22 for d in SCENES.values()}
    for path in files:
        assert sha256(path) == sandbox.expected_sha256(path.name), path.name
    assert not list(out.glob("*.part*"))
    first_manifest = manifest(out)
    assert first_manifest["summary"]["done"] == 66 and first_manifest["exit_code"] == 0
    sent = file_bytes(sandbox)
    requests_before = len(calls(sandbox, "download-request"))

    second = run(
        ["download", *NOTEBOOK_QUERY, "--filetype", "band", "--out", str(out)], env_for(sandbox)
    )
    assert second.exit_code == 0, second.stderr
    assert file_bytes(sandbox) == sent  # the sandbox log proves no byte was re-sent
    assert len(calls(sandbox, "download-request")) == requests_before
    second_manifest = manifest(out)
    assert second_manifest["summary"]["skipped"] == 66
    # skipped files keep the sha512 recorded when they were downloaded (not re-hashed)
    first_hashes = {i["file_name"]: i["sha512"] for i in first_manifest["items"]}
    assert {i["file_name"]: i["sha512"] for i in second_manifest["items"]} == first_hashes


def test_bundles_are_tar_archives(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        ["download", *NOTEBOOK_QUERY, "--filetype", "bundle", "--out", str(out)], env_for(sandbox)
    )
    assert result.exit_code == 0, result.stderr
    files = data_files(out)
    assert [p.name for p in files] == sorted(f"{d}.tar" for d in SCENES.values())
    for path in files:
        with tarfile.open(path) as tar:
            names = tar.getnames()
        assert f"{path.stem}_SR_B4.TIF" in names and len(names) >= 22
        assert sha256(path) == sandbox.expected_sha256(path.name)


def test_sr_band_group_gives_13_files_per_scene(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        [
            "download",
            *NOTEBOOK_QUERY,
            "--filetype",
            "band_group",
            "--group",
            "ls_c2l2_sr_band",
            "--out",
            str(out),
        ],
        env_for(sandbox),
    )
    assert result.exit_code == 0, result.stderr
    assert per_scene(data_files(out)) == {d: 13 for d in SCENES.values()}
    request = calls(sandbox, "download-request")
    assert len(request) == 1  # the whole group in one dataGroups request


def test_four_named_bands(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        [
            "download",
            *NOTEBOOK_QUERY,
            "--bands",
            "SR_B4,QA_PIXEL",
            "--bands",
            "ST_B10,ANG",
            "--out",
            str(out),
        ],
        env_for(sandbox),
    )
    assert result.exit_code == 0, result.stderr
    files = data_files(out)
    assert per_scene(files) == {d: 6 for d in SCENES.values()}  # the MTL files come along
    named = {"SR_B4", "QA_PIXEL", "ST_B10", "ANG.txt"}
    assert {band_of(p.name) for p in files} == named | {"MTL.txt", "MTL.xml"}
    assert all(p.parent == out / p.name[:40] for p in files)  # one folder per scene


def test_band_names_in_every_spelling_and_no_metadata(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["download", *NOTEBOOK_QUERY, "--bands", "red,B5,SR_B6", "--no-metadata"]
    result = run([*args, "--layout", "flat", "--out", str(out)], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    files = data_files(out)
    assert {band_of(p.name) for p in files} == {"SR_B4", "SR_B5", "SR_B6"}
    assert all(p.parent == out for p in files) and len(files) == 9  # --layout flat


def test_dry_run_requests_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        ["download", *NOTEBOOK_QUERY, "--filetype", "bundle", "--dry-run", "--out", str(out)],
        env_for(sandbox),
    )
    assert result.exit_code == 0, result.stderr
    assert "LC08_L2SP_068017_20200310_20200822_02_T1.tar" in result.stdout
    assert not calls(sandbox, "download-request") and not calls(sandbox, "scene-list-add")
    assert not out.exists() or not list(out.iterdir())


def test_server_state_is_removed_at_the_end(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        run(
            ["download", *NOTEBOOK_QUERY, "--filetype", "bundle", "--out", str(out)],
            env_for(sandbox),
        ).exit_code
        == 0
    )
    label = manifest(out)["label"]
    assert [r["status"] for r in calls(sandbox, "scene-list-remove")] == [200]
    assert len(calls(sandbox, "download-order-remove")) == 1
    assert label.startswith("m2mdl_")


def test_dry_run_json_plan(sandbox: Sandbox, tmp_path: Path) -> None:
    import json

    result = run(
        [
            "download",
            *NOTEBOOK_QUERY,
            "--filetype",
            "bundle",
            "--dry-run",
            "--json",
            "--out",
            str(tmp_path),
        ],
        env_for(sandbox),
    )
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["kind"] == "plan" and len(plan["files"]) == 3
    assert plan["bytes_to_download"] == sum(f["size"] for f in plan["files"])
    assert not calls(sandbox, "download-request")


def test_band_and_bundle_runs_are_verified_against_usgs_then_verify(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    bands, bundles = tmp_path / "band", tmp_path / "bundle"
    for filetype, out in (("band", bands), ("bundle", bundles)):
        args = ["download", *NOTEBOOK_QUERY, "--filetype", filetype, "--out", str(out)]
        result = run(args, env_for(sandbox))
        assert result.exit_code == 0, result.stderr
    band_items = manifest(bands)["items"]
    assert len(band_items) == 66
    assert {i["verified"] for i in band_items} == {"usgs-stac"}  # every TIF, MTL and ANG
    for item in band_items:
        assert item["sha512"] == hashlib.sha512((bands / item["path"]).read_bytes()).hexdigest()
    bundle_items = manifest(bundles)["items"]
    assert {i["verified"] for i in bundle_items} == {"bundle-stac"}
    for item in bundle_items:
        with tarfile.open(bundles / item["path"]) as tar:
            names = {m.name for m in tar.getmembers()}
        members = item["members"]
        assert set(members) == names
        for name, member in members.items():
            want = "none" if name.endswith("_stac.json") else "bundle-stac"
            assert member["verified"] == want, name

    for out in (bands, bundles):
        checked = run(["verify", str(out)], env_for(sandbox))
        assert checked.exit_code == 0, checked.stderr
        victim = next(p for p in data_files(out) if p.suffix in (".TIF", ".tar"))
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
        broken = run(["verify", str(out), "--json"], env_for(sandbox))
        assert broken.exit_code == 6
        report = json.loads(broken.stdout)
        bad = [f for f in report["files"] if f["status"] != "ok"]
        assert [f["path"] for f in bad] == [victim.relative_to(out).as_posix()]
        assert bad[0]["status"] == "corrupt" and bad[0]["changed_since_written"]
