"""Analysis-ready output end to end, through the real CLI against the sandbox: a folder per
scene, the local STAC catalog read by pystac and odc-stac, band names, scene ids as arguments,
unavailable scenes, and ``--extract`` surviving a SIGKILL."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from m2mdl.sandbox import Sandbox

from ..cli_helpers import NOTEBOOK_QUERY, SCENES
from .helpers import (
    CliProcess,
    band_names,
    cli_env,
    file_records,
    inspect_out,
    run_cli,
    statuses,
    wait_for,
)

pytestmark = pytest.mark.reliability

FIRST = "LC08_L2SP_068017_20200310_20200822_02_T1"
UNKNOWN = "LC80000000000000XXX00"


def test_named_bands_give_a_catalog_that_pystac_and_odc_stac_load(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    import odc.stac
    import pystac

    out = tmp_path / "out"
    args = ["download", *NOTEBOOK_QUERY, "--filetype", "band", "--bands", "red,nir08,qa_pixel"]
    result = run_cli([*args, "--out", str(out)], cli_env(sandbox))
    assert result.code == 0, result.explain()
    state = inspect_out(out, sandbox, allow_temps=False)
    bands = ("SR_B4", "SR_B5", "QA_PIXEL")
    metadata = sorted(f"{d}_{m}" for d in SCENES.values() for m in ("MTL.txt", "MTL.xml"))
    assert sorted(state.finals) == sorted(band_names(bands) + metadata)
    assert all(where == f"{name[:40]}/{name}" for name, where in state.where.items())
    assert state.newest_manifest()["catalog"] == "catalog.json"
    assert sorted(state.items) == sorted(SCENES.values())

    catalog = pystac.Catalog.from_file(str(out / "catalog.json"))
    items = list(catalog.get_items(recursive=True))
    assert sorted(i.id for i in items) == sorted(SCENES.values())
    for item in items:
        assert {"red", "nir08", "qa_pixel", "MTL.txt"} <= set(item.assets)
        assert Path(item.assets["red"].get_absolute_href() or "").is_file()
    data = odc.stac.load(items, bands=["red", "nir08"], groupby="id", resolution=300)
    assert {"red", "nir08"} <= set(data.data_vars)
    assert data.sizes["time"] == 3
    assert float(data["red"].count()) > 0  # pixels were read from the local files


def test_files_of_the_flat_layout_are_found_and_skipped(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["download", *NOTEBOOK_QUERY, "--filetype", "band", "--bands", "SR_B4", "--no-metadata"]
    flat = run_cli([*args, "--out", str(out)], cli_env(sandbox, M2MDL_LAYOUT="flat"))
    assert flat.code == 0, flat.explain()
    sent = len(file_records(sandbox))
    again = run_cli([*args, "--out", str(out)], cli_env(sandbox))  # the scene layout
    assert again.code == 0, again.explain()
    state = inspect_out(out, sandbox, allow_temps=False)
    assert set(statuses(state.newest_manifest()).values()) == {"skipped"}
    assert len(file_records(sandbox)) == sent, "a file of the flat layout was fetched again"
    assert all("/" not in where for where in state.where.values())  # left where they were


def test_options_takes_a_display_id(sandbox: Sandbox) -> None:
    result = run_cli(["options", FIRST, "--output", "json"], cli_env(sandbox))
    assert result.code == 0, result.explain()
    scenes = json.loads(result.stdout)["scenes"]
    assert [s["display_id"] for s in scenes] == [FIRST]
    listing = run_cli(["options", "--bands", FIRST], cli_env())  # offline: no login
    assert listing.code == 0, listing.explain()
    assert "SR_B4" in listing.stdout and " red " in listing.stdout


def test_download_by_ids_reports_an_unknown_one_unavailable(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["download", FIRST, UNKNOWN, "--filetype", "bundle", "--out", str(out)]
    result = run_cli(args, cli_env(sandbox))
    assert result.code == 6, result.explain()
    assert not [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "unavailable" in result.stderr
    state = inspect_out(out, sandbox, allow_temps=False)
    assert sorted(state.finals) == [f"{FIRST}.tar"]
    manifest = state.newest_manifest()
    scenes = {s["display_id"]: s for s in manifest["scenes"]}
    assert scenes[FIRST]["status"] == "found"
    assert scenes[UNKNOWN]["status"] == "unavailable" and scenes[UNKNOWN]["reason"]
    assert manifest["exit_code"] == 6


def test_still_preparing_is_a_warning_not_an_error(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(preparing_seconds=600)
    args = ["download", FIRST, "--filetype", "bundle", "--wait", "1", "--out", str(tmp_path)]
    result = run_cli(args, cli_env(sb))
    assert result.code == 6, result.explain()
    lines = result.stderr.splitlines()
    assert not [line for line in lines if line.startswith("error:")], result.explain()
    assert any(line.startswith("warning:") and "still preparing" in line for line in lines)


def test_extract_killed_midway_completes_on_rerun(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(data_scale=0.05)
    out = tmp_path / "out"
    folder, tar = out / FIRST, out / f"{FIRST}.tar"
    args = ["download", FIRST, "--filetype", "bundle", "--extract", "--out", str(out)]

    def midway() -> bool:
        members = [p for p in folder.glob(f"{FIRST}_*")] if folder.is_dir() else []
        return bool(members) and tar.is_file()

    first = CliProcess(args, cli_env(sb))
    wait_for(midway, 60, "extraction to start")
    first.send(signal.SIGKILL)
    killed = first.wait()
    assert killed.code == -signal.SIGKILL, killed.explain()
    assert tar.is_file(), "the tar went before every member was in place"
    inspect_out(out, sb)  # whatever is final-named has the right bytes

    again = run_cli(args, cli_env(sb))
    assert again.code == 0, again.explain()
    state = inspect_out(out, sb, allow_temps=False)
    assert not tar.exists(), "the tar is left after a complete extraction"
    manifest = state.newest_manifest()
    items = manifest["items"]
    assert items and all(i["product"] == "bundle member" for i in items)
    assert all(i["status"] in {"done", "skipped"} for i in items)
    assert {state.where[i["file_name"]] for i in items} == {i["path"] for i in items}
    assert {i["verified"] for i in items if not i["file_name"].endswith("_stac.json")} == {
        "bundle-stac"
    }
    checked = run_cli(["verify", str(out)], cli_env(sb))
    assert checked.code == 0, checked.explain()


def test_a_saved_scene_without_download_options_is_unavailable(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    saved = tmp_path / "scenes.jsonl"
    ghost = "LC80680172020071LGN09"  # well-formed; the archive has no such scene
    records = [
        {"entity_id": "LC80680172020070LGN00", "display_id": FIRST, "dataset": "landsat_ot_c2_l2"},
        {"entity_id": ghost, "display_id": "", "dataset": "landsat_ot_c2_l2"},
    ]
    saved.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    args = ["download", "--from", str(saved), "--filetype", "bundle", "--out", str(out)]
    result = run_cli(args, cli_env(sandbox))
    assert result.code == 6, result.explain()
    state = inspect_out(out, sandbox, allow_temps=False)
    assert sorted(state.finals) == [f"{FIRST}.tar"]
    scenes = {s["entity_id"]: s for s in state.newest_manifest()["scenes"]}
    assert scenes[ghost]["status"] == "unavailable"
    assert "no download options" in scenes[ghost]["reason"]
