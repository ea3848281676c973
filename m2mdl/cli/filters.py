"""The options several commands share: the area (``--aoi``, ``--bbox``, ``--point``) and the
search filters (dates, cloud cover, dataset, months, WRS path/row, limit).

``search``, ``options``, ``aoi`` and ``download`` declare them from here, so that running one
command does not import (and register) the others (start-up; see :func:`m2mdl.cli._app.run`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, overload

import typer

from ..errors import InputError
from ._app import parse_date

if TYPE_CHECKING:
    from ..aoi import Aoi
    from ..config import Settings
    from ..workflow.search import SearchQuery

AoiFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--aoi",
        metavar="FILE",
        help="Area of interest: a GeoJSON file (Polygon, MultiPolygon, Feature(Collection)).",
        show_default=False,
    ),
]
BboxOpt = Annotated[
    tuple[float, float, float, float] | None,
    typer.Option(
        "--bbox",
        metavar="W S E N",
        help="Area as a box: west south east north, lon/lat degrees, space-separated"
        " (west > east only with --antimeridian).",
        show_default=False,
    ),
]
PointOpt = Annotated[
    tuple[float, float] | None,
    typer.Option(
        "--point",
        metavar="LON LAT",
        help="Area around a point: LON LAT (longitude first) with --radius-km.",
        show_default=False,
    ),
]
AntimeridianOpt = Annotated[
    bool,
    typer.Option(
        "--antimeridian",
        help="Allow a --bbox with west > east: the box crosses the 180th meridian.",
    ),
]
RadiusOpt = Annotated[
    float, typer.Option("--radius-km", metavar="KM", help="Radius around --point, km.")
]


@overload
def area_from_options(
    aoi: Path | None,
    bbox: tuple[float, float, float, float] | None,
    point: tuple[float, float] | None,
    radius_km: float,
    *,
    required: Literal[True],
    antimeridian: bool = False,
) -> Aoi: ...


@overload
def area_from_options(
    aoi: Path | None,
    bbox: tuple[float, float, float, float] | None,
    point: tuple[float, float] | None,
    radius_km: float,
    *,
    required: bool = False,
    antimeridian: bool = False,
) -> Aoi | None: ...


def area_from_options(
    aoi: Path | None,
    bbox: tuple[float, float, float, float] | None,
    point: tuple[float, float] | None,
    radius_km: float,
    *,
    required: bool = False,
    antimeridian: bool = False,
) -> Aoi | None:
    """One Aoi from exactly one of --aoi, --bbox, --point (None if none and not required).

    A --bbox with west > east is refused unless ``antimeridian`` (``--antimeridian``) says
    the box really crosses the 180th meridian: more often the two were swapped by mistake,
    and the box would silently go the long way round the globe.

    Raises:
        InputError: more than one given, none when required, or west > east without
            ``antimeridian``.
        AoiError: the area itself is bad.
    """
    given = [
        name
        for name, value in (("--aoi", aoi), ("--bbox", bbox), ("--point", point))
        if value is not None
    ]
    if len(given) > 1:
        raise InputError(f"give one area, not {' and '.join(given)}")
    if not given:
        if required:
            raise InputError("give an area: --aoi FILE, --bbox W S E N or --point LON LAT")
        return None
    from .. import aoi as aoi_mod  # only when an area was given (start-up of the others)

    if aoi is not None:
        return aoi_mod.load_aoi(aoi)
    if bbox is not None:
        check_bbox_order(bbox, antimeridian)
        return aoi_mod.aoi_from_bbox(*bbox)
    assert point is not None  # one of the three was given
    return aoi_mod.aoi_from_point(point[0], point[1], radius_km)


def check_bbox_order(bbox: tuple[float, float, float, float], antimeridian: bool) -> None:
    """Refuse west > east unless the user said the box crosses the antimeridian.

    Raises:
        InputError: west > east without ``antimeridian``.
    """
    west, _south, east, _north = bbox
    if west > east and not antimeridian:
        raise InputError(
            f"--bbox west {west:g} is east of east {east:g}: give W S E N with west < east,"
            " or add --antimeridian for a box across the 180th meridian"
        )


StartOpt = Annotated[
    str | None, typer.Option(metavar="DATE", help="First acquisition date, YYYY-MM-DD.")
]
EndOpt = Annotated[
    str | None, typer.Option(metavar="DATE", help="Last acquisition date, YYYY-MM-DD.")
]
CloudMaxOpt = Annotated[
    float | None,
    typer.Option(
        "--cloud-max",
        metavar="PERCENT",
        help="Maximum cloud cover, percent [env: M2MDL_CLOUD_MAX].",
    ),
]
CloudMinOpt = Annotated[
    float | None,
    typer.Option("--cloud-min", metavar="PERCENT", help="Minimum cloud cover, percent."),
]
DatasetOpt = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        help="Dataset [env: M2MDL_DATASET; default: landsat_ot_c2_l2].",
        show_default=False,
    ),
]
MonthsOpt = Annotated[
    str | None,
    typer.Option(metavar="LIST", help="Seasonal filter: months, e.g. 6,7,8.", show_default=False),
]
PathOpt = Annotated[int | None, typer.Option("--path", metavar="N", help="WRS-2 path.")]
RowOpt = Annotated[int | None, typer.Option("--row", metavar="N", help="WRS-2 row.")]
LimitOpt = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        help="At most this many scenes [default: every hit, page by page].",
        show_default=False,
    ),
]


def parse_months(text: str | None) -> tuple[int, ...]:
    """``"6,7,8"`` -> (6, 7, 8).

    Raises:
        InputError: not a comma-separated list of integers.
    """
    if not text:
        return ()
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(f"--months {text!r} is not a list of month numbers like 6,7,8") from None


def build_query(
    settings: Settings,
    area: Aoi | None,
    *,
    dataset: str | None,
    start: str | None,
    end: str | None,
    cloud_min: float | None,
    cloud_max: float | None,
    months: str | None,
    path: int | None,
    row: int | None,
    limit: int | None,
    sort: str | None,
) -> SearchQuery:
    """A SearchQuery from the options (validated there)."""
    from ..workflow.search import SearchQuery

    return SearchQuery(
        dataset=dataset or settings.dataset,
        aoi=area,
        start=parse_date(start, "--start"),
        end=parse_date(end, "--end"),
        cloud_min=cloud_min,
        cloud_max=cloud_max
        if cloud_max is not None
        else (settings.cloud_max if settings.cloud_max < 100 else None),
        months=parse_months(months),
        path=path,
        row=row,
        limit=limit,
        sort=sort,
    )
