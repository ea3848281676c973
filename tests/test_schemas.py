"""Every machine output validates against its JSON Schema in docs/schemas/ (draft 2020-12).

The data commands run against the sandbox with the notebook query (3 scenes); the formats of
``search`` also read back (:func:`m2mdl.output.read_scenes`) into the same scenes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from m2mdl.manifest import Item, Manifest, Status
from m2mdl.output import CSV_FIELDS, read_scenes
from m2mdl.sandbox import Sandbox
from m2mdl.transfer.model import ERROR_KINDS
from m2mdl.workflow.fetch import NO_CHECKSUM
from m2mdl.workflow.ondisk import EXTRACT_FAILED

from .cli_helpers import ANCHORAGE, NOTEBOOK_QUERY, SCENES, env_for, manifest, run
from .tarref import tree_sha512_reference

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"
DOCUMENTED = {
    "scene",
    "search",
    "search-geojson",
    "options",
    "download-summary",
    "aoi-describe",
    "manifest",
    "plan",
    "login-status",
    "verify",
}
TIMEOUT = 60


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    return {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(SCHEMAS.glob("*.schema.json"))
    }


@cache
def _registry() -> Registry[Any]:
    resources = [
        (name, Resource.from_contents(doc, default_specification=DRAFT202012))
        for name, doc in _schemas().items()
    ]
    return Registry().with_resources(resources)


def errors(name: str, instance: Any) -> list[str]:
    """Every validation error of ``instance`` against ``docs/schemas/NAME.schema.json``."""
    validator = Draft202012Validator(_schemas()[f"{name}.schema.json"], registry=_registry())
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


def assert_valid(name: str, instance: Any) -> None:
    """Fail with every error (not just the first) when ``instance`` does not validate."""
    found = errors(name, instance)
    assert not found, f"not valid per {name}.schema.json:\n" + "\n".join(found)


def search(sandbox: Sandbox, fmt: str) -> str:
    """stdout of ``m2mdl search NOTEBOOK_QUERY --output FMT`` (exit 0 asserted)."""
    result = run(["search", *NOTEBOOK_QUERY, "--output", fmt], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    return result.stdout


# --- the schemas themselves ------------------------------------------------------------------


def test_every_documented_output_has_a_valid_schema() -> None:
    assert {name.removesuffix(".schema.json") for name in _schemas()} == DOCUMENTED
    for name, schema in _schemas().items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        assert schema["$id"] == name and schema.get("title"), name


def test_schemas_reject_what_the_code_never_writes() -> None:
    scene = {
        "entity_id": "LC80680172020070LGN00",
        "display_id": "LC08_L2SP_068017_2020",
        "dataset": "landsat_ot_c2_l2",
        "acquired": "2020-03-10",
        "cloud_cover": 9.0,
        "wrs_path": 68,
        "wrs_row": 17,
        "publish_date": None,
        "footprint": None,
    }
    assert_valid("scene", scene)
    assert errors("scene", {**scene, "extra": 1})
    assert errors("scene", {k: v for k, v in scene.items() if k != "footprint"})
    assert errors("scene", {**scene, "acquired": "10/03/2020"})
    assert errors("scene", {**scene, "footprint": {"type": "Point", "coordinates": [0, 0]}})
    with_status = {**scene, "status": "found"}
    assert errors("scene", with_status)  # a manifest scene is not a search scene
    item = {
        "key": "a/b",
        "entity_id": "a",
        "display_id": "d",
        "product": "p",
        "file_name": "b",
        "path": "b",
        "size": 1,
        "sha512": None,
        "tree_sha512": None,
        "verified": None,
        "verify_note": None,
        "members": None,
        "mtime_ns": None,
        "status": "done",
        "attempts": 1,
        "last_error": None,
        "error_kind": None,
        "download_id": 1,
        "url": "https://example.test/f?signature=secret",
        "bytes_received": 1,
    }
    validator = Draft202012Validator(_schemas()["manifest.schema.json"]["$defs"]["item"])
    assert not validator.is_valid(item)  # a signed URL is a credential: never in a manifest
    assert not validator.is_valid({**item, "url": None, "status": "unknown"})
    assert validator.is_valid({**item, "url": None})
    assert not validator.is_valid({**item, "url": None, "error_kind": "gremlins"})


def test_manifest_schema_knows_every_status_and_error_kind() -> None:
    item = _schemas()["manifest.schema.json"]["$defs"]["item"]["properties"]
    assert set(item["status"]["enum"]) == {s.value for s in Status}
    assert set(item["error_kind"]["enum"]) == {*ERROR_KINDS, NO_CHECKSUM, EXTRACT_FAILED, None}
    assert set(item) == set(Item("k", "e", "d", "p", "f", "f").to_json())
    top = _schemas()["manifest.schema.json"]["properties"]
    assert set(top) == set(Manifest(Path("."), "r", "download", {}).to_json())


# --- search ----------------------------------------------------------------------------------


def test_search_json(sandbox: Sandbox) -> None:
    doc = json.loads(search(sandbox, "json"))
    assert_valid("search", doc)
    assert doc["count"] == len(doc["scenes"]) == 3 and doc["total_hits"] == 3
    assert {s["entity_id"] for s in doc["scenes"]} == set(SCENES)
    for scene in doc["scenes"]:
        assert_valid("scene", scene)
        assert scene["display_id"] == SCENES[scene["entity_id"]]


def test_search_jsonl_is_one_scene_per_line(sandbox: Sandbox) -> None:
    text = search(sandbox, "jsonl")
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 3
    for line in lines:
        scene = json.loads(line)
        assert isinstance(scene, dict)
        assert_valid("scene", scene)


def test_search_csv_has_a_header_row(sandbox: Sandbox) -> None:
    text = search(sandbox, "csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(CSV_FIELDS)
    assert len(rows) == 4 and all(len(row) == len(CSV_FIELDS) for row in rows)
    for row in csv.DictReader(io.StringIO(text)):
        assert row["entity_id"] in SCENES
        assert json.loads(row["footprint"])["type"] == "Polygon"


def test_search_geojson_is_a_feature_collection_of_polygons(sandbox: Sandbox) -> None:
    doc = json.loads(search(sandbox, "geojson"))
    assert_valid("search-geojson", doc)
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 3
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Polygon"
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 4
        assert feature["id"] == feature["properties"]["entity_id"]
        assert "footprint" not in feature["properties"]


def test_every_format_reads_back_into_the_same_scenes(sandbox: Sandbox, tmp_path: Path) -> None:
    read: dict[str, list[dict[str, Any]]] = {}
    for fmt in ("json", "jsonl", "csv", "geojson"):
        path = tmp_path / f"scenes.{fmt}"
        result = run(
            ["search", *NOTEBOOK_QUERY, "--output", fmt, "-o", str(path)], env_for(sandbox)
        )
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""  # with -o the data goes to the file only
        read[fmt] = [s.to_json() for s in read_scenes(path)]
    key = [(s["entity_id"], s["acquired"], s["cloud_cover"]) for s in read["json"]]
    assert sorted(e for e, _, _ in key) == sorted(SCENES)
    for fmt, scenes in read.items():
        assert [(s["entity_id"], s["acquired"], s["cloud_cover"]) for s in scenes] == key, fmt
        assert scenes == read["json"], f"{fmt} does not read back into the same scenes"
        for scene in scenes:
            assert_valid("scene", scene)


def test_search_json_pipes_into_json_tool_without_escape_codes(sandbox: Sandbox) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "TERM"}}
    env.update(env_for(sandbox), NO_COLOR="1")
    command = [sys.executable, "-m", "m2mdl", "search", *NOTEBOOK_QUERY, "--output", "json"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as producer:
        assert producer.stdout is not None
        tool = subprocess.run(
            [sys.executable, "-m", "json.tool"],
            stdin=producer.stdout,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        producer.stdout.close()
        stderr = producer.stderr.read() if producer.stderr else b""
        assert producer.wait(timeout=TIMEOUT) == 0, stderr.decode()
    assert tool.returncode == 0, tool.stderr.decode()
    assert b"\x1b" not in tool.stdout and b"\x1b" not in stderr
    doc = json.loads(tool.stdout)
    assert_valid("search", doc)
    assert doc["count"] == 3


# --- options, aoi, download -------------------------------------------------------------------


def test_options_json(sandbox: Sandbox) -> None:
    result = run(["options", *SCENES, "--output", "json"], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert_valid("options", doc)
    assert {s["entity_id"] for s in doc["scenes"]} == set(SCENES)
    assert all(s["bundles"] and s["files"] for s in doc["scenes"])
    assert "ls_c2l2_sr_band" in {g["id"] for g in doc["band_groups"]}


def test_options_json_from_a_saved_search(sandbox: Sandbox, tmp_path: Path) -> None:
    saved = tmp_path / "scenes.geojson"
    saved.write_text(search(sandbox, "geojson"), encoding="utf-8")
    result = run(["options", "--from", str(saved), "--output", "json"], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    assert_valid("options", json.loads(result.stdout))


@pytest.mark.parametrize("args", [[str(ANCHORAGE)]], ids=["anchorage"])
def test_aoi_describe_json(args: list[str], tmp_path: Path) -> None:
    result = run(["aoi", *args, "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert_valid("aoi-describe", doc)
    assert doc["geometry_type"] == "Polygon" and doc["source"].endswith("anchorage.geojson")
    west, south, east, north = doc["bounds"]
    assert west < east and south < north


def test_aoi_describe_json_of_a_multipolygon(tmp_path: Path) -> None:
    box = tmp_path / "box.geojson"
    written = run(["aoi", "--bbox", "179", "-1", "-179", "1", "--antimeridian", "-o", str(box)])
    assert written.exit_code == 0, written.stderr
    result = run(["aoi", str(box), "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert_valid("aoi-describe", doc)
    assert doc["geometry_type"] == "MultiPolygon" and doc["polygons"] == 2


def test_download_json_summary_and_manifest(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        ["download", *NOTEBOOK_QUERY, "--filetype", "bundle", "--json", "--out", str(out)],
        env_for(sandbox),
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)  # stdout holds the summary and nothing else
    assert_valid("download-summary", summary)
    data = manifest(out)  # the only manifest in out
    assert_valid("manifest", data)
    assert [Path(summary["manifest"])] == list(out.glob("m2mdl-manifest-*.json"))
    assert summary["counts"] == data["summary"] and summary["counts"]["done"] == 3
    assert summary["exit_code"] == data["exit_code"] == 0
    assert {s["entity_id"] for s in data["scenes"]} == set(SCENES)
    assert all(i["status"] == "done" for i in data["items"])
    # a bundle is identified by its tree digest, never by a sha512 that is not its SHA-512
    for i in data["items"]:
        assert i["sha512"] is None
        assert i["tree_sha512"] == tree_sha512_reference(out / i["path"])
    checked = run(["verify", str(out), "--json"], env_for(sandbox))
    assert checked.exit_code == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert_valid("verify", report)
    assert report["counts"]["ok"] == 3 and report["intact"] is True
    assert errors("verify", {**report, "intact": "yes"})


def test_manifest_of_a_rerun_and_of_single_bands(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["download", *NOTEBOOK_QUERY, "--bands", "SR_B4,QA_PIXEL", "--json", "--out", str(out)]
    for expected in ("done", "skipped"):
        result = run(args, env_for(sandbox))
        assert result.exit_code == 0, result.stderr
        summary = json.loads(result.stdout)
        assert_valid("download-summary", summary)
        # the summary names this run's manifest; "newest by name" is ambiguous within a second
        data = json.loads(Path(summary["manifest"]).read_text(encoding="utf-8"))
        assert_valid("manifest", data)
        assert data["filetype"] == "band" and data["aoi"]["type"] == "Polygon"
        assert data["summary"][expected] == 12 == len(data["items"])  # and the MTL files


def test_dry_run_plan_json(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [
        "download",
        *NOTEBOOK_QUERY,
        "--bands",
        "SR_B4",
        "--no-metadata",
        "--dry-run",
        "--json",
        "--out",
        str(out),
    ]
    result = run(args, env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert_valid("plan", plan)
    assert len(plan["files"]) == 3 and not any(f["present"] for f in plan["files"])


def test_login_status_json(sandbox: Sandbox) -> None:
    result = run(["login", "--status", "--json"], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert_valid("login-status", status)
    assert status["username"] == "demo" and "M2MDL_TOKEN" in status["secret_store"]
    assert "demo-token" not in result.stdout


def test_json_flag_is_output_json(sandbox: Sandbox) -> None:
    result = run(["search", *NOTEBOOK_QUERY, "--json"], env_for(sandbox))
    assert result.exit_code == 0, result.stderr
    assert_valid("search", json.loads(result.stdout))
