"""``m2mdl verify``: re-hash what is on disk and compare it with the manifests and with USGS.

For every file a manifest in the directory lists as done or skipped (the newest entry per
path wins), the file is read once: its SHA-512 (for a bundle, each member's and the tree
digest, m2mdl/transfer/tarscan.py) is compared with the checksum USGS publishes (looked up
in the STAC API once, in batches), else with the digest the manifest recorded. A bundle
whose record holds the whole tar's SHA-512 (an older m2mdl) gets that computed too. A file
whose size or mtime differ from the recorded ones is reported as changed since m2mdl wrote
it. Files verified by size only (the STAC API was down when they were downloaded) that now
match a published checksum are raised to ``usgs-stac``/``bundle-stac`` in their manifest
(rewritten atomically).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import InputError, M2mdlError, ParameterError, literal
from ..extract import extracted
from ..layout import scene_dir
from ..manifest import atomic_write_json, find_manifests, load, read_items
from ..output import envelope
from ..transfer import hash_file
from ..util.jsontypes import JsonObject
from .checksums import (
    FULL,
    SIZE,
    Checksums,
    bundle_label,
    check_members,
    lookup,
    members_json,
    needs_sha512,
    same_as_recorded,
)
from .context import Reporter

log = logging.getLogger("m2mdl.workflow")

OK = "ok"
CHANGED = "changed"  # differs from the manifest's SHA-512 (and USGS publishes none)
CORRUPT = "corrupt"  # differs from the SHA-512 USGS publishes
MISSING = "missing"
UNREADABLE = "unreadable"
STATUSES = (OK, CHANGED, CORRUPT, MISSING, UNREADABLE)


@dataclass
class FileCheck:
    """The verdict for one file."""

    path: str
    status: str
    verified: str | None  # how the bytes were checked now (usgs-stac, ..., size)
    changed_since_written: bool
    sha512: str | None
    detail: str = ""
    tree_sha512: str | None = None  # a bundle's tree digest

    def to_json(self) -> JsonObject:
        """As in ``m2mdl verify --json`` (docs/schemas/verify.schema.json)."""
        return {
            "path": self.path,
            "status": self.status,
            "verified": self.verified,
            "changed_since_written": self.changed_since_written,
            "sha512": self.sha512,
            "tree_sha512": self.tree_sha512,
            "detail": self.detail,
        }


@dataclass
class VerifyReport:
    """Every file's verdict, and whether USGS's checksums could be looked up."""

    directory: Path
    files: list[FileCheck] = field(default_factory=list)
    stac_error: str | None = None

    @property
    def intact(self) -> bool:
        """True when every file is ok."""
        return all(f.status == OK for f in self.files)

    def counts(self) -> dict[str, int]:
        """Files per status."""
        return {s: sum(f.status == s for f in self.files) for s in STATUSES}

    def to_json(self) -> JsonObject:
        """The ``--json`` document."""
        return envelope(
            "verify",
            {
                "directory": str(self.directory),
                "intact": self.intact,
                "stac_error": self.stac_error,
                "counts": self.counts(),
                "files": [f.to_json() for f in self.files],
            },
        )


@dataclass
class _Entry:
    manifest: Path
    item: JsonObject


def _entries(directory: Path, reporter: Reporter) -> dict[str, _Entry]:
    """The newest done/skipped entry per path, over every manifest in ``directory``, less
    the bundles that a later ``--extract`` replaced by their members (``_extracted_away``)."""
    manifests = find_manifests(directory)
    if not manifests:
        raise ParameterError(
            f"no m2mdl manifest in {literal(directory)}", hint="give the download's ${out_dir}"
        )
    entries: dict[str, _Entry] = {}
    for path in reversed(manifests):
        items = read_items(path)
        if items is None:
            reporter.warn(f"skipping unreadable manifest {path.name}")
            continue
        for item in items:
            rel = item.get("path") or item["file_name"]
            if item["status"] in ("done", "skipped") and rel not in entries:
                entries[rel] = _Entry(path, item)
    return {rel: e for rel, e in entries.items() if not _extracted_away(directory, rel, e.item)}


def _extracted_away(directory: Path, rel: str, item: JsonObject) -> bool:
    """A bundle whose tar is gone while its scene folder holds a finished extraction: an
    earlier manifest lists the tar, the extracting run's manifest lists its members, which
    are checked as files of their own."""
    if not rel.lower().endswith(".tar") or (directory / rel).exists():
        return False
    try:
        folder = scene_dir(directory, str(item.get("display_id") or ""))
    except M2mdlError:
        return False
    return extracted(folder) is not None


def verify_directory(settings: Settings, directory: Path, reporter: Reporter) -> VerifyReport:
    """Check every file the manifests in ``directory`` list as done; see the module doc."""
    if not directory.is_dir():
        raise InputError(f"{directory} is not a directory")
    entries = _entries(directory, reporter)
    products = {str(e.item.get("display_id") or "") for e in entries.values()} - {""}
    sums = lookup(settings, products, reporter)
    report = VerifyReport(directory, stac_error=sums.error)
    raised: dict[Path, dict[str, tuple[FileCheck, Any]]] = {}
    for rel, entry in sorted(entries.items()):
        check, members = _check(directory, rel, entry.item, sums)
        report.files.append(check)
        if check.status == OK and check.verified in FULL and entry.item.get("verified") not in FULL:
            raised.setdefault(entry.manifest, {})[rel] = (check, members)
    _raise_in_manifests(raised)
    return report


def _check(
    directory: Path, rel: str, item: JsonObject, sums: Checksums
) -> tuple[FileCheck, dict[str, dict[str, str]] | None]:
    path = directory / rel
    is_tar = rel.lower().endswith(".tar")
    try:
        stat = path.stat()
        found = hash_file(path, scan_tar=is_tar, whole_file=needs_sha512(item, is_tar))
    except FileNotFoundError:
        return FileCheck(rel, MISSING, None, True, None, "listed as done but not on disk"), None
    except OSError as exc:
        return FileCheck(rel, UNREADABLE, None, False, None, str(exc.strerror or exc)), None
    moved = (item.get("size"), item.get("mtime_ns")) != (stat.st_size, stat.st_mtime_ns)
    changed = moved if item.get("mtime_ns") is not None else item.get("size") != stat.st_size

    def verdict(status: str, label: str | None, changed: bool, detail: str) -> FileCheck:
        return FileCheck(rel, status, label, changed, found.sha512, detail, found.tree_sha512)

    members = None
    if found.contents is not None:
        checked = check_members(found.contents, sums)
        members = members_json(checked.checked, found.contents.digests)
        label = bundle_label(checked.checked)
        if not found.contents.complete or checked.mismatched:
            wrong = ", ".join(checked.mismatched[:3]) or found.contents.problem or "truncated"
            detail = f"members differ from USGS's SHA-512: {wrong}"
            return verdict(CORRUPT, label, changed, detail), members
    else:
        expected, label = sums.expected(path.name)
        if expected is not None and expected != found.sha512:
            return verdict(CORRUPT, label, changed, "differs from the SHA-512 USGS publishes"), None
    same = same_as_recorded(item, found.sha512, found.tree_sha512)
    if same is False:
        detail = "changed since m2mdl wrote it" if changed else "differs from the manifest"
        return verdict(CHANGED if label == SIZE else CORRUPT, label, True, detail), members
    if label == SIZE and item.get("verified") in FULL and same:
        label = item["verified"]  # the same bytes matched USGS's checksum before
    detail = "" if label != SIZE else "no published checksum; matches the manifest"
    if same is None and label == SIZE:
        detail = "no published checksum and no recorded SHA-512"
    return verdict(OK, label, changed, detail), members


def _raise_in_manifests(
    raised: dict[Path, dict[str, tuple[FileCheck, dict[str, dict[str, str]] | None]]],
) -> None:
    """Record the stronger verification of files that were only size-checked before."""
    for manifest, checks in raised.items():
        try:
            data = load(manifest)
        except (OSError, ValueError):
            continue
        items = data.get("items")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            found = checks.get(str(item.get("path") or item.get("file_name")))
            if found is not None and same_as_recorded(item, found[0].sha512, found[0].tree_sha512):
                item["verified"], item["verify_note"] = found[0].verified, None
                if found[1] is not None:
                    item["members"] = found[1]
        atomic_write_json(manifest, data)
