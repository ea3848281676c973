"""``m2mdl download`` and ``m2mdl cleanup``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import DownloadsIncomplete, ExitCode, InputError, spell
from ._app import State, app, confirm, handle, stop_on_signals
from .choices import FileType
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
from .flags import FLAG_NAMES

if TYPE_CHECKING:
    from ..aoi import Aoi
    from ..config import Settings
    from ..models import Scene
    from ..transfer import ProgressSink
    from ..ui import Ui
    from ..util.jsontypes import JsonObject
    from ..workflow.context import Context
    from ..workflow.download import DownloadSpec, Outcome

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


@dataclass(frozen=True)
class Found:
    """The scenes a download works on, their dataset, and the ids M2M does not know."""

    scenes: list[Scene]
    dataset: str
    unavailable: tuple[tuple[str, str], ...] = ()


def _scenes(
    context: Context,
    ids: list[str],
    from_file: Path | None,
    query_args: dict[str, Any],  # Any: build_query's keyword arguments, each typed there
    area: Aoi | None,
) -> Found:
    """Scenes from ids on the command line, a saved search (--from), or a fresh search.

    Each way imports only what it uses: ``--from`` reads a file and asks nothing, so its
    start-up is the shortest (the benchmarks measure it).
    """
    given = sum(bool(x) for x in (ids, from_file is not None, area is not None))
    if given > 1:
        raise InputError("give scene ids, --from FILE or an area, not more than one")
    settings = context.settings
    if ids:
        from ..workflow.ids import choose_dataset, classify_all, resolve_ids

        dataset = choose_dataset(classify_all(ids), query_args["dataset"], settings.dataset)
        context.phases.phase(f"looking up {len(ids)} scene id(s) in {dataset}")
        resolved = resolve_ids(context.client(), dataset, ids)
        return Found(list(resolved.scenes), dataset, resolved.unavailable)
    if from_file is not None:
        from ..output import read_scenes

        scenes = read_scenes(from_file)
        return Found(scenes, scenes[0].dataset or query_args["dataset"] or settings.dataset)
    if area is None and query_args["path"] is None:
        raise InputError(
            "give scene ids, an area (--aoi, --bbox, --point), a WRS --path, or --from FILE"
        )
    from ..workflow.search import search

    query = build_query(settings, area, **query_args)
    context.phases.phase(f"searching {query.dataset}")
    return Found(search(context.client(), query).scenes, query.dataset)


@app.command()
@handle
def download(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SCENE...",
            show_default=False,
            # Typer prints an argument's Python type (``<list[str]>``) after its name, so the
            # argument is described in the command's help text instead.
            hidden=True,
        ),
    ] = None,
    filetype: FileTypeOpt = FileType.band,
    aoi: AoiFileOpt = None,
    bbox: BboxOpt = None,
    antimeridian: AntimeridianOpt = False,
    point: PointOpt = None,
    radius_km: RadiusOpt = 10.0,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from", metavar="FILE", help="Scenes from a saved search instead of searching."
        ),
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
            "--bands",
            metavar="LIST",
            help="With band: files to fetch, as USGS suffixes (SR_B4), short forms (B4) or"
            " STAC names (red, nir08, qa_pixel); `m2mdl options --bands` lists them"
            " [default: all].",
        ),
    ] = None,
    no_metadata: Annotated[
        bool,
        typer.Option("--no-metadata", help="With --bands: leave out the MTL metadata files."),
    ] = False,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group",
            metavar="LIST",
            help="With band_group: group ids, e.g. ls_c2l2_sr_band [default: all].",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory [env: M2MDL_OUT; default: .]."),
    ] = None,
    layout: Annotated[
        str | None,
        typer.Option(
            "--layout",
            metavar="scene|flat",
            help="scene: each scene's files in OUT/<display id>/; flat: all in OUT"
            " [env: M2MDL_LAYOUT; default: scene].",
            show_default=False,
        ),
    ] = None,
    extract: Annotated[
        bool,
        typer.Option(
            "--extract",
            help="With bundle: extract each .tar into OUT/<display id>/, every member verified,"
            " then remove the .tar.",
        ),
    ] = False,
    keep_tar: Annotated[
        bool, typer.Option("--keep-tar", help="With --extract: keep the .tar as well.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(help="Connections in all [env: M2MDL_WORKERS; default 4, as USGS advises]."),
    ] = None,
    segments: Annotated[
        int | None,
        typer.Option(
            help="At most N connections per file; a file is split only when it downloads"
            " slowly while connections are idle [default 4]."
        ),
    ] = None,
    limit_rate: Annotated[
        str | None,
        typer.Option(
            "--limit-rate",
            metavar="RATE",
            help="Bandwidth for all transfers together, bytes/s with --max-size's units,"
            " e.g. 10M, 500k; 0: no limit [env: M2MDL_LIMIT_RATE].",
            show_default=False,
        ),
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

    SCENE: display ids (LC08_L2SP_068017_20200310_20200822_02_T1) or entity ids
    (LC80680172020070LGN00), mixed; or --from FILE; or the search flags. With no scene ids,
    --start, --end or --from, searches the last 30 days (setting default_days). Files go to
    OUT/<display id>/ (--layout flat: OUT/), bundles to OUT/<display id>.tar; every run
    updates the STAC catalog OUT/catalog.json.
    """
    import sys

    from ..workflow.download import DownloadSpec
    from ..workflow.guard import parse_size

    state: State = ctx.obj
    ui = state.ui()
    state.flags.update(
        out_dir=None if out is None else str(out),
        workers=workers,
        segments=segments,
        wait=wait,
        layout=layout,
        limit_rate=limit_rate,
    )
    with state.session(ui) as context:
        settings = context.settings
        _check_numbers(settings, deadline)
        _check_choices(filetype.value, _split(bands), _split(group), extract, keep_tar)
        layout_name = _layout(settings)
        rate = _rate(settings)
        area = area_from_options(aoi, bbox, point, radius_km, antimeridian=antimeridian)
        if start is None and end is None and from_file is None and not ids:
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
        if _split(bands):
            _check_bands(dataset or settings.dataset, ids or [], _split(bands))
        found = _scenes(context, ids or [], from_file, query_args, area)
        spec = DownloadSpec(
            filetype=filetype.value,
            out_dir=Path(settings.out_dir),
            dataset=found.dataset,
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
            layout=layout_name,
            metadata=not no_metadata,
            extract=extract,
            keep_tar=keep_tar,
            limit_rate=rate,
            unavailable=found.unavailable,
            max_size=parse_size(max_size or settings.max_size),
            yes=yes,
            size_scale=state.size_scale,
            interactive=sys.stdin.isatty() and sys.stderr.isatty(),
            confirm=lambda question: confirm(spell(question, FLAG_NAMES)),
        )
        _run(ui, context, spec, found.scenes, json_out)


def _layout(settings: Settings) -> str:
    """The ``layout`` setting, checked (flag > env > config > scene)."""
    from ..layout import check_layout

    return check_layout(settings.layout)


def _rate(settings: Settings) -> int | None:
    """``limit_rate`` in bytes/s, or None for no limit (empty or 0).

    The units are --max-size's (SI: ``10M`` is 10,000,000 bytes/s; ``10MiB`` binary), so
    one spelling means one size everywhere in m2mdl.

    Raises:
        InputError: not a rate.
    """
    from ..workflow.guard import parse_size

    text = settings.limit_rate.strip()
    if not text:
        return None
    value = parse_size(text, "--limit-rate")
    return value or None


def _check_bands(dataset: str, ids: list[str], bands: tuple[str, ...]) -> None:
    """Refuse a band name before searching (the dataset of display ids wins over the
    default)."""
    from ..bands import resolve_bands
    from ..workflow.ids import choose_dataset, classify_all

    name = choose_dataset(classify_all(ids), None, dataset) if ids else dataset
    resolve_bands(name, bands)


def _default_window(ui: Ui, days: int) -> tuple[str, str]:
    """The last ``days`` days, said on stderr (a download never plans the whole archive)."""
    from ..workflow.guard import default_window, describe_window

    first, last = default_window(days)
    ui.info(spell(describe_window(first, last, days), FLAG_NAMES))
    return first.isoformat(), last.isoformat()


def _check_choices(
    filetype: str, bands: tuple[str, ...], groups: tuple[str, ...], extract: bool, keep_tar: bool
) -> None:
    if bands and filetype != "band":
        raise InputError("--bands goes with --filetype band")
    if groups and filetype != "band_group":
        raise InputError("--group goes with --filetype band_group")
    if extract and filetype != "bundle":
        raise InputError("--extract goes with --filetype bundle")
    if keep_tar and not extract:
        raise InputError("--keep-tar goes with --extract")


def _check_numbers(settings: Settings, deadline: float | None) -> None:
    if not 1 <= settings.workers <= 16:
        raise InputError(f"--workers {settings.workers} is outside 1..16")
    if not 1 <= settings.segments <= 16:
        raise InputError(f"--segments {settings.segments} is outside 1..16")
    if deadline is not None and deadline <= 0:
        raise InputError(f"--deadline {deadline:g} must be positive")


def _arguments(ctx: typer.Context) -> JsonObject:  # JSON values of the flags
    """The command's parameters for the manifest (no secret is ever a parameter)."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in ctx.params.items()}


def _run(ui: Ui, context: Context, spec: DownloadSpec, scenes: list[Scene], json_out: bool) -> None:
    from ..output import envelope
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
    sinks: list[ProgressSink] = []  # the UI's progress displays, closed at the end

    def progress(files: int, total_bytes: int | None) -> ProgressSink:
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
                envelope(
                    "download",
                    {
                        "manifest": str(outcome.manifest.path) if outcome.manifest else None,
                        "counts": outcome.counts,
                        "exit_code": int(outcome.exit_code),
                    },
                )
            )
            + "\n"
        )
    _report_incomplete(ui, outcome)


#: Unavailable scenes: at most this many reasons, and ids per reason, are printed.
SHOWN_UNAVAILABLE = 5


def _report_incomplete(ui: Ui, outcome: Outcome) -> None:
    """Exit 6 when something is not done. Files still preparing, files the deadline stopped
    (they resume) and scenes that are not available are a normal ending (a warning line, as
    a later run picks them up or there is nothing to fetch); failed files are an error."""
    if not outcome.incomplete:
        return
    where = outcome.manifest.path if outcome.manifest else "the manifest"
    counts = outcome.counts
    stopped = outcome.deadline_pending
    failed = counts.get("failed", 0) + counts.get("pending", 0) - stopped
    hint = _explain_unavailable(ui, outcome)
    deadline = (
        f"deadline reached: {stopped} file(s) pending; run the same command again to resume them"
        if stopped
        else None
    )
    if not failed:
        parts = [deadline] if deadline else []
        if counts.get("preparing", 0):
            parts.append(
                f"{counts['preparing']} file(s) still preparing on the server; run the same"
                " command again later to fetch them"
            )
        if outcome.plan.unavailable:
            parts.append(f"{len(outcome.plan.unavailable)} scene(s) unavailable")
        ui.warn(f"{'; '.join(parts)}; see {where}", hint)
        raise typer.Exit(int(ExitCode.INCOMPLETE))
    error = DownloadsIncomplete(_failure_message(outcome, where, deadline))
    if hint:
        error.hint = f"{hint}; {error.hint}"
    raise error


def _failure_message(outcome: Outcome, where: object, deadline: str | None) -> str:
    """The error line of a run with failed files: how many, and what is known of why."""
    message = (
        f"{outcome.incomplete} file(s) not done (failed, preparing or unavailable); see {where}"
    )
    if deadline:
        message = f"{deadline}. {message}"
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
    return message


def _explain_unavailable(ui: Ui, outcome: Outcome) -> str | None:
    """Print why scenes are unavailable, one line per reason (bounded); return the hint for
    a bundle that is not offered: the same scenes' band files, when download-options offered
    them in the same answer."""
    by_reason: dict[str, list[str]] = {}
    for display_id, reason in outcome.plan.unavailable:
        by_reason.setdefault(reason, []).append(display_id)
    for reason, ids in list(by_reason.items())[:SHOWN_UNAVAILABLE]:
        ui.warn(f"unavailable: {reason}: {_bounded(ids)}")
    if len(by_reason) > SHOWN_UNAVAILABLE:
        ui.warn(f"unavailable: and {len(by_reason) - SHOWN_UNAVAILABLE} more reason(s)")
    if not outcome.band_files:
        return None
    return (
        f"band files are available for {len(outcome.band_files)} of these scene(s):"
        " --filetype band fetches them (add --bands to choose which)"
    )


def _bounded(ids: list[str]) -> str:
    """The first few ids, then how many more."""
    shown = ", ".join(ids[:SHOWN_UNAVAILABLE])
    more = len(ids) - SHOWN_UNAVAILABLE
    return shown + (f" and {more} more" if more > 0 else "")


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
    with state.session(ui) as context:
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
        ui.info(spell(warning, FLAG_NAMES))
    if not (report.orders or report.scene_lists or report.files):
        ui.info("nothing to remove" + ("" if report.warnings else ": m2mdl left nothing behind"))
