"""Bad input: exit code 2 and one error line on stderr naming the problem; never a traceback.

Runs through ``m2mdl.__main__.main`` (the console script), which also shortens Click's usage
errors to one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from m2mdl.__main__ import main
from m2mdl.sandbox import Sandbox

DEAD_API = "http://127.0.0.1:9/api/api/json/stable/"  # nothing listens: no request may be needed


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0), capsys.readouterr().err


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


OPEN_RING = '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}'
CASES: list[tuple[list[str], str]] = [
    # aoi
    (["aoi", "{tmp}/missing.geojson"], "missing.geojson"),
    (["aoi", "{bad_json}"], "bad.json"),
    (["aoi", "{point}"], "Point"),
    (["aoi", "{open_ring}"], "not closed"),
    (["aoi", "--bbox", "10", "50", "11", "40"], "50"),
    (["aoi", "--bbox", "200", "10", "201", "11"], "200"),
    (["aoi", "--point", "10", "95"], "95"),
    (["aoi", "--point", "10", "45", "--radius-km", "0"], "radius"),
    (["aoi", "--wkt", "POLYGON((0 0, 1 1))"], "3 positions"),
    (["aoi", "--wrs", "999/1"], "999/1"),
    (["aoi", "--wrs", "abc"], "abc"),
    (["aoi", "{point}", "--bbox", "0", "0", "1", "1"], "exactly one"),
    (["aoi"], "exactly one"),
    # search
    (["search", "--bbox", "0", "0", "1", "1", "--start", "2020-13-01"], "2020-13-01"),
    (
        ["search", "--bbox", "0", "0", "1", "1", "--start", "2021-01-01", "--end", "2020-01-01"],
        "after",
    ),
    (["search", "--bbox", "0", "0", "1", "1", "--cloud-max", "150"], "150"),
    (
        ["search", "--bbox", "0", "0", "1", "1", "--cloud-min", "50", "--cloud-max", "10"],
        "--cloud-min 50",
    ),
    (["search", "--bbox", "0", "0", "1", "1", "--months", "13"], "13"),
    (["search", "--bbox", "0", "0", "1", "1", "--months", "a,b"], "a,b"),
    (["search", "--bbox", "0", "0", "1", "1", "--path", "300"], "300"),
    (["search", "--bbox", "0", "0", "1", "1", "--limit", "0"], "--limit 0"),
    (["search", "--bbox", "0", "0", "1", "1", "--sort", "size"], "size"),
    (["search", "--bbox", "0", "0", "1", "1", "--output", "xml"], "xml"),
    (["search"], "give an area"),
    (["search", "--bbox", "0", "0", "1", "1", "--aoi", "{point}"], "--aoi and --bbox"),
    (["search", "--limit", "x"], "--limit"),
    (["search", "--bbox", "0", "0", "1"], "--bbox"),
    # options
    (["options"], "scene ids"),
    (["options", "bad id!"], "bad id!"),
    (["options", "--from", "{tmp}/nope.json"], "nope.json"),
    (["options", "LC80680172020070LGN00", "--output", "yaml"], "yaml"),
    (["options", "--from", "{no_entity}"], "entity_id"),
    # download
    (["download", "--bbox", "0", "0", "1", "1", "--filetype", "zip"], "zip"),
    (["download", "--bbox", "0", "0", "1", "1", "--workers", "0"], "--workers 0"),
    (["download", "--bbox", "0", "0", "1", "1", "--deadline", "-5"], "--deadline"),
    (
        ["download", "--bbox", "0", "0", "1", "1", "--filetype", "bundle", "--bands", "SR_B4"],
        "--bands",
    ),
    (["download", "--bbox", "0", "0", "1", "1", "--group", "ls_c2l2_sr_band"], "--group"),
    (["download"], "an area"),
    (["download", "--bbox", "0", "0", "1", "1", "--limit-rate", "fast"], "--limit-rate"),
    (["download", "--bbox", "0", "0", "1", "1", "--layout", "diagonal"], "diagonal"),
    (["download", "--bbox", "0", "0", "1", "1", "--extract"], "--extract"),
    (["download", "--bbox", "0", "0", "1", "1", "--bands", "SR_B99"], "SR_B99"),
    (["download", "--bbox", "10", "0", "1", "1"], "--antimeridian"),
    (["download", "LC08_L2SP_068017_20200310"], "not a scene id"),
    (["options", "--bands", "--dataset", "gls_all"], "gls_all"),
    # cleanup
    (["cleanup", "--dir", "{tmp}/nowhere"], "nowhere"),
]


@pytest.mark.parametrize(("args", "needle"), CASES, ids=[" ".join(a)[:50] for a, _ in CASES])
def test_bad_input_exit_2_one_line(
    args: list[str],
    needle: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("M2MDL_API_URL", DEAD_API)
    monkeypatch.setenv("M2MDL_USERNAME", "demo")
    monkeypatch.setenv("M2MDL_TOKEN", "demo-token")
    files = {
        "tmp": str(tmp_path),
        "bad_json": write(tmp_path, "bad.json", "{not json"),
        "point": write(tmp_path, "point.geojson", '{"type":"Point","coordinates":[1,2]}'),
        "open_ring": write(tmp_path, "open.geojson", OPEN_RING),
        "no_entity": write(tmp_path, "scenes.jsonl", '{"display_id": "x"}\n'),
    }
    code, err = run_main([a.format(**files) for a in args], capsys)
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert needle in errors[0], err
    assert len(err.strip().splitlines()) <= 2  # the error, and at most a hint
    assert "Traceback" not in err


def test_unknown_dataset_suggests_close_matches(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M2MDL_API_URL", sandbox.api_url)
    monkeypatch.setenv("M2MDL_USERNAME", "demo")
    monkeypatch.setenv("M2MDL_TOKEN", "demo-token")
    code, err = run_main(
        ["search", "--bbox", "0", "0", "1", "1", "--dataset", "landsat_ot_c2_l3"], capsys
    )
    assert code == 2
    assert "landsat_ot_c2_l3" in err and "did you mean" in err and "landsat_ot_c2_l2" in err


def test_unknown_band_names_the_known_ones(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("M2MDL_API_URL", sandbox.api_url)
    monkeypatch.setenv("M2MDL_USERNAME", "demo")
    monkeypatch.setenv("M2MDL_TOKEN", "demo-token")
    aoi = Path(__file__).resolve().parents[1] / "examples" / "anchorage.geojson"
    code, err = run_main(
        [
            "download",
            "--aoi",
            str(aoi),
            "--start",
            "2020-03-01",
            "--end",
            "2020-03-15",
            "--bands",
            "SR_B99",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 2 and "SR_B99" in err and "SR_B4" in err


def test_plain_http_to_a_remote_host_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M2MDL_API_URL", "http://m2m.example.com/api/api/json/stable/")
    monkeypatch.setenv("M2MDL_USERNAME", "demo")
    monkeypatch.setenv("M2MDL_TOKEN", "demo-token")
    code, err = run_main(["search", "--bbox", "0", "0", "1", "1"], capsys)
    assert code == 2 and "plain http" in err
