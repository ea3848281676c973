"""``m2mdl aoi``: write an area-of-interest GeoJSON file, or check and describe one.

The area options it shares with ``search`` and ``download`` (``--aoi``, ``--bbox``,
``--point``/``--radius-km``) and their parsing are in :mod:`m2mdl.cli.filters`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InputError
from ._app import State, app, handle
from .filters import (
    AntimeridianOpt,
    BboxOpt,
    PointOpt,
    RadiusOpt,
    area_from_options,
)

if TYPE_CHECKING:
    from ..aoi import Aoi
    from ..ui import Ui


def wrs_area(path: int, row: int) -> Aoi:
    """The footprint of WRS-2 ``path``/``row`` as an Aoi, computed offline.

    The WRS-2 grid is fixed, so no login or network is needed: the corners come from the
    orbit model in ``m2mdl.sandbox.wrs`` (within about 0.05 degrees of the footprints M2M's
    grid2ll and scene-search report).
    """
    from .. import aoi as aoi_mod
    from ..sandbox import wrs

    shape = wrs.grid2ll(path, row, "polygon")
    coordinates: list[dict[str, float]] = shape["coordinates"]  # type: ignore[assignment]
    corners = [(c["longitude"], c["latitude"]) for c in coordinates]
    return aoi_mod.aoi_from_points(corners, f"wrs {path:03d}/{row:03d}")


def _parse_wrs(value: str) -> tuple[int, int]:
    try:
        path_text, row_text = value.replace("-", "/").split("/")
        path, row = int(path_text), int(row_text)
    except ValueError:
        raise InputError(f"--wrs {value!r} is not PATH/ROW (e.g. 068/017)") from None
    if not (1 <= path <= 233 and 1 <= row <= 248):
        raise InputError(f"--wrs {value!r} is outside WRS-2 (paths 1..233, rows 1..248)")
    return path, row


@app.command("aoi")
@handle
def aoi_command(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE", help="A GeoJSON file to check and describe.", show_default=False
        ),
    ] = None,
    bbox: BboxOpt = None,
    antimeridian: AntimeridianOpt = False,
    point: PointOpt = None,
    radius_km: RadiusOpt = 10.0,
    wkt: Annotated[
        str | None,
        typer.Option(
            "--wkt", metavar="WKT", help="Area as WKT: POLYGON((lon lat, ...)) or MULTIPOLYGON."
        ),
    ] = None,
    wrs: Annotated[
        str | None,
        typer.Option(
            "--wrs",
            metavar="PATH/ROW",
            help="Area of a WRS-2 scene, e.g. 068/017 (computed offline; no login needed).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output-file",
            metavar="FILE",
            help="Write the GeoJSON to FILE instead of stdout (-o is always an output file).",
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Describe as JSON.")] = False,
) -> None:
    """Write an AOI GeoJSON from --bbox/--point/--wkt/--wrs, or check and describe FILE."""
    from .. import aoi as aoi_mod

    state: State = ctx.obj
    ui = state.ui()
    sources = [
        n
        for n, v in (
            ("FILE", file),
            ("--bbox", bbox),
            ("--point", point),
            ("--wkt", wkt),
            ("--wrs", wrs),
        )
        if v is not None
    ]
    if len(sources) != 1:
        raise InputError(
            "give exactly one of FILE, --bbox, --point, --wkt or --wrs"
            + (f" (got {', '.join(sources)})" if sources else "")
        )
    if wkt is not None:
        area = aoi_mod.aoi_from_wkt(wkt)
    elif wrs is not None:
        area = wrs_area(*_parse_wrs(wrs))
    else:
        area = area_from_options(
            file, bbox, point, radius_km, required=True, antimeridian=antimeridian
        )
    if file is not None:
        _describe(ui, area, json_out)
        return
    text = aoi_mod.dumps(area)
    if output is not None:
        from ..util.fs import write_output  # secrets/hashlib: not for every --help

        write_output(output, text.encode("utf-8"))  # old file or whole new one, never half
        ui.info(f"wrote {output}")
    else:
        ui.data(text if text.endswith("\n") else text + "\n")


def _describe(ui: Ui, area: Aoi, json_out: bool) -> None:
    from ..output import envelope

    summary = area.describe()
    west, south, east, north = summary.bounds
    if json_out:
        ui.data(
            json.dumps(
                envelope(
                    "aoi",
                    {
                        "source": area.source,
                        "geometry_type": summary.geometry_type,
                        "polygons": summary.polygons,
                        "vertices": summary.vertices,
                        "bounds": list(summary.bounds),
                        "area_km2": summary.area_km2,
                    },
                ),
                indent=2,
            )
            + "\n"
        )
        return
    ui.data(
        f"{area.source}: valid {summary.geometry_type}, {summary.polygons} polygon(s), "
        f"{summary.vertices} vertices\n"
        f"bounds: west {west:.4f}, south {south:.4f}, east {east:.4f}, north {north:.4f}\n"
        f"area: {summary.area_km2:,.1f} km²\n"
    )
