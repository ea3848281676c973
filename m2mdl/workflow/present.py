"""Which planned files are already on disk and verified, so a rerun neither requests nor
transfers them again.

A final-named file is only ever written by the transfer engine after every check passed, and
its manifest entry records its SHA-512, how it was verified, and its size and mtime at that
moment. So:

* a file whose size and mtime are those recorded, verified against a published checksum,
  is skipped without reading it (cheap for cron), and its record is carried over;
* a file that changed since m2mdl wrote it (size or mtime differ), has no usable record
  (written by an older m2mdl, or by someone else), or was verified by size only while USGS
  now publishes a checksum for it, is hashed again (tars member by member) and compared with
  the published checksum, else with the recorded hash; a file that differs is fetched again;
* ``verify_existing`` re-hashes every present file before skipping it.

A hash is never carried over for a file that was not re-checked. A bundle is identified by
its tree digest (``tree_sha512``, m2mdl/transfer/tarscan.py), computed in the same read as
its members; a record of an older m2mdl holding the whole tar's ``sha512`` is compared with
the SHA-512 of the tar (one more hash of its bytes) and replaced by the tree digest.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..layout import DEFAULT_LAYOUT, find_existing
from ..manifest import find_manifests, read_items
from ..transfer import hash_file, looks_complete
from ..util.jsontypes import JsonMapping, JsonObject
from .checksums import (
    FULL,
    SIZE,
    Checksums,
    bundle_label,
    check_members,
    members_json,
    needs_sha512,
    recorded_digest,
    same_as_recorded,
)
from .plan import PlannedFile

log = logging.getLogger("m2mdl.workflow")


@dataclass(frozen=True)
class Present:
    """A planned file found complete on disk, with what its manifest entry should say."""

    size: int
    mtime_ns: int
    sha512: str | None = None
    tree_sha512: str | None = None
    verified: str | None = None
    verify_note: str | None = None
    members: dict[str, dict[str, str]] | None = None
    where: Path | None = None  # the file found (in the run's layout or the other one)


def records(out_dir: Path, names: set[str], warn: Callable[[str], None]) -> dict[str, JsonObject]:
    """The newest usable record (a done/skipped item with a digest, size and mtime_ns) per
    file name, from the manifests in ``out_dir``, newest first; stops once all names are found.

    A manifest that cannot be read is skipped with one warning.
    """
    found: dict[str, JsonObject] = {}
    for path in reversed(find_manifests(out_dir)):
        if names <= found.keys():
            break
        items = read_items(path)
        if items is None:
            warn(f"skipping unreadable manifest {path.name}")
            continue
        for item in items:
            name = item["file_name"]
            if (
                name in names
                and name not in found
                and item.get("status") in {"done", "skipped"}
                and recorded_digest(item) is not None
                and item.get("size") is not None
                and item.get("mtime_ns") is not None
            ):
                found[name] = item
    return found


def already_present(
    files: Sequence[PlannedFile],
    out_dir: Path,
    *,
    checksums: Callable[[], Checksums] | None = None,
    verify_existing: bool = False,
    warn: Callable[[str], None] = log.warning,
    layout: str = DEFAULT_LAYOUT,
) -> dict[str, Present]:
    """Planned files already complete (and verified) in ``out_dir``, by key.

    A file is looked for where ``layout`` puts it, then where the other layout does (an
    older m2mdl wrote every file flat): it is skipped where it is, never moved.
    ``checksums`` is called (once) only when a file must be re-checked; without it (a dry
    run) files that look complete count as present without being read.
    """
    if not out_dir.is_dir():
        return {}
    candidates: dict[str, tuple[PlannedFile, Path, os.stat_result]] = {}
    for planned in files:
        dest = find_existing(out_dir, planned.scene_display_id, planned.file_name, layout)
        if dest is not None and looks_complete(dest, planned.size, planned.kind):
            candidates[planned.key] = (planned, dest, dest.stat())
    if not candidates:
        return {}
    known = records(out_dir, {dest.name for _p, dest, _s in candidates.values()}, warn)
    found: dict[str, Present] = {}
    sums: list[Checksums] = []

    def get_sums() -> Checksums:
        if not sums:
            sums.append(checksums() if checksums is not None else Checksums())
        return sums[0]

    for key, (planned, dest, stat) in candidates.items():
        record = known.get(dest.name)
        unchanged = record is not None and (record["size"], record["mtime_ns"]) == (
            stat.st_size,
            stat.st_mtime_ns,
        )
        if checksums is None:  # a dry run: nothing is read
            found[key] = Present(stat.st_size, stat.st_mtime_ns, where=dest)
        elif (
            unchanged
            and record is not None  # implied by unchanged; said again for mypy
            and not verify_existing
            and not _worth_rechecking(record, get_sums, dest)
        ):
            found[key] = replace(_carried(record, stat), where=dest)
        else:
            present = _recheck(planned, dest, record, get_sums(), warn)
            if present is not None:
                found[key] = replace(present, where=dest)
    return found


def _worth_rechecking(record: JsonMapping, sums: Callable[[], Checksums], dest: Path) -> bool:
    """An unchanged file verified by size only is re-checked once USGS publishes its
    checksum (or, for a tar, once the lookup that failed works again)."""
    if record.get("verified") in FULL:
        return False
    if dest.name.lower().endswith(".tar"):
        return bool(record.get("verify_note")) and sums().error is None
    return sums().expected(dest.name)[0] is not None


def _carried(record: JsonMapping, stat: os.stat_result) -> Present:
    members = record.get("members")
    return Present(
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        sha512=record.get("sha512"),
        tree_sha512=record.get("tree_sha512"),
        verified=record.get("verified"),
        verify_note=record.get("verify_note"),
        members=members if isinstance(members, dict) else None,
    )


def _recheck(
    planned: PlannedFile,
    dest: Path,
    record: JsonMapping | None,
    sums: Checksums,
    warn: Callable[[str], None],
) -> Present | None:
    """Hash the file and compare; None when it must be fetched again."""
    is_tar = planned.kind == "tar"
    try:
        stat = dest.stat()
        found = hash_file(dest, scan_tar=is_tar, whole_file=needs_sha512(record, is_tar))
    except OSError:
        return None
    members = None
    if found.contents is not None:
        if not found.contents.complete:
            return None
        verdict = check_members(found.contents, sums)
        if verdict.mismatched:
            warn(f"{dest.name}: members differ from USGS's checksums; fetching it again")
            return None
        label = bundle_label(verdict.checked)
        members = members_json(verdict.checked, found.contents.digests)
    else:
        expected, label = sums.expected(dest.name)
        if expected is not None and expected != found.sha512:
            warn(f"{dest.name} differs from USGS's checksum; fetching it again")
            return None
    same = same_as_recorded(record, found.sha512, found.tree_sha512) if record is not None else None
    # A published checksum of the whole file outranks the record; a tar's members' do not
    # cover its headers and padding, so a tar that differs from its record is fetched again.
    if same is False and (label == SIZE or is_tar):
        warn(f"{dest.name} changed since m2mdl wrote it; fetching it again")
        return None
    if label == SIZE and same and record is not None and record.get("verified") in FULL:
        label = record["verified"]  # the same bytes were verified against USGS before
    note = sums.note() if label == SIZE else None
    # a tar is recorded by its tree digest alone (the SHA-512 computed for an old record too)
    sha512 = None if is_tar else found.sha512
    return Present(stat.st_size, stat.st_mtime_ns, sha512, found.tree_sha512, label, note, members)
