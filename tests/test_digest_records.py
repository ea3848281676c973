"""Which digest a manifest item records for its bytes: ``sha512``, or a bundle's ``tree_sha512``
(m2mdl/transfer/tarscan.py), and how a later check compares it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from m2mdl import manifest as mf
from m2mdl.manifest import Item, Manifest
from m2mdl.transfer import FileResult, NullSink
from m2mdl.workflow.checksums import needs_sha512, recorded_digest, same_as_recorded
from m2mdl.workflow.fetch import ManifestSink

A, B = "a" * 128, "b" * 128


@pytest.mark.parametrize(
    ("item", "want"),
    [
        ({"sha512": A, "tree_sha512": None}, A),
        ({"sha512": None, "tree_sha512": B}, B),
        ({"sha512": A}, A),  # an item of an earlier m2mdl: no tree_sha512 field
        ({"sha512": None, "tree_sha512": None}, None),
        ({}, None),
    ],
)
def test_recorded_digest(item: dict[str, object], want: str | None) -> None:
    assert recorded_digest(item) == want


def test_a_tar_needs_its_sha512_only_for_a_record_that_holds_one() -> None:
    assert needs_sha512(None, is_tar=False) and needs_sha512({"tree_sha512": B}, is_tar=False)
    assert not needs_sha512(None, is_tar=True)
    assert not needs_sha512({"sha512": None, "tree_sha512": B}, is_tar=True)
    assert needs_sha512({"sha512": A}, is_tar=True)  # an earlier m2mdl's bundle record


def test_same_as_recorded_compares_digests_of_one_kind() -> None:
    tree_record = {"sha512": None, "tree_sha512": B}
    assert same_as_recorded(tree_record, None, B) is True
    assert same_as_recorded(tree_record, None, A) is False
    assert same_as_recorded(tree_record, A, None) is None  # nothing comparable
    old_record = {"sha512": A}
    assert same_as_recorded(old_record, A, B) is True  # the tar's SHA-512 was computed too
    assert same_as_recorded(old_record, B, B) is False
    assert same_as_recorded({"sha512": None}, A, B) is None


def _result(key: str, digest: str) -> FileResult:
    return FileResult(key, Path("/nonexistent") / key, True, 10, digest, 1, 10, None, None)


def test_the_sink_records_a_tree_digest_as_tree_sha512_only(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path, mf.new_run_id(), "download", {})
    for key in ("e/x.tar", "e/x_B1.TIF"):
        manifest.add(Item(key, "e", "d", "p", key[2:], key[2:]))
    sink = ManifestSink(manifest, NullSink())
    sink.trees.add("e/x.tar")
    sink.file_finished(_result("e/x.tar", B))
    sink.file_finished(_result("e/x_B1.TIF", A))
    manifest.save()
    items = {i["file_name"]: i for i in json.loads(manifest.path.read_text())["items"]}
    assert (items["x.tar"]["sha512"], items["x.tar"]["tree_sha512"]) == (None, B)
    assert (items["x_B1.TIF"]["sha512"], items["x_B1.TIF"]["tree_sha512"]) == (A, None)


@pytest.mark.parametrize("tree", [B, 7, ["x"]])
def test_an_earlier_manifest_with_an_odd_tree_sha512_is_skipped(
    tmp_path: Path, tree: object
) -> None:
    path = tmp_path / "m2mdl-manifest-x.json"
    item = {"file_name": "x.tar", "status": "done", "size": 3, "tree_sha512": tree}
    path.write_text(json.dumps({"items": [item]}))
    assert mf.read_items(path) == ([item] if isinstance(tree, str) else None)
