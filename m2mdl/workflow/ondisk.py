"""What a run leaves on disk beyond the transferred files: extracted bundles and the local
STAC catalog.

**Extraction** (``--extract``, :mod:`m2mdl.extract`). A bundle to extract is held
``pending`` in the manifest when it arrives (or is found on disk), and is extracted into
``OUT/<display id>/`` after the transfers. Each member is verified against the bundle's own
``*_stac.json`` sidecars, else against the SHA-512 in USGS's STAC items (the ones the run
looked up for its checksums). Once every member is in place the manifest lists the members
as items of their own (``path`` ``<display id>/<member>``, ``verified`` per member) and the
bundle's item goes (the tar is removed), or becomes ``done`` (``--keep-tar``). So a manifest
never lists as done a tar that extraction removed, and ``m2mdl verify`` checks the members.
A run killed while extracting leaves the tar and a ``pending`` item: the rerun finds the tar,
skips the members already in place and completes the job. A scene whose tar is gone but
whose extraction marker lists every member in place counts as present: its members are
recorded as ``skipped``.

**The catalog** (:mod:`m2mdl.catalog`). Every real run writes or merges the STAC item of
each scene of its plan that has files on disk, in either layout, then ``OUT/catalog.json``;
the items are based on the USGS items the run looked up for its checksums (one lookup per
run), else on M2M's metadata. A catalog that cannot be written is a warning: the files are
what matters, and the next run writes it. An interrupted run (Ctrl-C, SIGTERM) leaves the
catalog as it was, so that it exits at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..catalog import SceneFiles, update_catalog
from ..errors import DiskFull, M2mdlError
from ..extract import ExtractError, ExtractResult, extract_bundle, extracted
from ..layout import is_bundle, local_files, relative, scene_dir
from ..manifest import FINAL, Item, Manifest, Status

if TYPE_CHECKING:
    from ..models import Scene
    from ..util.jsontypes import JsonMapping
    from .checksums import Checksums
    from .plan import Plan, PlannedFile
    from .present import Present

log = logging.getLogger("m2mdl.workflow")

#: The manifest's ``product`` of a bundle member listed as an item of its own.
MEMBER_PRODUCT = "bundle member"
#: error_kind of a bundle whose extraction failed (the tar is kept).
EXTRACT_FAILED = "extract"

SumsFactory = Callable[[], "Checksums"]


class OnDisk:
    """Extraction and catalog steps of one run (see the module docstring)."""

    def __init__(
        self,
        manifest: Manifest,
        out_dir: Path,
        *,
        extract: bool,
        keep_tar: bool,
        warn: Callable[[str], None],
        stopped: Callable[[], bool],
    ) -> None:
        self.manifest, self.out_dir = manifest, out_dir
        self.extract, self.keep_tar = extract, keep_tar
        self.warn, self.stopped = warn, stopped
        #: keys of bundles that stay ``pending`` until extracted (fetch.ManifestSink reads it)
        self.hold: set[str] = set()
        #: keys of bundles already on disk, to extract
        self.queue: list[str] = []

    def wants(self, item: Item) -> bool:
        """Is this item a bundle that this run extracts?"""
        return self.extract and is_bundle(item.file_name)

    def held(self, files: Sequence[PlannedFile]) -> None:
        """Hold every bundle of the run (before the transfers start)."""
        if self.extract:
            self.hold.update(f.key for f in files if is_bundle(f.file_name))

    # --- bundles extracted by an earlier run --------------------------------------------------

    def extracted_before(
        self, files: Sequence[PlannedFile], present: Mapping[str, Present]
    ) -> dict[str, list[Item]]:
        """Bundles whose tar is gone but whose members an earlier run put in place: key ->
        the members as ``skipped`` items (whether or not this run asks for --extract)."""
        found: dict[str, list[Item]] = {}
        for planned in files:
            if not is_bundle(planned.file_name) or planned.key in present:
                continue
            try:
                folder = scene_dir(self.out_dir, planned.scene_display_id)
            except M2mdlError:
                continue
            members = extracted(folder)
            if members:
                found[planned.key] = [
                    self._member_item(planned.key, planned, folder, entry, Status.SKIPPED)
                    for entry in members
                ]
        return found

    def _member_item(
        self,
        key: str,
        planned: PlannedFile | Item,
        folder: Path,
        entry: JsonMapping,
        status: Status,
    ) -> Item:
        name = str(entry["name"])
        path = folder / name
        try:
            mtime_ns: int | None = path.stat().st_mtime_ns
        except OSError:
            mtime_ns = None
        entity = key.split("/", 1)[0]
        display = getattr(planned, "scene_display_id", None) or getattr(planned, "display_id", "")
        return Item(
            key=f"{entity}/{name}",
            entity_id=entity,
            display_id=str(display),
            product=MEMBER_PRODUCT,
            file_name=path.name,
            path=relative(self.out_dir, path),
            size=int(entry["size"]) if entry.get("size") is not None else None,
            sha512=entry.get("sha512"),
            verified=_label(str(entry.get("verified_by") or "size")),
            mtime_ns=mtime_ns,
            status=status,
        )

    # --- extraction ---------------------------------------------------------------------------

    def extract_all(self, sums: SumsFactory) -> None:
        """Extract every held bundle that arrived or was on disk (one at a time; a stop
        request is honoured between bundles)."""
        if not self.extract:
            return
        keys = [k for k in self.hold if self._arrived(k)]
        for key in sorted(keys):
            if self.stopped():
                return
            self._extract_one(key, sums)

    def _arrived(self, key: str) -> bool:
        item = self.manifest.items.get(key)
        return (
            item is not None
            and item.status is Status.PENDING
            # published by this run (it has a digest) or found on disk (queued)
            and (item.tree_sha512 is not None or item.sha512 is not None or key in self.queue)
            and (self.out_dir / item.path).is_file()
        )

    def _extract_one(self, key: str, sums: SumsFactory) -> None:
        item = self.manifest.items[key]
        tar = self.out_dir / item.path
        checks = sums()
        published = {**checks.m2m, **checks.stac}
        try:
            folder = scene_dir(self.out_dir, item.display_id)
            result = extract_bundle(tar, folder, checksums=published, keep_tar=self.keep_tar)
        except DiskFull:
            self.manifest.update(key, status=Status.FAILED, error_kind="disk_full", force=True)
            raise
        except ExtractError as exc:
            self.manifest.update(
                key,
                status=Status.FAILED,
                error_kind=EXTRACT_FAILED,
                last_error=exc.message,
                force=True,
            )
            self.warn(f"{item.file_name}: {exc.message}; the .tar is kept")
            return
        self._record_extraction(key, item, result)

    def _record_extraction(self, key: str, item: Item, result: ExtractResult) -> None:
        """The members become items; the bundle's item goes with its tar, else is done."""
        was_present = key in self.queue
        for member in result.members:
            entry = {
                "name": member.name,
                "size": member.size,
                "sha512": member.sha512,
                "verified_by": member.verified_by,
            }
            status = Status.SKIPPED if member.skipped else Status.DONE
            self.manifest.add(self._member_item(key, item, result.directory, entry, status))
        if result.tar_removed:
            with self.manifest._lock:  # the manifest has no remove(); its timer may save
                self.manifest.items.pop(key, None)
            self.manifest.save()
        else:
            self.manifest.update(
                key, status=Status.SKIPPED if was_present else Status.DONE, force=True
            )
        log.info("extracted %s: %d member(s)", item.file_name, len(result.members))

    # --- the catalog --------------------------------------------------------------------------

    def update_catalog(self, plan: Plan, scenes: Sequence[Scene], sums: SumsFactory) -> None:
        """Write the items of the plan's scenes and ``OUT/catalog.json``; point the manifest
        at it (``catalog``). A failure is a warning."""
        display_ids = sorted({f.scene_display_id for f in plan.files})
        if not display_ids or self.stopped():
            return  # after Ctrl-C, exit at once: the next run writes the catalog
        by_display = {s.display_id: s for s in scenes}
        # SHA-512s only: a bundle's tree digest is not one, so it never becomes a file:checksum
        digests = {
            i.file_name: i.sha512
            for i in self.manifest.items.values()
            if i.status in FINAL and i.sha512
        }
        try:
            checks = sums()
            entries = [
                SceneFiles(
                    display_id,
                    local_files(self.out_dir, display_id),
                    checks.items.get(display_id, ()),
                    by_display.get(display_id),
                    digests,
                )
                for display_id in display_ids
            ]
            path = update_catalog(self.out_dir, entries)
        except (M2mdlError, OSError) as exc:
            self.warn(f"could not update the STAC catalog: {exc}; the next run writes it")
            return
        self.manifest.catalog = relative(self.out_dir, path)
        self.manifest.save()


def _label(verified_by: str) -> str:
    """The manifest's ``verified`` label of an extracted member."""
    return verified_by if verified_by in {"bundle-stac", "usgs-stac", "m2m"} else "size"
