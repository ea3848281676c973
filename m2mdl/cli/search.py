"""``m2mdl search`` and ``m2mdl options`` (the filters they share with ``download`` are in
:mod:`m2mdl.cli.filters`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import ExitCode, InputError
from ._app import State, app, handle
from .choices import SearchFormat, SortKey, TableOrJson
from .filters import (
    AntimeridianOpt,
    AoiFileOpt,
    BboxOpt,
    CloudMaxOpt,
    CloudMinOpt,
    DatasetOpt,
    EndOpt,
    LimitOpt,
    MonthsOpt,
    PathOpt,
    PointOpt,
    RadiusOpt,
    RowOpt,
    StartOpt,
    area_from_options,
    build_query,
)

SortOpt = Annotated[
    SortKey | None,
    typer.Option(help="Sort the scenes (a leading - sorts descending).", show_default=False),
]
TierOpt = Annotated[
    str | None,
    typer.Option(
        "--tier",
        metavar="LIST",
        help="Only these collection tiers, e.g. T1 or T1,T2,RT (read from the display id;"
        " filtered after the search, before --limit).",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    SearchFormat,
    typer.Option("--output", help="Output format: a table for people, the others for programs."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as --output json.")]
OutFileOpt = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output-file",
        metavar="FILE",
        help="Write machine output (json unless --output says otherwise) to FILE instead of"
        " stdout (-o is always an output file).",
    ),
]
TIERS = ("T1", "T2", "RT")

if TYPE_CHECKING:
    from ..models import Scene
    from ..ui import Ui
    from ..workflow.context import Context


def parse_tiers(text: str | None) -> frozenset[str]:
    """``"t1,RT"`` -> {"T1", "RT"}; empty for None.

    Raises:
        InputError: a value that is not a Landsat Collection 2 tier.
    """
    tiers = frozenset(t.strip().upper() for t in (text or "").split(",") if t.strip())
    bad = sorted(tiers - set(TIERS))
    if bad:
        raise InputError(f"--tier {bad[0]!r} is not a tier; use {', '.join(TIERS)}")
    return tiers


def filter_tiers(scenes: list[Scene], tiers: frozenset[str], limit: int | None) -> list[Scene]:
    """The scenes of ``tiers`` (all when empty), in order, at most ``limit``."""
    from ..ui import landsat_tier

    kept = [s for s in scenes if not tiers or landsat_tier(s.display_id) in tiers]
    return kept if limit is None else kept[:limit]


@app.command()
@handle
def search(
    ctx: typer.Context,
    aoi: AoiFileOpt = None,
    bbox: BboxOpt = None,
    antimeridian: AntimeridianOpt = False,
    point: PointOpt = None,
    radius_km: RadiusOpt = 10.0,
    start: StartOpt = None,
    end: EndOpt = None,
    cloud_max: CloudMaxOpt = None,
    cloud_min: CloudMinOpt = None,
    dataset: DatasetOpt = None,
    months: MonthsOpt = None,
    path: PathOpt = None,
    row: RowOpt = None,
    limit: LimitOpt = None,
    sort: SortOpt = None,
    tier: TierOpt = None,
    output: OutputOpt = SearchFormat.table,
    output_file: OutFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Find Landsat scenes over an area: every hit, with no silent cap.

    On a terminal the table fits the window without ever cutting an id (other columns drop
    first); piped or redirected, it is plain text with every column in full.
    """
    from ..output import render_scenes
    from ..workflow.search import search as run_search

    state: State = ctx.obj
    output = SearchFormat.json if json_out else output
    ui = state.ui()
    with state.session(ui) as context:
        tiers = parse_tiers(tier)
        area = area_from_options(aoi, bbox, point, radius_km, antimeridian=antimeridian)
        query = build_query(
            context.settings,
            area,
            dataset=dataset,
            start=start,
            end=end,
            cloud_min=cloud_min,
            cloud_max=cloud_max,
            months=months,
            path=path,
            row=row,
            limit=None if tiers else limit,  # filter every hit by tier first, then cut
            sort=sort.value if sort else None,
        )
        ui.phase(f"searching {query.dataset}")
        result = run_search(context.client(), query)
    if tiers:
        result.scenes = filter_tiers(result.scenes, tiers, limit)
    if output is SearchFormat.table and output_file is None:
        ui.scenes_table(result.scenes, result.total_hits)
        return
    fmt = "json" if output is SearchFormat.table else output.value
    text = render_scenes(fmt, result.scenes, dataset=query.dataset, total_hits=result.total_hits)
    _write(ui, text, output_file)
    ui.info(f"{len(result.scenes)} scene(s) in {result.pages} page(s)")


def _write(ui: Ui, text: str, path: Path | None) -> None:
    if path is None:
        ui.data(text)
    else:
        from ..util.fs import write_output  # secrets/hashlib: not for every --help

        write_output(path, text.encode("utf-8"))  # old file or whole new one, never half
        ui.info(f"wrote {path}")


@app.command()
@handle
def options(
    ctx: typer.Context,
    scenes: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SCENE...",
            help="Display or entity ids.",
            show_default=False,
            # Typer prints an argument's Python type (``<list[str]>``) after its name, so the
            # argument is described in the command's help text instead.
            hidden=True,
        ),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="FILE",
            help="Scenes from a saved search (json, jsonl, csv or geojson).",
        ),
    ] = None,
    dataset: DatasetOpt = None,
    bands: Annotated[
        bool,
        typer.Option(
            "--bands",
            help="List the band names `download --bands` accepts for the dataset (of the"
            " display ids given, else --dataset); asks M2M nothing.",
        ),
    ] = False,
    output: Annotated[
        TableOrJson, typer.Option("--output", help="Output format.")
    ] = TableOrJson.table,
    json_out: JsonOpt = False,
) -> None:
    """Show what each scene can be downloaded as: bundles, single files, band groups.

    SCENE: display ids (LC08_L2SP_068017_20200310_20200822_02_T1) or entity ids
    (LC80680172020070LGN00), mixed; or --from FILE with a saved search. Ids M2M does not know
    are named on stderr and the command exits 6.
    """
    from ..output import read_scenes
    from ..workflow.ids import choose_dataset, classify_all

    state: State = ctx.obj
    ui = state.ui()
    as_json = output is TableOrJson.json or json_out
    with state.session(ui) as context:
        if bands:
            _list_bands(ui, scenes, dataset, context.settings.dataset, as_json)
            return
        if scenes and from_file:
            raise InputError("give scene ids or --from FILE, not both")
        if not scenes and from_file is None:
            raise InputError("give one or more scene ids, or --from FILE")
        unknown: list[tuple[str, str]] = []
        if from_file is not None:
            name = dataset or context.settings.dataset
            ids = [s.entity_id for s in read_scenes(from_file)]
        else:
            name = choose_dataset(classify_all(scenes or []), dataset, context.settings.dataset)
            ids, unknown = _entity_ids(context, name, scenes or [])
        _show_options(ui, context, name, ids, unknown, as_json)


def _entity_ids(
    context: Context, dataset: str, texts: list[str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Entity ids for the ids given; display ids are looked up (entity ids alone are not:
    download-options takes them as they are). Returns (entity ids, unknown ids)."""
    from ..workflow.ids import classify_all, resolve_ids

    ids = classify_all(texts)
    if all(i.kind == "entity" and i.problem is None for i in ids):
        return [i.text for i in ids], []
    resolved = resolve_ids(context.client(), dataset, texts)
    return [s.entity_id for s in resolved.scenes], list(resolved.unavailable)


def _show_options(
    ui: Ui,
    context: Context,
    dataset: str,
    ids: list[str],
    unknown: list[tuple[str, str]],
    as_json: bool,
) -> None:
    from ..workflow.options import scene_options

    for name, reason in unknown:
        ui.warn(f"{name}: unavailable: {reason}")
    if not ids:
        raise typer.Exit(int(ExitCode.INCOMPLETE))
    ui.phase(f"asking M2M for the files of {len(ids)} scene(s)")
    result = scene_options(context.client(), dataset, ids)
    if as_json:
        ui.data(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        ui.options_tables(result.products, result.groups)
    if unknown:
        raise typer.Exit(int(ExitCode.INCOMPLETE))


def _list_bands(
    ui: Ui, scenes: list[str] | None, flag: str | None, default: str, as_json: bool
) -> None:
    """``options --bands``: the band names of the dataset (offline: no login needed). The
    dataset of display ids given wins over the configured one, as in ``download``."""
    from ..bands import band_rows, bands_json, render_band_rows
    from ..workflow.ids import choose_dataset, classify_all

    name = choose_dataset(classify_all(scenes), flag, default) if scenes else flag or default
    if as_json:
        ui.data(json.dumps(bands_json(name), indent=2) + "\n")
    else:
        ui.data(render_band_rows(band_rows(name)))
