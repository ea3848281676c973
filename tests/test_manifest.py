"""The run manifest: schema, states, atomic saves."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from m2mdl import manifest as mf
from m2mdl.manifest import Item, Manifest, Status


def make(tmp_path: Path) -> Manifest:
    m = Manifest(tmp_path, mf.new_run_id(), "download", {"filetype": "band"}, dataset="ds")
    m.add(
        Item(
            key="a",
            entity_id="E",
            display_id="D",
            product="SR_B4",
            file_name="a.TIF",
            path=str(tmp_path / "a.TIF"),
        )
    )
    return m


def test_round_trip_and_schema(tmp_path: Path) -> None:
    m = make(tmp_path)
    m.update("a", status=Status.DONE, sha256="0" * 64, size=3)
    m.finish(0)
    data = mf.load(m.path)
    assert data["schema_version"] == mf.SCHEMA_VERSION
    assert data["summary"]["done"] == 1 and data["exit_code"] == 0
    assert data["items"][0]["status"] == "done"
    assert m.path.name.startswith("m2mdl-manifest-") and m.path.suffix == ".json"


def test_finish_turns_in_flight_items_back_to_pending(tmp_path: Path) -> None:
    m = make(tmp_path)
    m.update("a", status=Status.DOWNLOADING, force=True)
    m.finish(130)
    assert mf.load(m.path)["items"][0]["status"] == "pending"


def test_failed_write_leaves_the_previous_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = make(tmp_path)
    m.save()
    before = m.path.read_bytes()

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        m.update("a", status=Status.DONE, force=True)
    assert m.path.read_bytes() == before
    assert json.loads(before)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_run_ids_are_unique_and_sortable() -> None:
    ids = {mf.new_run_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == len("20261121T045600123Z-ab12") for i in ids)


def test_find_manifests(tmp_path: Path) -> None:
    make(tmp_path).save()
    assert len(mf.find_manifests(tmp_path)) == 1
