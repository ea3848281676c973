"""Which files a scene has, how big they are at a data scale, and their entityIds/groups.

Names follow docs/design.md §M2M API: Landsat naming; files are ``<displayId>_<SUFFIX>``; 22 Level-2
files are individually downloadable (NB25 cell 94), the bundle also holds MTL.json, the two stac
files and two thumbnails. Sizes at data_scale 1 are split from the bundle size in
proportion to rough real file sizes (band TIFs tens of MB; real per-band sizes are not
recorded, UNCERTAIN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

SR = "ls_c2l2_sr_band"
ST = "ls_c2l2_st_band"
L1_ALL = "ls_c2l1_all"
L1_BAND = "ls_c2l1_ot_band"  # named by the reference's download-request sample


@dataclass(frozen=True)
class FileDef:
    """One file of a product: suffix, share of the bundle, and how M2M exposes it."""

    suffix: str
    weight: int  # rough size in bytes at data_scale 1
    individual: bool  # offered as a secondary download
    groups: tuple[str, ...] = ()
    prefix: str = ""  # secondary entityId prefix: L2SR / L2ST / L1


def _l2_defs() -> tuple[FileDef, ...]:
    # ls_c2l2_sr_band membership is recorded (13 files, NB25 cells 104/106). The ST group's
    # members are not recorded: UNCERTAIN choice = the same 5 shared files + the 9 ST files.
    both = (SR, ST)
    defs = [
        FileDef("ANG.txt", 117_000, True, both, "L2ST"),
        FileDef("MTL.json", 16_000, False),
        FileDef("MTL.txt", 13_000, True, both, "L2ST"),
        FileDef("MTL.xml", 19_000, True, both, "L2ST"),
        FileDef("QA_PIXEL.TIF", 4_200_000, True, both, "L2SR"),
        FileDef("QA_RADSAT.TIF", 420_000, True, both, "L2SR"),
    ]
    for band, mb in zip(range(1, 8), (68, 70, 72, 74, 76, 73, 71), strict=True):
        defs.append(FileDef(f"SR_B{band}.TIF", mb * 1_000_000, True, (SR,), "L2SR"))
    defs += [
        FileDef("SR_QA_AEROSOL.TIF", 3_100_000, True, (SR,), "L2SR"),
        FileDef("SR_stac.json", 12_000, False),
    ]
    for name, mb in (
        ("ATRAN", 31),
        ("B10", 62),
        ("CDIST", 14),
        ("DRAD", 40),
        ("EMIS", 43),
        ("EMSD", 30),
        ("QA", 42),
    ):
        defs.append(FileDef(f"ST_{name}.TIF", mb * 1_000_000, True, (ST,), "L2ST"))
    defs += [
        FileDef("ST_stac.json", 10_000, False),
        FileDef("ST_TRAD.TIF", 52_000_000, True, (ST,), "L2ST"),
        FileDef("ST_URAD.TIF", 41_000_000, True, (ST,), "L2ST"),
        FileDef("thumb_large.jpeg", 210_000, False),
        FileDef("thumb_small.jpeg", 16_000, False),
    ]
    return tuple(defs)


def _l1_defs() -> tuple[FileDef, ...]:
    # The full L1 file list is not recorded (docs/design.md §M2M API: Landsat naming, UNCERTAIN):
    # B1-B11, QA, angle bands and metadata individually; MTL.json, stac and thumbnails only in the
    # bundle.
    allg = (L1_ALL,)
    defs = [FileDef("ANG.txt", 117_391, True, allg, "L1")]
    for band in range(1, 12):
        weight = 260_000_000 if band == 8 else 68_000_000
        defs.append(FileDef(f"B{band}.TIF", weight, True, (L1_ALL, L1_BAND), "L1"))
    defs += [
        FileDef("MTL.json", 16_000, False),
        FileDef("MTL.txt", 13_000, True, allg, "L1"),
        FileDef("MTL.xml", 19_000, True, allg, "L1"),
        FileDef("QA_PIXEL.TIF", 4_200_000, True, allg, "L1"),
        FileDef("QA_RADSAT.TIF", 420_000, True, allg, "L1"),
        FileDef("SAA.TIF", 6_000_000, True, allg, "L1"),
        FileDef("SZA.TIF", 6_000_000, True, allg, "L1"),
        FileDef("VAA.TIF", 6_000_000, True, allg, "L1"),
        FileDef("VZA.TIF", 6_000_000, True, allg, "L1"),
        FileDef("stac.json", 12_000, False),
        FileDef("thumb_large.jpeg", 210_000, False),
        FileDef("thumb_small.jpeg", 16_000, False),
    ]
    return tuple(defs)


FILES: dict[int, tuple[FileDef, ...]] = {2: _l2_defs(), 1: _l1_defs()}
BY_SUFFIX: dict[int, dict[str, FileDef]] = {lv: {f.suffix: f for f in d} for lv, d in FILES.items()}


def min_size(suffix: str) -> int:
    """Smallest size a file gets at tiny scales, so its header still fits."""
    if suffix.endswith("stac.json"):
        return 40_960  # a generated sidecar (compact JSON, ~20 KB) padded to this size
    ext = suffix.rsplit(".", 1)[-1].lower()
    # a TIF holds a GeoTIFF header plus at least a 16 x 16 uint16 raster
    return {"txt": 2048, "xml": 2048, "json": 1024, "jpeg": 512, "tif": 1536}.get(ext, 1024)


def secondary_entity_id(display_id: str, f: FileDef) -> str:
    """``L2SR_<displayId>_SR_B4_TIF`` (NB25), ``L1_<displayId>_ANG_TXT`` (REF)."""
    return f"{f.prefix}_{display_id}_{f.suffix.replace('.', '_').upper()}"


def parse_secondary(entity: str) -> tuple[str, str] | None:
    """(displayId, suffix) of a secondary entityId, or None."""
    for prefix in ("L2SR_", "L2ST_", "L1_"):
        if entity.startswith(prefix):
            rest = entity[len(prefix) :]
            display, tail = rest[:40], rest[41:]
            level = 1 if prefix == "L1_" else 2
            for f in FILES[level]:
                if (
                    f.individual
                    and f.prefix + "_" == prefix
                    and f.suffix.replace(".", "_").upper() == tail
                ):
                    return display, f.suffix
    return None


@dataclass(frozen=True)
class Layout:
    """Member files of one product at one scale, and the bundle's exact length.

    The tar is ``[512-byte header + data + zero padding to 512]`` per member, then the two
    zero blocks that end a tar archive, then zero bytes up to ``tar_size``. That trailing
    zero run (ignored by every tar reader, as GNU tar's record padding is) is how the bundle
    hits the recorded, not-512-aligned sizes exactly, e.g. 977,600,762 B at data_scale 1.
    """

    display_id: str
    members: tuple[tuple[str, int], ...]  # (file name, size)
    tar_size: int


def _padded(size: int) -> int:
    return 512 + 512 * math.ceil(size / 512)


@lru_cache(maxsize=2048)
def layout(display_id: str, level: int, base_size: int, scale: float) -> Layout:
    """Split ``base_size * scale`` bytes over the product's files (deterministic)."""
    defs = FILES[level]
    target = max(1, round(base_size * scale))
    # generated sidecars have a fixed size; the other files share the rest by weight
    fixed = {f.suffix: min_size(f.suffix) for f in defs if f.suffix.endswith("stac.json")}
    budget = target - 1024 - 1024 * len(defs) - sum(fixed.values())
    total_weight = sum(f.weight for f in defs if f.suffix not in fixed)
    members = tuple(
        (
            f"{display_id}_{f.suffix}",
            fixed.get(f.suffix) or max(min_size(f.suffix), budget * f.weight // total_weight),
        )
        for f in defs
    )
    used = sum(_padded(size) for _, size in members) + 1024
    return Layout(display_id, members, max(target, used))
