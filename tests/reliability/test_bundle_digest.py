"""Bundles are hashed once: the real CLI records a tar's tree digest, and ``verify`` and the
skip check use it (docs/design.md §STAC and checksums: checksum policy).

A byte flipped in a tar's padding is covered by no member checksum: only the tree digest
(or the whole-file SHA-512 of an older manifest) sees it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from m2mdl.sandbox import Sandbox

from ..tarref import tree_sha512_reference
from .helpers import BUNDLES, cli_env, download_args, file_records, run_cli, settle, sha512_file

pytestmark = pytest.mark.reliability

SCALE = 0.005


def _manifest_path(out: Path) -> Path:
    return sorted(out.glob("m2mdl-manifest-*.json"))[-1]


def _items(out: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(_manifest_path(out).read_text())
    return {str(i["file_name"]): i for i in data["items"]}


def _padding_offset(tar_path: Path) -> int:
    """A byte of the first member's padding (no checksum covers it)."""
    with tarfile.open(tar_path) as tar:
        member = next(m for m in tar.getmembers() if m.isreg() and m.size % 512)
    return member.offset_data + member.size + 1


def _flip(path: Path, offset: int, *, keep_mtime: bool = False) -> None:
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    if keep_mtime:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _verify(out: Path, sb: Sandbox) -> tuple[int, dict[str, dict[str, Any]]]:
    checked = run_cli(["verify", str(out), "--json"], cli_env(sb), timeout=90)
    files = {Path(f["path"]).name: f for f in json.loads(checked.stdout)["files"]}
    return checked.code, files


def test_bundles_are_recorded_by_tree_digest_and_a_padding_flip_is_caught(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=SCALE)
    out = tmp_path / "out"
    first = run_cli(download_args(out), cli_env(sb), timeout=90)
    assert first.code == 0, first.explain()
    items = _items(out)
    for name in BUNDLES:
        assert items[name]["sha512"] is None  # never a sha512 that is not the file's SHA-512
        assert items[name]["tree_sha512"] == tree_sha512_reference(out / name)
        assert items[name]["verified"] == "bundle-stac"

    code, files = _verify(out, sb)
    assert code == 0 and {files[n]["status"] for n in BUNDLES} == {"ok"}
    assert {files[n]["tree_sha512"] for n in BUNDLES} == {items[n]["tree_sha512"] for n in BUNDLES}

    victim = out / BUNDLES[0]
    _flip(victim, _padding_offset(victim), keep_mtime=True)  # same size, same mtime
    code, files = _verify(out, sb)
    assert code == 6 and files[victim.name]["status"] == "corrupt", files[victim.name]
    assert {files[n]["status"] for n in BUNDLES[1:]} == {"ok"}

    cheap = run_cli(download_args(out), cli_env(sb), timeout=90)  # size + mtime: not read
    assert cheap.code == 0, cheap.explain()
    carried = _items(out)  # the rerun's manifest carries each skipped tar's record over
    assert {n: carried[n]["status"] for n in BUNDLES} == dict.fromkeys(BUNDLES, "skipped")
    assert {n: carried[n]["tree_sha512"] for n in BUNDLES} == {
        n: items[n]["tree_sha512"] for n in BUNDLES
    }
    assert _verify(out, sb)[0] == 6  # so verify, reading the newest manifest, still sees it
    full = run_cli(download_args(out, "bundle", "--verify-existing"), cli_env(sb), timeout=90)
    assert full.code == 0, full.explain()
    assert victim.name in full.stderr  # "changed since m2mdl wrote it; fetching it again"
    assert victim.read_bytes() == sb.expected_bytes(victim.name)
    assert _items(out)[victim.name]["status"] == "done"
    assert _verify(out, sb)[0] == 0


def _as_older_manifest(out: Path) -> None:
    """Rewrite the manifest as an m2mdl before tree digests wrote it: a bundle's whole-file
    SHA-512 in ``sha512``, no ``tree_sha512`` field."""
    path = _manifest_path(out)
    data = json.loads(path.read_text())
    for item in data["items"]:
        tree = item.pop("tree_sha512")
        if tree is not None:
            item["sha512"] = hashlib.sha512((out / item["path"]).read_bytes()).hexdigest()
    path.write_text(json.dumps(data, indent=2))


def test_an_older_manifest_with_the_tars_sha512_is_still_verified_and_skipped(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=SCALE)
    out = tmp_path / "out"
    assert run_cli(download_args(out), cli_env(sb), timeout=90).code == 0
    _as_older_manifest(out)
    whole = {n: sha512_file(out / n) for n in BUNDLES}
    code, files = _verify(out, sb)
    assert code == 0 and {n: files[n]["sha512"] for n in BUNDLES} == whole

    settle(sb)
    sent = len(file_records(sb))
    rerun = run_cli(download_args(out), cli_env(sb), timeout=90)
    assert rerun.code == 0, rerun.explain()
    settle(sb)
    assert len(file_records(sb)) == sent  # unchanged files: skipped, nothing fetched
    assert {n: _items(out)[n]["sha512"] for n in BUNDLES} == whole  # carried, not re-checked

    _as_older_manifest(out)  # the rerun's manifest, again as an older m2mdl wrote it
    victim = out / BUNDLES[1]
    _flip(victim, _padding_offset(victim))  # the mtime changes: the rerun re-checks it
    code, files = _verify(out, sb)
    assert code == 6 and files[victim.name]["status"] == "corrupt", files[victim.name]
    again = run_cli(download_args(out), cli_env(sb), timeout=90)
    assert again.code == 0, again.explain()
    assert victim.name in again.stderr  # "changed since m2mdl wrote it; fetching it again"
    assert victim.read_bytes() == sb.expected_bytes(victim.name)
    items = _items(out)
    assert items[victim.name]["status"] == "done"
    assert items[victim.name]["tree_sha512"] == tree_sha512_reference(victim)
    assert _verify(out, sb)[0] == 0


def test_verify_after_a_later_extract_checks_the_members_not_the_removed_tars(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=SCALE)
    out = tmp_path / "out"
    assert run_cli(download_args(out), cli_env(sb), timeout=90).code == 0  # tars, no --extract
    extract = run_cli(download_args(out, "bundle", "--extract"), cli_env(sb), timeout=90)
    assert extract.code == 0, extract.explain()
    assert not any((out / name).exists() for name in BUNDLES)  # replaced by their members
    code, files = _verify(out, sb)
    assert code == 0, files
    assert not set(files) & set(BUNDLES) and len(files) > len(BUNDLES)
    member = next(p for p in out.glob("*/*_B4.TIF"))
    _flip(member, member.stat().st_size // 2)
    code, files = _verify(out, sb)
    assert code == 6 and files[member.name]["status"] == "corrupt"
