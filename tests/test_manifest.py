"""The run manifest: schema, states, atomic saves."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
from pathlib import Path

import pytest

from m2mdl import manifest as mf
from m2mdl.errors import DiskFull, DownloadError
from m2mdl.manifest import Item, Manifest, Status
from m2mdl.transfer.naming import TMP_SUFFIX


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
    m.update("a", status=Status.DONE, sha512="0" * 128, size=3)
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
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", boom)
    m.update("a", status=Status.DONE, force=True)  # an interim save never raises ...
    assert isinstance(m.save_error, DownloadError)  # ... it is kept for the end of the run
    with pytest.raises(DownloadError):
        m.finish(0)
    assert m.path.read_bytes() == before
    assert json.loads(before)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".tmp", TMP_SUFFIX))]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
@pytest.mark.parametrize("where", ["open", "write", "fsync"])
def test_full_disk_or_no_inodes_raise_disk_full_and_keep_the_last_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, where: str
) -> None:
    m = make(tmp_path)
    m.save()
    before = m.path.read_bytes()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    # ENOSPC from open(O_CREAT) is how a file system out of inodes shows up.
    target = {"open": (os, "open"), "write": (os, "pwrite"), "fsync": (os, "fsync")}[where]
    monkeypatch.setattr(*target, full)
    with pytest.raises(DiskFull):
        m.finish(0)
    monkeypatch.undo()
    assert m.path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".tmp", TMP_SUFFIX))]
    m.finish(0)  # space again: the final state is written
    assert json.loads(m.path.read_bytes())["exit_code"] == 0


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[1, 2]",
        b'{"items": 3}',
        b"\xff\xfe",
        b'{"items": [[1], "x", null]}',
    ],
)
def test_unreadable_manifests_are_skipped(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "m2mdl-manifest-20200101T000000000Z-0000.json"
    path.write_bytes(content)
    assert mf.read_items(path) is None


@pytest.mark.parametrize("size", ["2 MB", [1], 1e999, -1, True, 1.5, {"a": 1}])
def test_a_manifest_with_odd_sizes_is_skipped(tmp_path: Path, size: object) -> None:
    good = {"file_name": "a.TIF", "status": "done", "size": 3, "sha512": "0" * 128}
    bad = {**good, "file_name": "b.TIF", "size": size}
    path = tmp_path / "m2mdl-manifest-20200101T000000000Z-0000.json"
    path.write_text(json.dumps({"items": [good, bad]}))
    assert mf.read_items(path) is None
    path.write_text(json.dumps({"items": [good]}))
    assert mf.read_items(path) == [good]


def test_run_ids_are_unique_and_sortable() -> None:
    ids = {mf.new_run_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == len("20261121T045600123Z-ab12") for i in ids)


def test_find_manifests(tmp_path: Path) -> None:
    make(tmp_path).save()
    assert len(mf.find_manifests(tmp_path)) == 1


def test_item_changes_name_item_fields_with_their_types() -> None:
    """What ``Manifest.update`` accepts (for mypy) is a subset of ``Item``'s fields, typed
    alike; ``key`` and the file's identity are never changed by an update."""
    fields = {f.name: f.type for f in dataclasses.fields(Item)}
    changes = {  # TypedDict keeps string annotations as ForwardRef
        name: getattr(kind, "__forward_arg__", kind)
        for name, kind in mf.ItemChanges.__annotations__.items()
    }
    assert set(changes) <= set(fields)
    assert {name: fields[name] for name in changes} == changes
    assert not {"key", "entity_id", "display_id", "product"} & set(changes)
