"""Which planned files are already on disk and verified, so a rerun neither requests nor
transfers them again.

A final-named file is only ever written by the transfer engine after every check passed
(size, content type, magic, fsync, rename), so "exists with the expected size and magic" is
the verification. Its sha256 is carried over from the newest manifest that recorded the same
file with the same size, instead of re-hashing gigabytes on every cron tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..manifest import find_manifests, load
from ..transfer import looks_complete, safe_join
from .plan import PlannedFile


def _known_hashes(out_dir: Path, wanted: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """sha256 of (file name, size) pairs from the manifests, newest first.

    Each run carries the hashes of the files it skipped into its own manifest, so the newest
    manifests usually answer everything: reading stops as soon as every wanted file is found,
    instead of parsing months of cron manifests on every run.
    """
    hashes: dict[tuple[str, int], str] = {}
    for path in reversed(find_manifests(out_dir)):
        if wanted <= hashes.keys():
            break
        try:
            items = load(path).get("items", [])
        except (OSError, ValueError):
            continue
        for item in items if isinstance(items, list) else []:
            if (
                isinstance(item, dict)
                and item.get("sha256")
                and item.get("size")
                and item.get("status") in {"done", "skipped"}
            ):
                hashes.setdefault(
                    (str(item.get("file_name")), int(item["size"])), str(item["sha256"])
                )
    return hashes


def already_present(files: Sequence[PlannedFile], out_dir: Path) -> dict[str, str | None]:
    """Keys of planned files already complete in ``out_dir``, with their sha256 if known."""
    if not out_dir.is_dir():
        return {}
    found: dict[str, tuple[str, int]] = {}
    for planned in files:
        dest = safe_join(out_dir, planned.file_name)
        if looks_complete(dest, planned.size, planned.kind):
            found[planned.key] = (dest.name, dest.stat().st_size)
    hashes = _known_hashes(out_dir, set(found.values())) if found else {}
    return {key: hashes.get(name_size) for key, name_size in found.items()}
