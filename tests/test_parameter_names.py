"""Errors name parameters: a Python caller reads ``max_size``, a CLI user reads ``--max-size``.

A :class:`m2mdl.errors.ParameterError` holds its message and hint as templates; the Python
API shows them with parameter names, and the CLI re-spells both through
:data:`m2mdl.cli.flags.FLAG_NAMES` in one place (``cli._app``). The CLI's words are the ones
it printed before the templates existed, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import pytest

from m2mdl.aoi import aoi_from_wkt, parse_geojson
from m2mdl.api import M2MClient
from m2mdl.cli.flags import FLAG_NAMES
from m2mdl.config import resolve
from m2mdl.errors import (
    AoiError,
    ExitCode,
    NotAnArea,
    ParameterError,
    literal,
    spell,
)
from m2mdl.sandbox import Sandbox
from m2mdl.workflow.context import SilentReporter
from m2mdl.workflow.guard import PlanTooLarge, PlanTotals, check_plan, parse_size
from m2mdl.workflow.ids import classify_all, implied_dataset, resolve_ids
from m2mdl.workflow.verify import verify_directory

from .cli_helpers import ANCHORAGE, env_for, run

BIG = PlanTotals(scenes=2572, files=56584, size=2_400_000_000_000)
LIMIT = 100 * 1000**3
POINT_ADVICE_CLI = "use m2mdl aoi --point LON LAT --radius-km R"


def _both(error: ParameterError) -> tuple[ParameterError, ParameterError]:
    """The error as a Python caller reads it, and as the CLI prints it."""
    return error, error.spelled(FLAG_NAMES)


# --- the mechanism ----------------------------------------------------------------------------


def test_the_hint_is_a_template_too_and_spelling_makes_a_copy() -> None:
    error = ParameterError("${max_size} is 0", hint="raise ${max_size} or add ${yes}")
    assert (error.message, error.hint) == ("max_size is 0", "raise max_size or add yes")
    cli = error.spelled(FLAG_NAMES)
    assert (cli.message, cli.hint) == ("--max-size is 0", "raise --max-size or add --yes")
    assert type(cli) is ParameterError and cli is not error
    assert (error.message, error.hint) == ("max_size is 0", "raise max_size or add yes")
    assert str(error) == "max_size is 0", "the original is never changed"


def test_a_subclass_default_hint_is_spelled() -> None:
    class Refused(ParameterError):
        default_hint = "add ${yes}"

    error = Refused("no")
    assert error.hint == "add yes"
    assert error.spelled(FLAG_NAMES).hint == "add --yes"


def test_literal_values_survive_both_spellings() -> None:
    value = "$HOME/${out_dir}"
    error = ParameterError(f"{literal(value)} is not in ${{out_dir}}", hint=literal(value))
    assert error.message == "$HOME/${out_dir} is not in out_dir"
    assert error.spelled(FLAG_NAMES).message == "$HOME/${out_dir} is not in --out"
    assert error.spelled(FLAG_NAMES).hint == value
    assert spell("${out_dir}") == "out_dir" and spell("${out_dir}", FLAG_NAMES) == "--out"


def test_with_message_and_prefixed_keep_text_plain_and_templates_working() -> None:
    error = ParameterError("over ${max_size}", hint="add ${yes}")
    said = error.with_message("$x over ${max_size}")
    assert said.spelled(FLAG_NAMES).message == "$x over ${max_size}", "plain text stays plain"
    assert said.spelled(FLAG_NAMES).hint == "add --yes"
    where = error.prefixed("$dir/a.json: ")
    assert where.message == "$dir/a.json: over max_size"
    assert where.spelled(FLAG_NAMES).message == "$dir/a.json: over --max-size"
    assert error.message == "over max_size"


# --- the plan guard ---------------------------------------------------------------------------


def test_a_plan_over_the_limit_names_parameters_or_flags() -> None:
    with pytest.raises(PlanTooLarge) as info:
        check_plan(BIG, LIMIT, yes=False, dry_run=False, interactive=False, confirm=lambda q: True)
    python, cli = _both(info.value)
    assert isinstance(python, ParameterError) and python.exit_code == ExitCode.INPUT
    totals = "2572 scene(s), 56584 file(s), 2.4 TB"
    assert python.message == (
        f"the plan is {totals}, over max_size 100.0 GB; not started without confirmation"
    )
    assert python.hint == (
        "add yes to download it anyway, raise max_size, or narrow the search"
        " (start/end, cloud_max, limit); dry_run lists the plan"
    )
    assert cli.message == (
        f"the plan is {totals}, over --max-size 100.0 GB; not started without confirmation"
    )
    assert cli.hint == (
        "add --yes to download it anyway, raise --max-size, or narrow the search"
        " (--start/--end, --cloud-max, --limit); --dry-run lists the plan"
    )


def test_a_bad_size_names_the_parameter_it_was_given_for() -> None:
    with pytest.raises(ParameterError) as info:
        parse_size("12 parsecs")
    python, cli = _both(info.value)
    assert python.message == "max_size '12 parsecs' is not a size"
    assert cli.message == "--max-size '12 parsecs' is not a size"
    assert cli.hint == "write a number and a unit, e.g. 500MB, 100GB, 2TB or 1.5GiB"
    with pytest.raises(ParameterError) as info:
        parse_size("1$GB", "${limit_rate}")
    python, cli = _both(info.value)
    assert python.message == "limit_rate '1$GB' is not a size"
    assert cli.message == "--limit-rate '1$GB' is not a size"
    with pytest.raises(ParameterError, match=r"^--limit-rate 'x' is not a size$"):
        parse_size("x", "--limit-rate")  # plain text, as the CLI has always passed it


# --- scene ids ----------------------------------------------------------------------------------


def test_ids_of_two_datasets_name_the_dataset_parameter() -> None:
    ids = classify_all(
        [
            "LC08_L2SP_068017_20200310_20200822_02_T1",
            "LC08_L1TP_068017_20200310_20200822_02_T1",
        ]
    )
    with pytest.raises(ParameterError) as info:
        implied_dataset(ids)
    python, cli = _both(info.value)
    datasets = "landsat_ot_c2_l1, landsat_ot_c2_l2"
    assert python.message == (
        f"these ids belong to different datasets ({datasets}); run once per dataset, with dataset"
    )
    assert cli.message == (
        f"these ids belong to different datasets ({datasets}); run once per dataset, with --dataset"
    )


class _NoIdFields:
    """A client whose dataset has no scene identifier field."""

    def dataset_filter_ids(self, dataset: str) -> dict[str, str]:
        return {}


def test_a_dataset_without_id_fields_names_the_from_file_parameter() -> None:
    client = cast(M2MClient, _NoIdFields())
    with pytest.raises(ParameterError) as info:
        resolve_ids(client, "my_$dataset", ["LC80680172020070LGN00"])
    python, cli = _both(info.value)
    lead = "dataset my_$dataset has no Landsat Scene Identifier field: its scenes cannot be"
    assert python.message == f"{lead} looked up by id; use from_file with a saved search instead"
    assert cli.message == f"{lead} looked up by id; use --from FILE with a saved search instead"


# --- verify -------------------------------------------------------------------------------------


def test_verify_without_a_manifest_names_out_dir_or_out(tmp_path: Path) -> None:
    empty = tmp_path / "not $HOME"
    empty.mkdir()
    with pytest.raises(ParameterError) as info:
        verify_directory(resolve({}), empty, SilentReporter())
    python, cli = _both(info.value)
    assert python.message == cli.message == f"no m2mdl manifest in {empty}"
    assert python.hint == "give the download's out_dir"
    assert cli.hint == "give the download's --out"


def test_the_cli_verify_names_the_out_flag(tmp_path: Path) -> None:
    result = run(["verify", str(tmp_path)])
    assert result.exit_code == ExitCode.INPUT, result.stderr
    assert f"no m2mdl manifest in {tmp_path}" in result.stderr
    assert "give the download's --out" in result.stderr
    assert "out_dir" not in result.stderr


# --- areas --------------------------------------------------------------------------------------


def test_a_point_is_not_an_area_in_python_or_cli_words() -> None:
    text = json.dumps({"type": "Point", "coordinates": [1, 2]})
    with pytest.raises(NotAnArea) as info:
        parse_geojson(text, source="$HOME/aoi.json")
    python, cli = _both(info.value)
    assert isinstance(python, AoiError) and python.exit_code == ExitCode.INPUT
    assert python.message == "$HOME/aoi.json: a Point is not an area; use aoi_from_point"
    assert cli.message == f"$HOME/aoi.json: a Point is not an area; {POINT_ADVICE_CLI}"
    with pytest.raises(NotAnArea) as info:
        aoi_from_wkt("MULTIPOINT ((1 2), (3 4))")
    python, cli = _both(info.value)
    assert python.message == "a MultiPoint is not an area; use aoi_from_point"
    assert cli.message == f"a MultiPoint is not an area; {POINT_ADVICE_CLI}"


def test_a_point_inside_a_collection_keeps_its_place_and_its_advice() -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [1, 2]},
            }
        ],
    }
    with pytest.raises(NotAnArea) as info:
        parse_geojson(json.dumps(doc), source="a.json")
    python, cli = _both(info.value)
    assert python.message.startswith("a.json: feature 1 of 1: a Point is not an area")
    assert python.message.endswith("use aoi_from_point")
    assert cli.message.endswith(f"a Point is not an area; {POINT_ADVICE_CLI}")


def test_a_line_is_not_an_area_and_has_no_flag_to_spell() -> None:
    with pytest.raises(NotAnArea) as info:
        aoi_from_wkt("LINESTRING (0 0, 1 1)")
    python, cli = _both(info.value)
    assert python.message == cli.message
    assert python.message.startswith("a LineString is not an area; buffer the line")


def test_the_cli_aoi_command_names_its_point_command(tmp_path: Path) -> None:
    result = run(["aoi", "--wkt", "POINT (1 2)"])
    assert result.exit_code == ExitCode.INPUT, result.stderr
    assert f"a Point is not an area; {POINT_ADVICE_CLI}" in result.stderr
    point = tmp_path / "point.geojson"
    point.write_text(json.dumps({"type": "Point", "coordinates": [1, 2]}), encoding="utf-8")
    result = run(["aoi", str(point)])
    assert result.exit_code == ExitCode.INPUT, result.stderr
    assert f"{point}: a Point is not an area; {POINT_ADVICE_CLI}" in result.stderr
    assert "aoi_from_point" not in result.stderr


# --- the CLI's own run --------------------------------------------------------------------------


def test_the_cli_refuses_a_large_plan_in_flag_words(sandbox: Sandbox, tmp_path: Path) -> None:
    args = ["download", "--aoi", str(ANCHORAGE), "--start", "2020-03-01", "--end", "2020-03-15"]
    args += ["--filetype", "band", "--bands", "red", "--max-size", "1", "--out", str(tmp_path)]
    result = run(args, env_for(sandbox))
    assert result.exit_code == ExitCode.INPUT, result.stderr
    assert ", over --max-size 1 B; not started without confirmation" in result.stderr
    assert (
        "add --yes to download it anyway, raise --max-size, or narrow the search"
        " (--start/--end, --cloud-max, --limit); --dry-run lists the plan"
    ) in result.stderr
    assert "max_size" not in result.stderr and "dry_run" not in result.stderr
