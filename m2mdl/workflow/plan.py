"""Turn download-options into the list of files a run will fetch. Pure functions, no I/O.

Three file types, as in the official USGS notebook (docs/design.md, "M2M API"):
- ``bundle``: one ``.tar`` per scene, the available non-folder product (ls_zip preferred,
  dds_ms as fallback: which one is available changes over time);
- ``band``: single files from the scenes' ``secondaryDownloads``, optionally filtered by band;
- ``band_group``: every file of the chosen band groups (requested through ``dataGroups``).
Each of the four products of an L2 scene carries the same secondaryDownloads list, so
secondary files are folded by entity id first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InputError
from ..models import Product, band_of

if TYPE_CHECKING:
    from ..bands import BandSelection

FILETYPES = ("band", "bundle", "band_group")
#: Bundle download systems in order of preference. ls_zip (landsatlook) serves Range requests
#: reliably and is the one USGS's own notebook picks; dds_ms is the fallback for scenes whose
#: ls_zip bundle is not yet (or no longer) available (eodag#2349).
BUNDLE_SYSTEMS = ("ls_zip", "dds_ms", "dds")
#: Known secondary "band files" datasets, to save a ``dataset`` call.
BAND_FILE_DATASETS = {
    "5f85f041c828327a": "landsat_band_files_c2_l2",
    "5e81ff5f86d11d08": "landsat_band_files_c2_l1",
}


@dataclass(frozen=True)
class PlannedFile:
    """One file the run will produce."""

    key: str  # unique in the run: "<entity id>/<file name>"
    scene_entity_id: str
    scene_display_id: str
    entity_id: str  # the entity download-request takes (secondary id for single files)
    product_id: str
    product: str  # human label: product code, band or group
    file_name: str
    size: int | None
    group: str | None = None
    dataset_id: str | None = None

    @property
    def kind(self) -> str | None:
        """The content the transfer engine checks for: ``tar``, ``tiff`` or ``text``."""
        lower = self.file_name.lower()
        if lower.endswith(".tar"):
            return "tar"
        if lower.endswith((".tif", ".tiff")):
            return "tiff"
        if lower.endswith((".txt", ".xml", ".json")):
            return "text"
        return None


@dataclass(frozen=True)
class Plan:
    """The files of a run, and the scenes that had nothing to offer."""

    files: tuple[PlannedFile, ...]
    unavailable: tuple[tuple[str, str], ...]  # (scene display id, reason)


def _size(value: int | None) -> int | None:
    return value if value else None  # folder products and many secondaries report 0


def _scene_names(products: Iterable[Product]) -> dict[str, str]:
    return {p.entity_id: p.display_id for p in products}


def plan_bundles(products: Sequence[Product]) -> Plan:
    """One bundle per scene: the first available product in BUNDLE_SYSTEMS order."""
    by_scene: dict[str, list[Product]] = {}
    for product in products:
        by_scene.setdefault(product.entity_id, []).append(product)
    files: list[PlannedFile] = []
    unavailable: list[tuple[str, str]] = []
    for entity_id, candidates in by_scene.items():
        usable = [p for p in candidates if p.available and p.download_system in BUNDLE_SYSTEMS]
        usable.sort(key=lambda p: BUNDLE_SYSTEMS.index(p.download_system or ""))
        display = candidates[0].display_id
        if not usable:
            unavailable.append((display, "no bundle is available for download now"))
            continue
        best = usable[0]
        files.append(
            PlannedFile(
                key=f"{entity_id}/{display}.tar",
                scene_entity_id=entity_id,
                scene_display_id=display,
                entity_id=entity_id,
                product_id=best.product_id,
                product=f"{best.product_code or 'bundle'} ({best.download_system})",
                file_name=f"{display}.tar",
                size=_size(best.filesize),
                dataset_id=best.dataset_id,
            )
        )
    return Plan(tuple(files), tuple(unavailable))


def secondary_files(products: Sequence[Product]) -> list[tuple[Product, Product]]:
    """(parent, secondary) pairs, one per distinct secondary entity id (the 4x fold)."""
    seen: dict[str, tuple[Product, Product]] = {}
    for parent in products:
        for sec in parent.secondary:
            if sec.entity_id and sec.entity_id not in seen:
                seen[sec.entity_id] = (parent, sec)
    return list(seen.values())


def _planned(parent: Product, sec: Product, product: str, group: str | None) -> PlannedFile:
    return PlannedFile(
        key=f"{sec.entity_id}/{sec.file_name}",
        scene_entity_id=parent.entity_id,
        scene_display_id=parent.display_id,
        entity_id=sec.entity_id,
        product_id=sec.product_id,
        product=product,
        file_name=sec.file_name,
        size=_size(sec.filesize),
        group=group,
        dataset_id=sec.dataset_id,
    )


def plan_bands(products: Sequence[Product], bands: BandSelection | None = None) -> Plan:
    """Single files; every file of each scene when ``bands`` is None or empty.

    Raises:
        InputError: a requested band matches no file of any scene (lists the known bands).
    """
    pairs = [(p, s) for p, s in secondary_files(products) if s.available or s.bulk_available]
    wanted = bands if bands is not None and bands.tokens else None
    unknown = wanted.missing(s.file_name for _, s in pairs) if wanted and pairs else []
    if unknown:
        known = sorted({band_of(s.file_name) for _, s in pairs})
        raise InputError(f"unknown band {', '.join(unknown)}; this product has: {', '.join(known)}")
    files = [
        _planned(p, s, band_of(s.file_name), None)
        for p, s in pairs
        if wanted is None or wanted.matches(s.file_name)
    ]
    with_files = {f.scene_entity_id for f in files}
    names = _scene_names(products)
    unavailable = tuple(
        (names[e], "no single files are available for download now")
        for e in names
        if e not in with_files
    )
    return Plan(tuple(files), unavailable)


def available_groups(products: Sequence[Product]) -> list[str]:
    """Band group ids named by the secondary files (needs includeSecondaryFileGroups)."""
    groups: dict[str, None] = {}
    for _, sec in secondary_files(products):
        for group in sec.file_groups:
            groups.setdefault(group, None)
    return list(groups)


def plan_groups(products: Sequence[Product], groups: Sequence[str] = ()) -> Plan:
    """Every file of the chosen band groups (all groups when ``groups`` is empty).

    Raises:
        InputError: a requested group is not offered (lists the offered groups).
    """
    offered = available_groups(products)
    unknown = [g for g in groups if g not in offered]
    if unknown:
        raise InputError(
            f"unknown band group {', '.join(unknown)}; offered: {', '.join(offered) or 'none'}"
        )
    chosen = list(groups) or offered
    files: list[PlannedFile] = []
    for parent, sec in secondary_files(products):
        if not (sec.available or sec.bulk_available):
            continue
        group = next((g for g in sec.file_groups if g in chosen), None)
        if group is not None:
            files.append(_planned(parent, sec, group, group))
    with_files = {f.scene_entity_id for f in files}
    names = _scene_names(products)
    unavailable = tuple(
        (names[e], "no file of the chosen band groups is available")
        for e in names
        if e not in with_files
    )
    return Plan(tuple(files), unavailable)


def make_plan(
    filetype: str,
    products: Sequence[Product],
    *,
    bands: BandSelection | None = None,
    groups: Sequence[str] = (),
) -> Plan:
    """Dispatch on the file type (``bands``: see :func:`m2mdl.bands.resolve_bands`).

    Raises:
        InputError: an unknown file type, band or group.
    """
    if filetype == "bundle":
        return plan_bundles(products)
    if filetype == "band":
        return plan_bands(products, bands)
    if filetype == "band_group":
        return plan_groups(products, groups)
    raise InputError(f"unknown file type {filetype!r}; choose one of {', '.join(FILETYPES)}")
