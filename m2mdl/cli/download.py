"""``m2mdl download`` and ``m2mdl cleanup``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import DownloadsIncomplete, InputError
from ._app import State, app, handle, stop_on_signals
from .aoi import AoiFileOpt, BboxOpt, PointOpt, RadiusOpt, area_from_options
from .choices import FileType
from .search import (
    CloudMaxOpt,
    CloudMinOpt,
    DatasetOpt,
    EndOpt,
    LimitOpt,
    MonthsOpt,
    PathOpt,
    RowOpt,
    StartOpt,
    build_query,
)

FileTypeOpt = Annotated[
    FileType,
    typer.Option(
        "--filetype",
        help="band: single files; bundle: one .tar per scene; band_group: the files"
        " of band groups.",
    ),
]


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip() for item in values or [] for v in item.split(",") if v.strip())


def _scenes(
    context: Any, from_file: Path | None, query_args: dict[str, Any], area: Any
) -> tuple[list[Any], str]:
    """Scenes from a saved search (--from) or a fresh search."""
    from ..output import read_scenes
    from ..workflow.search import search

    if from_file is not None:
        if area is not None:
            raise InputError("give --from FILE or an area, not both")
        scenes = read_scenes(from_file)
        return scenes, scenes[0].dataset or query_args["dataset"] or context.settings.dataset
    if area is None and query_args["path"] is None:
        raise InputError("give an area (--aoi, --bbox, --point), a WRS --path, or --from FILE")
    query = build_query(context.settings, area, **query_args)
    return search(context.client(), query).scenes, query.dataset


@app.command()
@handle
def download(
    ctx: typer.Context,
    filetype: FileTypeOpt = FileType.band,
    aoi: AoiFileOpt = None,
    bbox: BboxOpt = None,
    point: PointOpt = None,
    radius_km: RadiusOpt = 10.0,
    from_file: Annotated[
        Path | None, typer.Option("--from", help="Scenes from a saved search instead of searching.")
    ] = None,
    start: StartOpt = None,
    end: EndOpt = None,
    cloud_max: CloudMaxOpt = None,
    cloud_min: CloudMinOpt = None,
    dataset: DatasetOpt = None,
    months: MonthsOpt = None,
    path: PathOpt = None,
    row: RowOpt = None,
    limit: LimitOpt = None,
    bands: Annotated[
        list[str] | None,
        typer.Option(
            "--bands", help="With band: files to fetch, e.g. SR_B4,QA_PIXEL [default: all]."
        ),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group", help="With band_group: group ids, e.g. ls_c2l2_sr_band [default: all]."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output directory [env: M2MDL_OUT; default: .]."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Connections in all [env: M2MDL_WORKERS; default 4, as USGS advises]."),
    ] = None,
    segments: Annotated[
        int | None,
        typer.Option(help="Range segments per large file when files < workers [default 4]."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show the plan (scenes x files, bytes, present); request nothing."
        ),
    ] = False,
    wait: Annotated[
        float | None,
        typer.Option(help="Seconds to wait for files M2M is still preparing [default 600]."),
    ] = None,
    deadline: Annotated[
        float | None,
        typer.Option(
            help="Stop after this many seconds in all (for cron); unfinished files resume next run."
        ),
    ] = None,
    keep_server_state: Annotated[
        bool,
        typer.Option("--keep-server-state", help="Keep this run's scene lists and download order."),
    ] = False,
    verify_existing: Annotated[
        bool,
        typer.Option(
            "--verify-existing",
            help="Re-hash files already on disk (against USGS's SHA-512) before skipping them.",
        ),
    ] = False,
    require_checksums: Annotated[
        bool,
        typer.Option(
            "--require-checksums",
            help="Fail (exit 6) for files USGS publishes no checksum for, or when STAC is down.",
        ),
    ] = False,
    json_out: Annotated[
        bool,
        typer.Option("--json", help="Print the run summary (with --dry-run: the plan) as JSON."),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Download a plan over --max-size without asking.")
    ] = False,
    max_size: Annotated[
        str | None,
        typer.Option(
            "--max-size",
            help="Ask before a plan larger than this, e.g. 500MB, 2TB; 0: never"
            " [env: M2MDL_MAX_SIZE; default 100GB].",
        ),
    ] = None,
    break_lock: Annotated[
        bool,
        typer.Option(
            "--break-lock",
            help="Take over the directory's lock even if its holder may live (another host).",
        ),
    ] = False,
) -> None:
    """Search, request and download scenes' files: resumable, verified, parallel.

    With no --start, --end or --from, searches the last 30 days (setting default_days).
    """
    from ..workflow.download import DownloadSpec

    state: State = ctx.obj
    ui = state.ui()
    state.flags.update(
        out_dir=None if out is None else str(out), workers=workers, segments=segments, wait=wait
    )
    context = state.context(ui)
    settings = context.settings
    _check_numbers(settings, deadline)
    _check_choices(filetype.value, _split(bands), _split(group))
    area = area_from_options(aoi, bbox, point, radius_km)
    if start is None and end is None and from_file is None:
        start, end = _default_window(ui, settings.default_days)
    query_args = dict(
        dataset=dataset,
        start=start,
        end=end,
        cloud_min=cloud_min,
        cloud_max=cloud_max,
        months=months,
        path=path,
        row=row,
        limit=limit,
        sort=None,
    )
    if from_file is None:
        ui.phase(f"searching {dataset or settings.dataset}")
    scenes, dataset_name = _scenes(context, from_file, query_args, area)
    spec = DownloadSpec(
        filetype=filetype.value,
        out_dir=Path(settings.out_dir),
        dataset=dataset_name,
        bands=_split(bands),
        groups=_split(group),
        dry_run=dry_run,
        wait=settings.wait,
        keep_server_state=keep_server_state or settings.keep_server_state,
        workers=settings.workers,
        segments=settings.segments,
        deadline=deadline,
        verify_existing=verify_existing,
        require_checksums=require_checksums,
        arguments=_arguments(ctx),
        aoi=area.geometry() if area is not None else None,
        break_lock=break_lock,
    )
    if not dry_run:
        _guard(ui, context, spec, scenes, yes, max_size or settings.max_size)
    _run(state, ui, context, spec, scenes, json_out)


def _default_window(ui: Any, days: int) -> tuple[str, str]:
    """The last ``days`` days, said on stderr (a download never plans the whole archive)."""
    from ..workflow.guard import default_window, describe_window

    first, last = default_window(days)
    ui.info(describe_window(first, last, days))
    return first.isoformat(), last.isoformat()


def _guard(ui: Any, context: Any, spec: Any, scenes: list[Any], yes: bool, limit: str) -> None:
    """Plan first (no server state), then ask or refuse when it is over --max-size."""
    import dataclasses
    import sys

    from ..workflow.download import run_download
    from ..workflow.guard import PlanTotals, check_plan, parse_size

    max_bytes = parse_size(limit)
    if yes or max_bytes <= 0 or not scenes:
        return
    preview = run_download(context, dataclasses.replace(spec, dry_run=True), scenes)
    check_plan(
        PlanTotals.of(preview.plan.files, preview.present),
        max_bytes,
        yes=yes,
        dry_run=False,
        interactive=sys.stdin.isatty() and sys.stderr.isatty(),
        confirm=lambda question: typer.confirm(question, default=False, err=True),
    )


def _check_choices(filetype: str, bands: tuple[str, ...], groups: tuple[str, ...]) -> None:
    if bands and filetype != "band":
        raise InputError("--bands goes with --filetype band")
    if groups and filetype != "band_group":
        raise InputError("--group goes with --filetype band_group")


def _check_numbers(settings: Any, deadline: float | None) -> None:
    if not 1 <= settings.workers <= 16:
        raise InputError(f"--workers {settings.workers} is outside 1..16")
    if not 1 <= settings.segments <= 16:
        raise InputError(f"--segments {settings.segments} is outside 1..16")
    if deadline is not None and deadline <= 0:
        raise InputError(f"--deadline {deadline:g} must be positive")


def _arguments(ctx: typer.Context) -> dict[str, Any]:
    """The command's parameters for the manifest (no secret is ever a parameter)."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in ctx.params.items()}


def _run(state: State, ui: Any, context: Any, spec: Any, scenes: list[Any], json_out: bool) -> None:
    from ..workflow.download import run_download
    from ..workflow.notices import show_notices

    if spec.dry_run:
        outcome = run_download(context, spec, scenes)
        if json_out:
            ui.data(json.dumps(outcome.plan_json(), indent=2) + "\n")
        else:
            ui.plan_table(outcome)
        return
    show_notices(context, ui)
    sinks: list[Any] = []

    def progress(files: int, total_bytes: int | None) -> Any:
        sinks.append(ui.progress(files, total_bytes))
        return sinks[-1]

    with stop_on_signals() as stop:
        try:
            outcome = run_download(context, spec, scenes, progress=progress, stop=stop)
        finally:
            for sink in sinks:
                getattr(sink, "close", lambda: None)()
    ui.summary(outcome)
    if json_out:
        ui.data(
            json.dumps(
                {
                    "schema_version": 1,
                    "kind": "download",
                    "manifest": str(outcome.manifest.path) if outcome.manifest else None,
                    "counts": outcome.counts,
                    "exit_code": outcome.exit_code,
                }
            )
            + "\n"
        )
    if outcome.incomplete:
        where = outcome.manifest.path if outcome.manifest else "the manifest"
        message = (
            f"{outcome.incomplete} file(s) not done (failed, preparing or unavailable); see {where}"
        )
        stale = outcome.kinds().get("checksum_mismatch", 0)
        if stale:
            message = (
                f"{stale} file(s) came twice with the same bytes, which differ from the SHA-512"
                " USGS publishes: the published checksum may be stale; the bytes are kept as"
                f" NAME.checksum-mismatch. {message}"
            )
        unchecked = outcome.kinds().get("no_checksum", 0)
        if unchecked:
            message = (
                f"{unchecked} file(s) have no checksum published by USGS (or the STAC API was"
                f" down) and --require-checksums was given; they are kept. {message}"
            )
        raise DownloadsIncomplete(message)


@app.command()
@handle
def cleanup(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Remove stale .part files and journals under this directory."),
    ] = None,
    server: Annotated[
        bool,
        typer.Option(
            "--server/--no-server", help="Remove m2mdl's scene lists and orders on the server."
        ),
    ] = True,
    older_than: Annotated[
        float, typer.Option("--older-than", help="Only local files untouched for this many hours.")
    ] = 24.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List, remove nothing.")] = False,
    break_lock: Annotated[
        bool,
        typer.Option("--break-lock", help="Take over --dir's lock even if its holder may live."),
    ] = False,
) -> None:
    """Remove what m2mdl runs leave behind (server scene lists and orders, stale partial
    files); runs that may still be going are left alone."""
    from ..workflow.cleanup import cleanup as run_cleanup

    state: State = ctx.obj
    ui = state.ui()
    if older_than < 0:
        raise InputError(f"--older-than {older_than:g} must not be negative")
    if directory is not None and not directory.is_dir():
        raise InputError(f"--dir {directory} is not a directory")
    context = state.context(ui)
    report = run_cleanup(
        context,
        directory,
        server=server,
        local=directory is not None,
        dry_run=dry_run,
        older_than=older_than * 3600,
        break_lock=break_lock,
    )
    verb = "would remove" if dry_run else "removed"
    for label in report.orders:
        ui.data(f"{verb} download order {label}\n")
    for list_id in report.scene_lists:
        ui.data(f"{verb} scene list {list_id}\n")
    for path in report.files:
        ui.data(f"{verb} {path}\n")
    for warning in report.warnings:
        ui.info(warning)
