"""From planned files to files on disk: download-request, matching, transfer, preparing.

download-request answers with download ids and signed URLs, but which URL belongs to which
planned file has to be worked out: 2025 responses carry ``entityId`` in each item, 2020-2024
ones do not (docs/design.md, "M2M API"). Items are matched by entity id, then by the file
name in the URL path (landsatlook ``/data/...`` URLs) or the ``landsat_product_id`` query
(``gen-bundle`` URLs), and only then through one download-retrieve, whose items always carry
entity and display ids.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Collection, Iterable, Sequence
from functools import partial
from urllib.parse import parse_qs, unquote, urlsplit

from ..api import M2MClient
from ..errors import DownloadError
from ..http import make_download_session
from ..m2m_requests import DataGroup
from ..m2m_requests import DownloadItem as ProductRequest
from ..manifest import Manifest, Status
from ..models import DownloadItem, RequestResult
from ..stac import parse_checksum
from ..transfer import FileJob, FileResult, ProgressSink, TransferOptions, run_transfers
from ..util.jsontypes import JsonObject
from ..util.net import strip_query
from .checksums import SIZE, Checksums, bundle_label, members_json
from .context import Reporter
from .plan import PlannedFile

log = logging.getLogger("m2mdl.workflow")

#: M2M batches: landsatlinks found larger download-requests unreliable.
REQUEST_BATCH = 1000
#: Polling download-retrieve for preparing files: bounded exponential backoff (the official
#: sample polls every 30 s forever; we start sooner and never exceed 30 s).
POLL_FIRST, POLL_MAX = 5.0, 30.0
#: Engine error kinds that mean "stopped before the end", not "went wrong".
UNFINISHED_KINDS = frozenset({"interrupted", "deadline"})


#: error_kind of a file that has no published checksum under --require-checksums.
NO_CHECKSUM = "no_checksum"


class ManifestSink:
    """Forwards engine events to the UI and records state changes in the manifest.

    ``labels`` maps a key to the label its expected checksum earns (``usgs-stac``, ``m2m``)
    and the note to record when there is none; ``require`` makes a file published without
    any published checksum a failure (the file stays: nothing shows it is wrong). A file
    whose key is in ``hold`` stays ``pending`` when it arrives: a later step finishes it.
    A result of a key in ``trees`` carries the tar's tree digest (``FileJob.tree_digest``),
    recorded as ``tree_sha512``, never as ``sha512``.
    """

    def __init__(
        self,
        manifest: Manifest,
        ui: ProgressSink,
        *,
        require: bool = False,
        hold: Collection[str] = (),
    ) -> None:
        self.manifest, self.ui = manifest, ui
        self.labels: dict[str, tuple[str, str | None]] = {}
        self.trees: set[str] = set()
        self.require = require
        self.hold = hold

    def file_started(self, key: str, name: str, total: int | None, done: int) -> None:
        """Mark the item downloading."""
        self.manifest.update(key, status=Status.DOWNLOADING)
        self.ui.file_started(key, name, total, done)

    def file_advanced(self, key: str, nbytes: int) -> None:
        """Progress goes to the UI only."""
        self.ui.file_advanced(key, nbytes)

    def file_retrying(self, key: str, attempt: int, reason: str, delay: float) -> None:
        """Record the attempt and its reason."""
        self.manifest.update(key, attempts=attempt, last_error=reason)
        self.ui.file_retrying(key, attempt, reason, delay)

    def file_finished(self, result: FileResult) -> None:
        """Record the final state, size and hash.

        A file stopped by a signal or by --deadline is not a failure: its .part resumes on
        the next run, so it stays ``pending`` (the exit code still says the run is incomplete).
        """
        if result.ok:
            # a bundle to extract is done once its members are in place (workflow.ondisk)
            status = Status.PENDING if result.key in self.hold else Status.DONE
        elif result.error_kind in UNFINISHED_KINDS:
            status = Status.PENDING
        else:
            status = Status.FAILED
        changes: JsonObject = self._verification(result) if result.ok else {}
        if changes.get("verified") == SIZE and self.require:
            status = Status.FAILED
            changes |= {
                "last_error": "no published checksum (--require-checksums); the file is kept",
                "error_kind": NO_CHECKSUM,
            }
        self.manifest.update(
            result.key,
            **{
                "status": status,
                **self._digest(result),
                "size": result.size if result.ok else None,
                "attempts": result.attempts,
                "bytes_received": result.bytes_received,
                "last_error": result.error,
                "error_kind": result.error_kind,
                **changes,
            },
        )
        self.ui.file_finished(result)

    def _digest(self, result: FileResult) -> dict[str, str | None]:
        """``sha512`` and ``tree_sha512``: which one the result's digest is."""
        if result.key in self.trees:
            return {"sha512": None, "tree_sha512": result.sha512}
        return {"sha512": result.sha512, "tree_sha512": None}

    def _verification(self, result: FileResult) -> JsonObject:
        """The manifest fields that say how a published file was checked.

        A bundle is labelled by its members; a bundle whose own SHA-512 M2M published and
        matched keeps that label when no member has a checksum.
        """
        label, note = self.labels.get(result.key, (SIZE, None))
        if not result.checksum_checked:
            label = SIZE
        if result.members is not None and (bundle_label(result.members) != SIZE or label == SIZE):
            label = bundle_label(result.members)
        try:
            mtime_ns: int | None = os.stat(result.dest).st_mtime_ns
        except OSError:
            mtime_ns = None
        return {
            "verified": label,
            "verify_note": note if label == SIZE else None,
            "members": members_json(result.members, result.members_sha512),
            "mtime_ns": mtime_ns,
        }


class Fetcher:
    """Requests, matches and transfers the files of one run."""

    def __init__(
        self,
        client: M2MClient,
        manifest: Manifest,
        label: str,
        options: TransferOptions,
        sink: ProgressSink,
        stop: threading.Event,
        reporter: Reporter,
        checksums: Checksums | None = None,
        require_checksums: bool = False,
        hold: Collection[str] = (),
    ) -> None:
        self.client, self.manifest, self.label = client, manifest, label
        self.options, self.stop, self.reporter = options, stop, reporter
        self.checksums = checksums or Checksums()
        self.sink = ManifestSink(manifest, sink, require=require_checksums, hold=hold)
        self.files: dict[str, PlannedFile] = {}
        self.ready: dict[str, DownloadItem] = {}  # key -> item with a usable URL
        self.preparing: dict[str, DownloadItem] = {}
        self.transferred: set[str] = set()

    # --- request and match ------------------------------------------------------------------

    def request(self, todo: Sequence[PlannedFile], data_groups: Sequence[DataGroup]) -> None:
        """download-request for every file (by product, or by data group), then match URLs."""
        self.files = {f.key: f for f in todo}
        if data_groups:
            self._absorb(self.client.download_request(self.label, data_groups=data_groups))
        else:
            downloads = [ProductRequest(f.entity_id, f.product_id) for f in todo]
            for start in range(0, len(downloads), REQUEST_BATCH):
                batch = downloads[start : start + REQUEST_BATCH]
                self._absorb(self.client.download_request(self.label, downloads=batch))
        log.info("download-request: %d ready, %d preparing", len(self.ready), len(self.preparing))
        if self._unmatched():
            self._absorb_retrieve()
        for key in self._unmatched():
            self.manifest.update(
                key, status=Status.FAILED, last_error="M2M queued no download for this file"
            )

    def _absorb(self, result: RequestResult) -> None:
        self._match_items(result.available, ready=True)
        self._match_items(result.preparing, ready=False)

    def _absorb_retrieve(self) -> list[str]:
        """Match download-retrieve's items; returns keys that became ready."""
        retrieved = self.client.download_retrieve(self.label)
        before = set(self.ready)
        self._match_items(retrieved.ready().values(), ready=True)
        staged = {i.download_id for i in retrieved.ready().values()}
        self._match_items(
            [i for i in retrieved.requested if i.download_id not in staged], ready=False
        )
        return [k for k in self.ready if k not in before]

    def _match_items(self, items: Iterable[DownloadItem], *, ready: bool) -> None:
        by_entity = {f.entity_id: k for k, f in self.files.items()}
        by_name = {f.file_name: k for k, f in self.files.items()}
        by_scene = {
            f.scene_display_id: k for k, f in self.files.items() if f.file_name.endswith(".tar")
        }
        by_id = {i.download_id: k for k, i in (*self.ready.items(), *self.preparing.items())}
        for item in items:
            key = (
                by_entity.get(item.entity_id or "")
                or by_id.get(item.download_id)
                or by_name.get(item.display_id or "")
                or by_scene.get(item.display_id or "")
                or _key_from_url(item.url, by_name, by_scene)
            )
            if key is None:
                continue
            digest = parse_checksum(item.checksum)
            if digest is not None:
                self.checksums.m2m.setdefault(self.files[key].file_name, digest)
            if ready and item.url:
                self.ready[key] = item
                self.preparing.pop(key, None)
                self.manifest.update(
                    key,
                    download_id=item.download_id,
                    url=strip_query(item.url),
                    status=Status.PENDING,
                )
            elif key not in self.ready:
                self.preparing[key] = item
                self.manifest.update(key, download_id=item.download_id, status=Status.PREPARING)

    def _unmatched(self) -> list[str]:
        return [k for k in self.files if k not in self.ready and k not in self.preparing]

    # --- transfer ---------------------------------------------------------------------------

    def transfer_available(self) -> None:
        """Transfer every ready file not transferred yet (raises Interrupted on stop)."""
        keys = [k for k in self.ready if k not in self.transferred]
        if not keys:
            return
        jobs = [self._job(k) for k in keys]
        self.transferred.update(keys)
        run_transfers(
            jobs, self.options, self.sink, stop=self.stop, session_factory=make_download_session
        )

    def _job(self, key: str) -> FileJob:
        planned, item = self.files[key], self.ready[key]
        dest = self.manifest.out_dir / self.manifest.items[key].path
        dest.parent.mkdir(parents=True, exist_ok=True)  # OUT/<display id>/ (scene layout)
        assert item.url is not None
        is_tar = planned.kind == "tar"
        # A bundle is checked member by member; its own SHA-512 only if M2M publishes one.
        expected, label = self.checksums.expected(planned.file_name)
        self.sink.labels[key] = (label, self.checksums.note())
        job = FileJob(
            key=key,
            url=item.url,
            dest=dest,
            expected_size=planned.size,
            kind=planned.kind,
            refresh_url=partial(self._refresh, key),
            expected_sha512=expected,
            check_members=self.checksums.member_check() if is_tar else None,
        )
        if job.tree_digest:
            self.sink.trees.add(key)
        return job

    def _refresh(self, key: str) -> str:
        """A fresh signed URL for ``key`` (after a 403 or an expired URL)."""
        download_id = self.ready[key].download_id
        for item in self.client.download_retrieve(self.label).ready().values():
            if item.download_id == download_id and item.url:
                return item.url
        raise DownloadError(f"M2M has no fresh URL for download {download_id}")

    def wait_for_preparing(self, until: float) -> None:
        """Poll download-retrieve with bounded backoff; transfer files as they become ready."""
        delay = POLL_FIRST
        while self.preparing and not self.stop.is_set():
            remaining = until - time.monotonic()
            if remaining <= 0:
                break
            self.reporter.info(
                f"{len(self.preparing)} file(s) still preparing on the server;"
                f" checking again in {min(delay, remaining):.0f} s"
            )
            if self.stop.wait(min(delay, remaining)):
                break
            if self._absorb_retrieve():
                self.transfer_available()
            delay = min(delay * 2, POLL_MAX)
        if self.preparing:
            self.reporter.warn(
                f"{len(self.preparing)} file(s) still preparing; run the same "
                "command again later to fetch them"
            )


def _key_from_url(url: str | None, by_name: dict[str, str], by_scene: dict[str, str]) -> str | None:
    """Match by URL: ``.../<file name>?sig`` or ``gen-bundle?landsat_product_id=<id>``."""
    if not url:
        return None
    parts = urlsplit(url)
    name = unquote(parts.path.rsplit("/", 1)[-1])
    if name in by_name:
        return by_name[name]
    product = parse_qs(parts.query).get("landsat_product_id", [""])[0]
    return by_scene.get(product)
