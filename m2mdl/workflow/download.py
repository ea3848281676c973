"""The main job: scenes -> scene list -> download-options -> download-request -> files.

One run uses one label and one scene list (two for band groups), named after the run id, and
removes them at the end unless asked to keep them. Files already on disk and verified are
skipped and never requested again; what M2M is still preparing when the wait ends is recorded
in the manifest as ``preparing`` and picked up by the next run.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DiskFull, ExitCode, Interrupted, M2mdlError
from ..layout import DEFAULT_LAYOUT
from ..manifest import Item, Manifest, Status, new_run_id
from .guard import PlanTooLarge
from .runs import registered

# Start-up: what a run needs before its first API call (settings, client, manifest, lock,
# runs registry) is imported above; the planning, checksum, transfer and on-disk steps are
# imported by the step that uses them, after that call (tests/test_startup.py).
if TYPE_CHECKING:
    from ..api import M2MClient
    from ..m2m_requests import DataGroup
    from ..models import Product, Scene
    from ..transfer import ProgressSink, TransferOptions
    from ..util.jsontypes import JsonObject, JsonValue
    from .checksums import Checksums
    from .context import Context
    from .ondisk import OnDisk
    from .plan import Plan, PlannedFile
    from .present import Present

log = logging.getLogger("m2mdl.workflow")


@dataclass(frozen=True)
class DownloadSpec:
    """What to download and how. Built by the CLI or by library users."""

    filetype: str
    out_dir: Path
    dataset: str
    bands: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    dry_run: bool = False
    wait: float = 600.0
    keep_server_state: bool = False
    workers: int = 4
    segments: int = 4
    deadline: float | None = None  # seconds from the start of the run
    verify_existing: bool = False  # re-hash every present file before skipping it
    require_checksums: bool = False  # a file without a published checksum fails
    arguments: JsonObject = field(default_factory=dict)  # for the manifest, no secrets
    aoi: JsonValue = None  # GeoJSON of the AOI (any GeoJSON geometry), for the manifest
    break_lock: bool = False  # --break-lock: take over a lock whose holder may live
    layout: str = DEFAULT_LAYOUT  # "scene" (OUT/<display id>/) or "flat" (m2mdl.layout)
    metadata: bool = True  # with bands: the MTL files come along (--no-metadata: False)
    extract: bool = False  # bundles: extract into OUT/<display id>/ (m2mdl.extract)
    keep_tar: bool = False  # with extract: keep the .tar once every member is in place
    limit_rate: int | None = None  # bytes/s for all transfers together (--limit-rate)
    #: (id, reason) for scenes the caller could not find (unknown ids): reported as
    #: ``unavailable`` in the summary and the manifest; the run exits 6.
    unavailable: tuple[tuple[str, str], ...] = ()
    #: The plan guard (m2mdl.workflow.guard): the limit in bytes (0: none), --yes, whether
    #: someone can be asked, and how.
    max_size: int = 0
    size_scale: float = 1.0  # files are this fraction of their real size (the sandbox)
    yes: bool = False
    interactive: bool = False
    confirm: Callable[[str], bool] | None = None


@dataclass
class Outcome:
    """The result of a run (also of a dry run, which has no manifest)."""

    plan: Plan
    present: frozenset[str]  # keys of planned files already on disk
    manifest: Manifest | None = None
    exit_code: ExitCode = ExitCode.OK
    #: Unavailable scenes (display ids) whose single files are available: with no bundle to
    #: offer, ``filetype="band"`` would still fetch them.
    band_files: frozenset[str] = frozenset()

    @property
    def counts(self) -> dict[str, int]:
        """Items per state (empty for a dry run)."""
        return self.manifest.counts() if self.manifest else {}

    def plan_json(self) -> JsonObject:
        """The plan as JSON (``download --dry-run --json``, schema_version 1)."""
        from ..output import envelope

        files = [
            {
                "file_name": f.file_name,
                "entity_id": f.scene_entity_id,
                "display_id": f.scene_display_id,
                "product": f.product,
                "size": f.size,
                "present": f.key in self.present,
            }
            for f in self.plan.files
        ]
        missing = [f.size or 0 for f in self.plan.files if f.key not in self.present]
        return envelope(
            "plan",
            {
                "files": files,
                "unavailable": [{"display_id": d, "reason": r} for d, r in self.plan.unavailable],
                "bytes_to_download": sum(missing),
                "sizes_known": all(f.size is not None for f in self.plan.files),
            },
        )

    def kinds(self) -> dict[str, int]:
        """Failed items per error kind (``checksum_mismatch``, ``no_checksum``, ...)."""
        counts: dict[str, int] = {}
        for item in self.manifest.items.values() if self.manifest else ():
            if item.status is Status.FAILED and item.error_kind:
                counts[item.error_kind] = counts.get(item.error_kind, 0) + 1
        return counts

    @property
    def deadline_pending(self) -> int:
        """Files left ``pending`` because the deadline was reached (the next run resumes)."""
        items = self.manifest.items.values() if self.manifest else ()
        return sum(1 for i in items if i.status is Status.PENDING and i.error_kind == "deadline")

    @property
    def incomplete(self) -> int:
        """Files that failed, are still preparing or pending, plus unavailable scenes."""
        counts = self.counts
        return (
            counts.get("failed", 0)
            + counts.get("preparing", 0)
            + counts.get("pending", 0)
            + len(self.plan.unavailable)
        )


ProgressFactory = Callable[[int, "int | None"], "ProgressSink"]


@dataclass(frozen=True)
class _Prepared:
    """A run's plan before anything is written: files, what is on disk, what to fetch."""

    plan: Plan
    present: dict[str, Present]
    extracted: dict[str, list[Item]]  # bundles extracted by an earlier run: their members
    todo: list[PlannedFile]
    total: int | None  # bytes to fetch, None when a size is unknown


def run_download(
    ctx: Context,
    spec: DownloadSpec,
    scenes: Sequence[Scene],
    *,
    progress: ProgressFactory | None = None,
    stop: threading.Event | None = None,
) -> Outcome:
    """Download the files of ``scenes`` as ``spec`` says.

    ``progress(files, total_bytes)`` is called once the plan is known and returns the sink
    that receives the transfer events (default: none).

    Raises:
        m2mdl.errors.M2mdlError: API, auth and network failures (the manifest is saved first);
            Interrupted when ``stop`` was set (files and manifest stay resumable).
    """
    client = ctx.client()
    run = _Run(
        ctx,
        client,
        spec,
        list(scenes),
        progress or _no_progress,
        stop or threading.Event(),
    )
    if spec.dry_run:
        return run.dry_run()
    with registered(run.label, spec.out_dir):
        return run.execute()


def _no_progress(files: int, total_bytes: int | None) -> ProgressSink:
    """The default progress factory: a sink that drops every event."""
    from ..transfer import NullSink

    return NullSink()


def _unknown_scene(name: str, dataset: str, reason: str) -> JsonObject:
    """The manifest's scene entry for an id M2M does not know (only the id is known)."""
    return {
        "entity_id": name,
        "display_id": name,
        "dataset": dataset,
        "acquired": None,
        "cloud_cover": None,
        "wrs_path": None,
        "wrs_row": None,
        "publish_date": None,
        "footprint": None,
        "status": "unavailable",
        "reason": reason,
    }


def _with_band_files(products: Sequence[Product], scenes: set[str]) -> frozenset[str]:
    """Those of ``scenes`` (display ids) whose single files download-options offers (read
    from the same answer, so no further call)."""
    from .plan import plan_bands

    return frozenset(f.scene_display_id for f in plan_bands(products).files) & scenes


def _m2m_checksums(products: Sequence[Product]) -> dict[str, str]:
    """File name -> SHA-512 from download-options' ``checksum`` fields that carry a value."""
    from ..stac import parse_checksum

    found: dict[str, str] = {}
    for product in products:
        for each in (product, *product.secondary):
            digest = parse_checksum(each.checksum)
            if digest is not None:
                found.setdefault(each.file_name, digest)
    return found


class _Run:
    """The state of one download run; each method is one step."""

    def __init__(
        self,
        ctx: Context,
        client: M2MClient,
        spec: DownloadSpec,
        scenes: list[Scene],
        progress: ProgressFactory,
        stop: threading.Event,
    ) -> None:
        self.ctx, self.client, self.spec, self.scenes = ctx, client, spec, scenes
        self.progress, self.stop = progress, stop
        self.started = time.monotonic()
        self.requested = False
        self.run_id = new_run_id()
        self.label = f"m2mdl_{self.run_id}"
        self.manifest = Manifest(
            spec.out_dir,
            self.run_id,
            "download",
            spec.arguments,
            dataset=spec.dataset,
            aoi=spec.aoi,
            filetype=spec.filetype,
            label=self.label,
        )
        self.manifest.scenes = [s.to_json() | {"status": "found"} for s in scenes]
        self.checksums: Checksums | None = None
        self.m2m_checksums: dict[str, str] = {}
        self.band_files: frozenset[str] = frozenset()  # see Outcome.band_files

    @functools.cached_property
    def ondisk(self) -> OnDisk:
        """Extraction and catalog steps, made when first needed (after the first API call)."""
        from .ondisk import OnDisk

        spec = self.spec
        return OnDisk(
            self.manifest,
            spec.out_dir,
            extract=spec.extract,
            keep_tar=spec.keep_tar,
            warn=self.ctx.reporter.warn,
            stopped=self.stop.is_set,
        )

    # --- steps ------------------------------------------------------------------------------

    def dry_run(self) -> Outcome:
        """Plan without touching the server's download queue (no list, no request)."""
        ids = [s.entity_id for s in self.scenes]
        products = (
            self.client.download_options(
                self.spec.dataset, entity_ids=ids, file_groups=self.spec.filetype == "band_group"
            )
            if ids
            else []
        )
        from .present import already_present

        plan = self._plan(products)
        present = already_present(plan.files, self.spec.out_dir, layout=self.spec.layout)
        return Outcome(plan, frozenset(present), band_files=self.band_files)

    def execute(self) -> Outcome:
        """The whole run, with the directory locked. The plan is made and checked by the
        guard before anything but the lock is written under OUT (a refused plan leaves no
        trace there); from then on the manifest is saved whatever happens."""
        from ..transfer.lock import DirectoryLock

        try:
            self.spec.out_dir.mkdir(parents=True, exist_ok=True)
            with DirectoryLock(self.spec.out_dir, break_lock=self.spec.break_lock):
                outcome = self._recorded()
        finally:
            self._remove_server_state()
        self._remove_earlier_state()
        return outcome

    def _recorded(self) -> Outcome:
        """Prepare and run; the manifest records the end whatever happens, except for a
        plan the guard refused (nothing was started: no trace under OUT)."""
        exit_code, refused = ExitCode.BUG, False
        try:
            outcome = self._execute(self._prepare())
            exit_code = outcome.exit_code
            return outcome
        except PlanTooLarge:
            refused = True
            raise
        except M2mdlError as exc:
            exit_code = exc.exit_code
            raise
        except KeyboardInterrupt:
            exit_code = ExitCode.INTERRUPTED
            raise
        finally:
            if not refused:
                self.manifest.finish(int(exit_code))

    def _prepare(self) -> _Prepared | None:
        """download-options, the plan, what is already on disk, and the plan guard.

        Reads OUT but writes nothing there (the manifest comes after). None when there is
        no scene to ask about.
        """
        if not self.scenes:
            return None
        self.ctx.phases.phase(f"asking M2M for the files of {len(self.scenes)} scene(s)")
        products = self._options()
        from .present import already_present  # after the first API call (start-up)

        plan = self._plan(products)
        self.m2m_checksums = _m2m_checksums(products)
        present = already_present(
            plan.files,
            self.spec.out_dir,
            checksums=lambda: self._checksums(plan),
            verify_existing=self.spec.verify_existing,
            warn=self.ctx.reporter.warn,
            layout=self.spec.layout,
        )
        extracted = self.ondisk.extracted_before(plan.files, present)
        todo = [f for f in plan.files if f.key not in present and f.key not in extracted]
        sizes = [f.size for f in todo]
        total = None if None in sizes else sum(s or 0 for s in sizes)
        self.ctx.phases.plan_line(len(self.scenes), len(plan.files), len(present), total)
        log.info(
            "plan: %d file(s) over %d scene(s); %d already present, %d to fetch",
            len(plan.files),
            len(self.scenes),
            len(present) + len(extracted),
            len(todo),
        )
        self._guard(todo)
        return _Prepared(plan, present, extracted, todo, total)

    def _execute(self, prepared: _Prepared | None) -> Outcome:
        self.manifest.save()
        if prepared is None:
            return self._nothing_found()
        plan, present = prepared.plan, prepared.present
        self._record(plan, present, prepared.extracted)
        if prepared.todo and not self.stop.is_set():
            self._fetch(plan, prepared.todo, prepared.total)
        self.ondisk.extract_all(lambda: self._checksums(plan))
        self.ondisk.update_catalog(plan, self.scenes, lambda: self._checksums(plan))
        self._raise_for_run_wide_failures()
        outcome = Outcome(plan, frozenset(present), self.manifest, band_files=self.band_files)
        outcome.exit_code = ExitCode.INCOMPLETE if outcome.incomplete else ExitCode.OK
        return outcome

    def _nothing_found(self) -> Outcome:
        """No scene to ask M2M about: every id was unknown, or the search found nothing."""
        from .plan import Plan

        plan = Plan((), self.spec.unavailable)
        if not plan.unavailable:
            self.ctx.reporter.warn("no scenes found: nothing to download")
            return Outcome(plan, frozenset(), self.manifest, ExitCode.OK)
        self._record(plan, {}, {})
        return Outcome(plan, frozenset(), self.manifest, ExitCode.INCOMPLETE)

    def _guard(self, todo: Sequence[PlannedFile]) -> None:
        """Ask, or refuse, before a plan over --max-size reaches the server's queue."""
        from .guard import PlanTotals, check_plan

        spec = self.spec
        if not todo or spec.yes or spec.max_size <= 0:
            return
        check_plan(
            PlanTotals.of(todo, frozenset(), self.spec.size_scale),
            spec.max_size,
            yes=spec.yes,
            dry_run=False,
            interactive=spec.interactive,
            confirm=spec.confirm or (lambda _question: False),
        )

    def _fetch(self, plan: Plan, todo: Sequence[PlannedFile], total: int | None) -> None:
        """download-request, transfer what is ready, wait for what is preparing."""
        from .fetch import Fetcher

        self.requested = True
        self.ondisk.held(todo)
        fetcher = Fetcher(
            self.client,
            self.manifest,
            self.label,
            self._options_for_engine(),
            self.progress(len(todo), total),
            self.stop,
            self.ctx.reporter,
            checksums=self._checksums(plan),
            require_checksums=self.spec.require_checksums,
            hold=self.ondisk.hold,
        )
        self.ctx.phases.phase(f"requesting {len(todo)} file(s)")
        fetcher.request(todo, self._data_groups(todo))
        self.ctx.phases.request_line(len(fetcher.ready), len(fetcher.preparing))
        fetcher.transfer_available()
        fetcher.wait_for_preparing(self._wait_until())

    def _checksums(self, plan: Plan) -> Checksums:
        """The run's expected checksums, looked up once (STAC), when first needed."""
        if self.checksums is None:
            from .checksums import lookup

            products = {f.scene_display_id for f in plan.files}
            self.checksums = lookup(self.ctx.settings, products, self.ctx.reporter)
            for name, digest in self.m2m_checksums.items():
                self.checksums.m2m.setdefault(name, digest)
        return self.checksums

    def _raise_for_run_wide_failures(self) -> None:
        """A signal or a full disk ends the whole run: say so, not "N files failed"."""
        if self.stop.is_set():
            raise Interrupted("interrupted; finished files and .part files are kept")
        kinds = {i.error_kind for i in self.manifest.items.values()}
        if "disk_full" in kinds:
            raise DiskFull(f"no space left on the device of {self.spec.out_dir.resolve()}")
        if self.manifest.save_error is not None:
            raise self.manifest.save_error

    def _options(self) -> list[Product]:
        list_id = self.label
        ids = [s.entity_id for s in self.scenes]
        self.client.scene_list_add(list_id, self.spec.dataset, ids)
        self.manifest.scene_lists.append(list_id)
        products = self.client.download_options(
            self.spec.dataset, list_id=list_id, file_groups=self.spec.filetype == "band_group"
        )
        wanted = set(ids)  # lists can hold stale scenes from older sessions
        products = [p for p in products if p.entity_id in wanted]
        log.info("download-options: %d product(s) for %d scene(s)", len(products), len(ids))
        return products

    def _plan(self, products: Sequence[Product]) -> Plan:
        """The files to fetch, and every scene that has none to offer, with the reason
        (unknown ids, scenes download-options left out, scenes without the file type)."""
        from ..bands import resolve_bands
        from .ids import without_options
        from .plan import Plan, make_plan

        spec = self.spec
        bands = (
            resolve_bands(spec.dataset, spec.bands, no_metadata=not spec.metadata)
            if spec.bands
            else None
        )
        plan = make_plan(spec.filetype, products, bands=bands, groups=spec.groups)
        missing = without_options(self.scenes, products)
        if spec.filetype == "bundle" and plan.unavailable:
            self.band_files = _with_band_files(products, {d for d, _ in plan.unavailable})
        return Plan(plan.files, (*spec.unavailable, *missing, *plan.unavailable))

    def _record(
        self,
        plan: Plan,
        present: dict[str, Present],
        extracted: dict[str, list[Item]],
    ) -> None:
        """Every planned file as a manifest item (bundles extracted earlier as their
        members), and every unavailable scene."""
        from ..layout import file_path

        for planned in plan.files:
            if planned.key in extracted:
                for member in extracted[planned.key]:
                    self.manifest.add(member)
                continue
            found = present.get(planned.key)
            path = (
                found.where
                if found is not None and found.where is not None
                else file_path(
                    self.spec.out_dir,
                    planned.scene_display_id,
                    planned.file_name,
                    self.spec.layout,
                )
            )
            item = Item(
                key=planned.key,
                entity_id=planned.scene_entity_id,
                display_id=planned.scene_display_id,
                product=planned.product,
                file_name=path.name,
                path=path.relative_to(self.spec.out_dir).as_posix(),
                size=planned.size,
            )
            if found is not None:
                self._skipped(item, found)
            self.manifest.add(item)
        self._mark_unavailable(plan.unavailable)
        self.manifest.save()

    def _skipped(self, item: Item, found: Present) -> None:
        """A file already on disk: carry its record over (a bundle to extract waits)."""
        item.status = Status.SKIPPED
        item.sha512, item.size, item.mtime_ns = found.sha512, found.size, found.mtime_ns
        item.tree_sha512 = found.tree_sha512
        item.verified, item.verify_note = found.verified, found.verify_note
        item.members = found.members
        if self.spec.require_checksums and found.verified in (None, "size"):
            item.status = Status.FAILED
            item.error_kind = "no_checksum"
            item.last_error = "no published checksum (--require-checksums); file kept"
        elif self.ondisk.wants(item):
            item.status = Status.PENDING  # done once its members are in place
            self.ondisk.hold.add(item.key)
            self.ondisk.queue.append(item.key)

    def _mark_unavailable(self, unavailable: Sequence[tuple[str, str]]) -> None:
        """Scenes with nothing to download get ``unavailable`` and the reason; ids M2M does
        not know get an entry of their own."""
        reasons = dict(unavailable)
        known = set()
        for scene in self.manifest.scenes:
            for name in (scene["display_id"], scene["entity_id"]):
                if name in reasons:
                    scene["status"], scene["reason"] = "unavailable", reasons[name]
                    known.add(name)
        for name, reason in unavailable:
            if name not in known:
                self.manifest.scenes.append(_unknown_scene(name, self.spec.dataset, reason))

    def _data_groups(self, todo: Sequence[PlannedFile]) -> list[DataGroup]:
        """For band groups: a second scene list of the files' secondary entity ids."""
        from ..m2m_requests import DataGroup
        from .plan import BAND_FILE_DATASETS

        if self.spec.filetype != "band_group":
            return []
        by_dataset: dict[str, list[PlannedFile]] = {}
        for planned in todo:
            by_dataset.setdefault(planned.dataset_id or "", []).append(planned)
        groups = []
        for dataset_id, files in by_dataset.items():
            alias = (
                BAND_FILE_DATASETS.get(dataset_id)
                or self.client.dataset(dataset_id=dataset_id).alias
            )
            list_id = f"{self.label}_files" + ("" if len(by_dataset) == 1 else f"_{alias}")
            self.client.scene_list_add(list_id, alias, [f.entity_id for f in files])
            self.manifest.scene_lists.append(list_id)
            file_groups = sorted({f.group for f in files if f.group})
            groups.append(DataGroup(alias, file_groups, list_id))
        return groups

    def _options_for_engine(self) -> TransferOptions:
        from ..http import USER_AGENT
        from ..transfer import TransferOptions

        deadline = None if self.spec.deadline is None else self.started + self.spec.deadline
        settings = self.ctx.settings
        return TransferOptions(
            workers=self.spec.workers,
            segments=self.spec.segments,
            deadline=deadline,
            verify_tls=settings.verify_tls,
            stall_seconds=settings.stall_seconds,
            user_agent=USER_AGENT,
            limit_rate=self.spec.limit_rate,
        )

    def _wait_until(self) -> float:
        limit = time.monotonic() + self.spec.wait
        if self.spec.deadline is not None:
            limit = min(limit, self.started + self.spec.deadline)
        return limit

    def _remove_earlier_state(self) -> None:
        """Remove the orders and scene lists that earlier runs into OUT kept for files that
        were still preparing, once this run has completed every one of those files.

        Those runs kept their order on purpose (the server goes on preparing only while it
        exists); with the files done nothing needs it any more, and ``cleanup``'s rules
        decide what may go (:func:`m2mdl.workflow.cleanup.clean_runs`: never a live run).
        """
        from .cleanup import clean_runs, completed_runs

        if self.spec.keep_server_state or self.manifest.counts().get("preparing", 0):
            return
        completed = {
            key
            for key, item in self.manifest.items.items()
            if item.status in (Status.DONE, Status.SKIPPED)
        }
        labels = completed_runs(self.spec.out_dir, completed, current=self.label)
        try:
            report = clean_runs(self.ctx, self.spec.out_dir, labels)
        except M2mdlError as exc:
            self.ctx.reporter.warn(
                f"could not remove the server state of an earlier run: {exc};"
                " `m2mdl cleanup` removes it later"
            )
            return
        for label in report.orders:
            self.ctx.reporter.info(f"removed download order {label} of an earlier run")

    def _remove_server_state(self) -> None:
        """Remove this run's scene lists and (if nothing is still preparing) its order."""
        if self.spec.keep_server_state:
            return
        steps: list[tuple[str, Callable[[str], None], str]] = [
            ("scene list", self.client.scene_list_remove, lid) for lid in self.manifest.scene_lists
        ]
        if self.requested and not self.manifest.counts().get("preparing", 0):
            steps.append(("download order", self.client.download_order_remove, self.label))
        for what, step, name in steps:
            try:
                step(name)
            except M2mdlError as exc:
                self.ctx.reporter.warn(
                    f"could not remove {what} {name} on the server: {exc};"
                    " `m2mdl cleanup` removes it later"
                )
                break  # the service is unhappy; do not hammer it
