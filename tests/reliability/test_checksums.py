"""Issue: every file checked against the SHA-512 USGS publishes, through the real CLI.

Each case ends with no wrong file under a final name and a non-zero exit, or with a correct
file. The sandbox publishes correct ``file:checksum`` values in its STAC API and in the
bundles' ``*_stac.json``; its faults corrupt bodies (same length), take STAC down, or
publish a wrong checksum.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from m2mdl.sandbox import Sandbox

from ..cli_helpers import is_catalog_file
from .helpers import (
    band_names,
    cli_env,
    download_args,
    file_records,
    files_under,
    placed,
    run_cli,
    settle,
)

pytestmark = pytest.mark.reliability

B4 = ("SR_B4",)
SCALE = 0.02  # ~1.7 MB per SR_B4
MISMATCH = ".checksum-mismatch"


def _b4(out: Path, *extra: str) -> list[str]:
    return download_args(out, "band", "--bands", ",".join(B4), *extra)


def _newest_manifest(out: Path) -> dict[str, Any]:
    data = json.loads(sorted(out.glob("m2mdl-manifest-*.json"))[-1].read_text())
    assert isinstance(data, dict)
    return data


def _finals(out: Path, sb: Sandbox) -> list[str]:
    """Final-named data files; each must hold exactly the sandbox's bytes."""
    names = []
    for path in files_under(out):
        name = path.name
        if (
            is_catalog_file(out, path)
            or name.startswith(("m2mdl-manifest-", "."))
            or name.endswith((".part", ".part.json", MISMATCH))
        ):
            continue
        assert path.read_bytes() == sb.expected_bytes(name), f"{name} has wrong bytes"
        names.append(name)
    return names


def _verified(out: Path) -> dict[str, str]:
    return {i["file_name"]: i["verified"] for i in _newest_manifest(out)["items"]}


def _gets(sb: Sandbox, name: str) -> int:
    return sum(r.get("method") == "GET" for r in file_records(sb, name))


@pytest.mark.parametrize("fault", ["flip_byte_times", "zero_body_times"])
def test_corrupt_body_of_the_right_size_is_refetched(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, fault: str
) -> None:
    sb = sandbox_factory(data_scale=SCALE, **{fault: 1})
    out = tmp_path / "out"
    result = run_cli(_b4(out), cli_env(sb), timeout=90)
    assert result.code == 0, result.explain()
    assert _finals(out, sb) == band_names(B4)
    assert set(_verified(out).values()) == {"usgs-stac"}
    settle(sb)
    for name in band_names(B4):
        assert _gets(sb, name) == 2, name  # the corrupt copy was thrown away once


def test_damaged_prefix_vouched_by_the_journal_is_refetched(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=0.05, rate=400_000)
    out = tmp_path / "out"
    first = run_cli(_b4(out, "--deadline", "3"), cli_env(sb), timeout=60)
    assert first.code != 0, first.explain()
    parts = files_under(out, "*.part")
    assert parts, "the deadline left no partial file"
    journaled = [p for p in parts if p.with_name(p.name + ".json").exists()]
    assert journaled, "no journal next to the partial files"
    for part in journaled:
        vouched = json.loads(part.with_name(part.name + ".json").read_text())["ranges"][0][1]
        assert vouched > 8192
        with part.open("r+b") as handle:  # 4 KiB of damage inside the vouched prefix
            handle.seek(4096)
            handle.write(b"\x00" * 4096)
    settle(sb)
    before = len(file_records(sb))
    second = run_cli(_b4(out), cli_env(sb), timeout=120)
    assert second.code == 0, second.explain()
    assert _finals(out, sb) == band_names(B4)
    assert set(_verified(out).values()) == {"usgs-stac"}
    settle(sb)
    for part in journaled:
        name = part.name.removesuffix(".part")
        later = [r for r in file_records(sb)[before:] if r.get("file") == name]
        ranges = [str(r.get("range")) for r in later if r.get("range")]
        resumed = [r for r in ranges if not r.startswith("bytes=0-")]
        # resumed on the journal's word, found wrong at the end, fetched again from zero
        assert resumed and ranges[-1].startswith("bytes=0-"), ranges


def test_stac_down_then_verify_raises_files_to_full_verification(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    down = sandbox_factory(data_scale=SCALE, stac_down=True)
    out = tmp_path / "out"
    result = run_cli(_b4(out), cli_env(down), timeout=90)
    assert result.code == 0, result.explain()
    assert result.stderr.count("USGS checksums unavailable") == 1, result.explain()
    assert _finals(out, down) == band_names(B4)
    items = _newest_manifest(out)["items"]
    assert {i["verified"] for i in items} == {"size"}
    assert all("503" in i["verify_note"] for i in items)

    strict = run_cli(_b4(out, "--require-checksums"), cli_env(down), timeout=90)
    assert strict.code == 6, strict.explain()

    up = sandbox_factory(data_scale=SCALE)
    checked = run_cli(["verify", str(out), "--json"], cli_env(up), timeout=90)
    assert checked.code == 0, checked.explain()
    report = json.loads(checked.stdout)
    assert report["schema_version"] == 1 and report["intact"] is True
    assert {f["verified"] for f in report["files"]} == {"usgs-stac"}
    raised = [
        i
        for p in out.glob("m2mdl-manifest-*.json")
        for i in json.loads(p.read_text())["items"]
        if i["status"] == "done"
    ]
    assert raised and {i["verified"] for i in raised} == {"usgs-stac"}


def test_stale_published_checksum_is_kept_aside_without_looping(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=SCALE, wrong_checksum="*_SR_B4.TIF")
    out = tmp_path / "out"
    result = run_cli(_b4(out), cli_env(sb), timeout=90)
    assert result.code == 6, result.explain()
    assert "may be stale" in result.stderr, result.explain()
    assert _finals(out, sb) == []
    for name in band_names(B4):
        aside = placed(out, name + MISMATCH)
        assert aside.read_bytes() == sb.expected_bytes(name)
    settle(sb)
    for name in band_names(B4):
        assert _gets(sb, name) == 2, name  # two complete downloads, then stop
    kinds = {i["error_kind"] for i in _newest_manifest(out)["items"]}
    assert kinds == {"checksum_mismatch"}


def test_file_changed_on_disk_is_named_and_refetched(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=SCALE)
    out = tmp_path / "out"
    assert run_cli(_b4(out), cli_env(sb), timeout=90).code == 0
    victim = placed(out, band_names(B4)[0])
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))

    checked = run_cli(["verify", str(out)], cli_env(sb), timeout=90)
    assert checked.code == 6, checked.explain()
    assert victim.name in checked.stdout and victim.name in checked.stderr
    bad = [line for line in checked.stdout.splitlines() if victim.name in line]
    assert "corrupt" in bad[0] and "changed since" in bad[0], bad

    again = run_cli(_b4(out), cli_env(sb), timeout=90)
    assert again.code == 0, again.explain()
    assert _finals(out, sb) == band_names(B4)
    statuses = {i["file_name"]: i["status"] for i in _newest_manifest(out)["items"]}
    assert statuses[victim.name] == "done"
    assert {s for n, s in statuses.items() if n != victim.name} == {"skipped"}
    assert run_cli(["verify", str(out)], cli_env(sb), timeout=90).code == 0


def test_verify_existing_rehashes_files_that_look_untouched(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=SCALE)
    out = tmp_path / "out"
    assert run_cli(_b4(out), cli_env(sb), timeout=90).code == 0
    victim = placed(out, band_names(B4)[1])
    stat = victim.stat()
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime

    cheap = run_cli(_b4(out), cli_env(sb), timeout=90)  # trusts size + mtime: not read
    assert cheap.code == 0, cheap.explain()
    assert victim.read_bytes() == bytes(data)
    full = run_cli(_b4(out, "--verify-existing"), cli_env(sb), timeout=90)
    assert full.code == 0, full.explain()
    assert victim.name in full.stderr  # "differs from USGS's checksum; fetching it again"
    assert _finals(out, sb) == band_names(B4)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"items": [{"file_name": "x", "status": "done", "size": "2 MB"}]}',
        '{"items": [{"file_name": "x", "status": "done", "size": [1]}]}',
        '{"items": [{"file_name": "x", "status": "done", "size": 1e999}]}',
        '{"items": [{"file_name": 7, "status": "done"}]}',
        "[1]",
    ],
)
def test_malformed_older_manifest_is_skipped_with_one_warning(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, content: str
) -> None:
    sb = sandbox_factory(data_scale=0.005)
    out = tmp_path / "out"
    assert run_cli(_b4(out), cli_env(sb), timeout=90).code == 0
    # named as the newest, so the rerun reads it first
    (out / "m2mdl-manifest-29991231T000000000Z-0000.json").write_text(content)
    rerun = run_cli(_b4(out), cli_env(sb), timeout=90)
    assert rerun.code == 0, rerun.explain()
    assert rerun.stderr.count("skipping unreadable manifest") == 1, rerun.explain()
    assert "Traceback" not in rerun.stderr
    checked = run_cli(["verify", str(out)], cli_env(sb), timeout=90)
    assert checked.code == 0, checked.explain()


@pytest.mark.parametrize("filetype", ["band", "bundle"])
def test_no_published_checksums_are_checked_by_size_and_say_so(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, filetype: str
) -> None:
    sb = sandbox_factory(data_scale=0.005, stac_no_checksums=True)
    out = tmp_path / "out"
    extra = ("--bands", "SR_B4") if filetype == "band" else ()
    result = run_cli(download_args(out, filetype, *extra), cli_env(sb), timeout=90)
    assert result.code == 0, result.explain()
    items = _newest_manifest(out)["items"]
    assert {i["verified"] for i in items} == {"size"}
    assert all(i["verify_note"] is None for i in items)  # nothing failed: nothing published
    if filetype == "bundle":
        members = [m for i in items for m in i["members"].values()]
        assert members and {m["verified"] for m in members} == {"none"}
    checked = run_cli(["verify", str(out), "--json"], cli_env(sb), timeout=90)
    assert checked.code == 0, checked.explain()
    assert {f["verified"] for f in json.loads(checked.stdout)["files"]} == {"size"}
    strict_out = tmp_path / "strict"
    strict = run_cli(
        download_args(strict_out, filetype, *extra, "--require-checksums"), cli_env(sb), timeout=90
    )
    assert strict.code == 6 and "--require-checksums" in strict.stderr, strict.explain()
    kinds = {i["error_kind"] for i in _newest_manifest(strict_out)["items"]}
    assert kinds == {"no_checksum"}


def test_rerun_after_stac_was_down_raises_files_to_full_verification(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    down = sandbox_factory(data_scale=SCALE, stac_down=True)
    out = tmp_path / "out"
    assert run_cli(_b4(out), cli_env(down), timeout=90).code == 0
    assert set(_verified(out).values()) == {"size"}
    up = sandbox_factory(data_scale=SCALE)
    again = run_cli(_b4(out), cli_env(up), timeout=90)
    assert again.code == 0, again.explain()
    items = _newest_manifest(out)["items"]
    assert {(i["status"], i["verified"], i["verify_note"]) for i in items} == {
        ("skipped", "usgs-stac", None)
    }
    settle(up)
    assert file_records(up) == []  # re-hashed on disk, not downloaded again
