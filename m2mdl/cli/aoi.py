"""``m2mdl aoi``: write an area-of-interest GeoJSON file, or check and describe one.

Also the AOI options shared by ``search`` and ``download`` (``--aoi``, ``--bbox``,
``--point``/``--radius-km``) and their parsing into one :class:`m2mdl.aoi.Aoi`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import InputError
from ._app import State, app, handle

AoiFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--aoi",
        help="Area of interest: a GeoJSON file (Polygon, MultiPolygon, Feature(Collection)).",
        show_default=False,
    ),
]
BboxOpt = Annotated[
    tuple[float, float, float, float] | None,
    typer.Option(
        "--bbox", help="Area as a box: WEST SOUTH EAST NORTH (lon/lat degrees).", show_default=False
    ),
]
PointOpt = Annotated[
    tuple[float, float] | None,
    typer.Option(
        "--point",
        help="Area around a point: LON LAT (longitude first) with --radius-km.",
        show_default=False,
    ),
]
RadiusOpt = Annotated[float, typer.Option("--radius-km", help="Radius around --point, km.")]


def area_from_options(
    aoi: Path | None,
    bbox: tuple[float, float, float, float] | None,
    point: tuple[float, float] | None,
    radius_km: float,
    *,
    required: bool = False,
) -> Any:
    """One Aoi from exactly one of --aoi, --bbox, --point (None if none and not required).

    Raises:
        InputError: more than one given, or none when required.
        AoiError: the area itself is bad.
    """
    from .. import aoi as aoi_mod

    given = [
        name
        for name, value in (("--aoi", aoi), ("--bbox", bbox), ("--point", point))
        if value is not None
    ]
    if len(given) > 1:
        raise InputError(f"give one area, not {' and '.join(given)}")
    if aoi is not None:
        return aoi_mod.load_aoi(aoi)
    if bbox is not None:
        return aoi_mod.aoi_from_bbox(*bbox)
    if point is not None:
        return aoi_mod.aoi_from_point(point[0], point[1], radius_km)
    if required:
        raise InputError("give an area: --aoi FILE, --bbox W S E N or --point LON LAT")
    return None


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
    point: PointOpt = None,
    radius_km: RadiusOpt = 10.0,
    wkt: Annotated[
        str | None,
        typer.Option("--wkt", help="Area as WKT: POLYGON((lon lat, ...)) or MULTIPOLYGON."),
    ] = None,
    wrs: Annotated[
        str | None,
        typer.Option(
            "--wrs", help="Area of a WRS-2 scene: PATH/ROW, e.g. 068/017 (asks M2M grid2ll)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output-file", help="Write the GeoJSON here instead of stdout."),
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
        path, row = _parse_wrs(wrs)
        corners = state.context(ui).client().grid2ll(path, row)
        area = aoi_mod.aoi_from_points(corners, f"wrs {path:03d}/{row:03d}")
    else:
        area = area_from_options(file, bbox, point, radius_km, required=True)
    if file is not None:
        _describe(ui, area, json_out)
        return
    text = aoi_mod.dumps(area)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        ui.info(f"wrote {output}")
    else:
        ui.data(text if text.endswith("\n") else text + "\n")


def _describe(ui: Any, area: Any, json_out: bool) -> None:
    summary = area.describe()
    west, south, east, north = summary.bounds
    if json_out:
        ui.data(
            json.dumps(
                {
                    "schema_version": 1,
                    "kind": "aoi",
                    "source": area.source,
                    "geometry_type": summary.geometry_type,
                    "polygons": summary.polygons,
                    "vertices": summary.vertices,
                    "bounds": list(summary.bounds),
                    "area_km2": summary.area_km2,
                },
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
