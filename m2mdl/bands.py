"""Band names: what a user may type in ``--bands``, and which file suffixes it means.

Three spellings name the same file, case-insensitively:

- the USGS file suffix: ``SR_B4`` (also ``SR_B4.TIF``), ``QA_PIXEL``, ``MTL.txt``;
- the short band form ``B4``, meaning the right file for the dataset's level: ``SR_B4`` in a
  Level-2 dataset (``ST_B10`` for OLI/TIRS band 10, ``ST_B6`` for TM/ETM+ band 6), ``B4`` in
  a Level-1 dataset;
- the STAC common name or asset key USGS uses in its STAC items: ``red``, ``nir08``,
  ``swir16``, ``lwir11``, ``qa_pixel``, ...

The tables follow the asset keys of USGS's STAC items and sidecars per sensor and level (see
docs/design.md, "STAC and checksums" and "Landsat naming"). Where USGS's key is not recorded
(the OLI/TIRS Level-2 ``ST_B10`` asset, TM Level-1) the choice follows the Level-1 items and
stactools: ``lwir11`` for ``ST_B10``, ``lwir`` for the TM thermal band.

A dataset that is not a Landsat Collection 2 dataset has no table: its ``--bands`` tokens are
taken as file suffixes, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import InputError
from .models import band_of
from .output import envelope
from .util.jsontypes import JsonObject

#: The metadata files that come with ``--bands`` unless ``--no-metadata`` is given: the MTL
#: holds the scale factors and offsets every user of the data needs.
METADATA_SUFFIXES = ("MTL.txt", "MTL.json", "MTL.xml")


@dataclass(frozen=True)
class Band:
    """One file of a product, with every name a user may give it.

    Attributes:
        suffix: the USGS file suffix as ``band_of`` returns it (``SR_B4``, ``MTL.txt``).
        key: the STAC asset key USGS uses (``red``, ``qa_pixel``, ``MTL.txt``).
        short: the short band form (``B4``), or None.
        title: a human description for ``m2mdl options --bands``.
    """

    suffix: str
    key: str
    short: str | None = None
    title: str = ""

    def names(self) -> tuple[str, ...]:
        """Every spelling of this file, upper-cased for case-insensitive lookups."""
        names = {self.suffix, self.key, self.suffix.rsplit(".", 1)[0]}
        if self.short:
            names.add(self.short)
        return tuple(sorted(n.upper() for n in names))


def _common() -> tuple[Band, ...]:
    """Files every product of a level has (QA, angles, metadata)."""
    return (
        Band("QA_PIXEL", "qa_pixel", None, "Pixel quality bits (clouds, shadow, snow)"),
        Band("QA_RADSAT", "qa_radsat", None, "Radiometric saturation bits"),
        Band("ANG.txt", "ANG.txt", None, "Angle coefficients"),
        Band("MTL.txt", "MTL.txt", None, "Metadata (text): scale factors, sun angles"),
        Band("MTL.xml", "MTL.xml", None, "Metadata (XML)"),
        Band("MTL.json", "MTL.json", None, "Metadata (JSON)"),
    )


def _st(thermal: Band) -> tuple[Band, ...]:
    """The Level-2 surface temperature files around one thermal band."""
    extras = (
        ("ATRAN", "Atmospheric transmittance"),
        ("CDIST", "Distance to cloud"),
        ("DRAD", "Downwelled radiance"),
        ("URAD", "Upwelled radiance"),
        ("TRAD", "Thermal radiance"),
        ("EMIS", "Emissivity"),
        ("EMSD", "Emissivity standard deviation"),
        ("QA", "Surface temperature uncertainty"),
    )
    return (thermal, *(Band(f"ST_{k}", k, None, t) for k, t in extras))


def _angles() -> tuple[Band, ...]:
    return tuple(
        Band(k, k, None, t)
        for k, t in (
            ("VAA", "View azimuth angle"),
            ("VZA", "View zenith angle"),
            ("SAA", "Solar azimuth angle"),
            ("SZA", "Solar zenith angle"),
        )
    )


_OLI = (
    ("coastal", 1, "Coastal/aerosol"),
    ("blue", 2, "Blue"),
    ("green", 3, "Green"),
    ("red", 4, "Red"),
    ("nir08", 5, "Near infrared"),
    ("swir16", 6, "Shortwave infrared 1.6 um"),
    ("swir22", 7, "Shortwave infrared 2.2 um"),
)
_TM = (
    ("blue", 1, "Blue"),
    ("green", 2, "Green"),
    ("red", 3, "Red"),
    ("nir08", 4, "Near infrared"),
    ("swir16", 5, "Shortwave infrared 1.6 um"),
    ("swir22", 7, "Shortwave infrared 2.2 um"),
)


def _oli_l2() -> tuple[Band, ...]:
    sr = tuple(Band(f"SR_B{n}", key, f"B{n}", f"{t} surface reflectance") for key, n, t in _OLI)
    return (
        *sr,
        Band("SR_QA_AEROSOL", "qa_aerosol", None, "Aerosol quality bits"),
        *_st(Band("ST_B10", "lwir11", "B10", "Surface temperature (TIRS band 10)")),
        *_common(),
    )


def _tm_l2() -> tuple[Band, ...]:
    """TM and ETM+ Level-2 share keys and suffixes."""
    sr = tuple(Band(f"SR_B{n}", key, f"B{n}", f"{t} surface reflectance") for key, n, t in _TM)
    return (
        *sr,
        Band("SR_ATMOS_OPACITY", "atmos_opacity", None, "Atmospheric opacity"),
        Band("SR_CLOUD_QA", "cloud_qa", None, "Cloud quality bits"),
        *_st(Band("ST_B6", "lwir", "B6", "Surface temperature (band 6)")),
        *_common(),
    )


def _oli_l1() -> tuple[Band, ...]:
    bands = [Band(f"B{n}", key, f"B{n}", t) for key, n, t in _OLI]
    bands += [
        Band("B8", "pan", "B8", "Panchromatic"),
        Band("B9", "cirrus", "B9", "Cirrus"),
        Band("B10", "lwir11", "B10", "Thermal infrared 10.9 um"),
        Band("B11", "lwir12", "B11", "Thermal infrared 12.0 um"),
    ]
    return (*bands, *_angles(), *_common())


def _etm_l1() -> tuple[Band, ...]:
    bands = [Band(f"B{n}", key, f"B{n}", t) for key, n, t in _TM]
    bands += [
        Band("B6_VCID_1", "lwir", "B6", "Thermal infrared, low gain"),
        Band("B6_VCID_2", "lwir_high", "B6", "Thermal infrared, high gain"),
        Band("B8", "pan", "B8", "Panchromatic"),
        Band("GCP.txt", "GCP", None, "Ground control points"),
    ]
    return (*bands, *_angles(), *_common())


def _tm_l1() -> tuple[Band, ...]:
    bands = [Band(f"B{n}", key, f"B{n}", t) for key, n, t in _TM]
    bands += [
        Band("B6", "lwir", "B6", "Thermal infrared"),
        Band("GCP.txt", "GCP", None, "Ground control points"),
    ]
    return (*bands, *_angles(), *_common())


def _mss_l1() -> tuple[Band, ...]:
    """Landsat 1-3 number MSS bands 4-7, Landsat 4-5 number them 1-4; both are here."""
    names = (
        ("green", "Green"),
        ("red", "Red"),
        ("nir08", "Near infrared 0.8 um"),
        ("nir09", "Near infrared 0.9 um"),
    )
    bands = [
        Band(f"B{first + i}", key, f"B{first + i}", f"{title} (Landsat {sats})")
        for first, sats in ((4, "1-3"), (1, "4-5"))
        for i, (key, title) in enumerate(names)
    ]
    common = tuple(b for b in _common() if b.suffix != "ANG.txt")  # MSS has no ANG file
    return (*bands, Band("GCP.txt", "GCP", None, "Ground control points"), *common)


#: (sensor, level) -> the files of a product.
TABLES: dict[tuple[str, int], tuple[Band, ...]] = {
    ("oli-tirs", 2): _oli_l2(),
    ("oli-tirs", 1): _oli_l1(),
    ("etm", 2): _tm_l2(),
    ("etm", 1): _etm_l1(),
    ("tm", 2): _tm_l2(),
    ("tm", 1): _tm_l1(),
    ("mss", 1): _mss_l1(),
}
_DATASET_SENSORS = {"ot": "oli-tirs", "etm": "etm", "tm": "tm", "mss": "mss"}


def dataset_sensor_level(dataset: str) -> tuple[str, int] | None:
    """``landsat_ot_c2_l2`` -> ``("oli-tirs", 2)``; None for any other dataset."""
    parts = dataset.strip().lower().split("_")
    if len(parts) != 4 or parts[0] != "landsat" or parts[2] != "c2" or parts[3] not in {"l1", "l2"}:
        return None
    sensor = _DATASET_SENSORS.get(parts[1])
    return None if sensor is None else (sensor, int(parts[3][1]))


def display_id_sensor_level(display_id: str) -> tuple[str, int] | None:
    """``LC08_L2SP_...`` -> ``("oli-tirs", 2)``; None when it is not a C2 product id."""
    parts = display_id.upper().split("_")
    if len(parts) < 7 or len(parts[0]) != 4 or parts[1][:2] not in {"L1", "L2"}:
        return None
    sensor_letter, sat = parts[0][1], parts[0][2:]
    level = int(parts[1][1])
    if sensor_letter in "COT" and sat in {"08", "09"}:
        sensor = "oli-tirs"
    elif sensor_letter == "E":
        sensor = "etm"
    elif sensor_letter == "T":
        sensor = "tm"
    elif sensor_letter == "M":
        sensor = "mss"
    else:
        return None
    return (sensor, level) if (sensor, level) in TABLES else None


def bands_for_dataset(dataset: str) -> tuple[Band, ...]:
    """The files a product of ``dataset`` has; empty for a dataset without a table."""
    found = dataset_sensor_level(dataset)
    return TABLES.get(found, ()) if found else ()


def bands_for_display_id(display_id: str) -> tuple[Band, ...]:
    """The files the product ``display_id`` has; empty when unknown."""
    found = display_id_sensor_level(display_id)
    return TABLES.get(found, ()) if found else ()


def asset_key(display_id: str, file_name: str) -> str:
    """The STAC asset key for a product file: ``red`` for ``<id>_SR_B4.TIF`` (OLI L2).

    Files without a table entry get their suffix, lower-cased and without extension
    (``thumb_small.jpeg`` -> ``thumbnail``, as USGS names it).
    """
    suffix = band_of(file_name)
    for band in bands_for_display_id(display_id):
        if band.suffix.upper() == suffix.upper():
            return band.key
    special = {"THUMB_SMALL.JPEG": "thumbnail", "THUMB_LARGE.JPEG": "reduced_resolution_browse"}
    return special.get(suffix.upper(), suffix.rsplit(".", 1)[0].lower())


@dataclass(frozen=True)
class BandSelection:
    """The files ``--bands`` asked for.

    Attributes:
        tokens: what the user typed, for messages.
        required: per token, the suffixes it means (one of them must exist in some scene).
        extras: suffixes taken when a scene offers them and never an error when it does not
            (the MTL files: M2M offers MTL.txt and MTL.xml singly, MTL.json only in bundles).
    """

    tokens: tuple[str, ...]
    required: tuple[frozenset[str], ...]
    extras: frozenset[str] = frozenset()

    def matches(self, file_name: str) -> bool:
        """Does ``<id>_SR_B4.TIF`` belong to the selection?"""
        suffix = band_of(file_name).upper()
        names = {suffix, suffix.rsplit(".", 1)[0]}  # "MTL" names MTL.txt and MTL.xml
        return suffix in self.extras or any(names & wanted for wanted in self.required)

    def missing(self, file_names: Iterable[str]) -> list[str]:
        """The tokens no file of ``file_names`` matches (for an "unknown band" error)."""
        have = {band_of(name).upper() for name in file_names}
        have |= {h.rsplit(".", 1)[0] for h in have}
        return [
            t for t, wanted in zip(self.tokens, self.required, strict=True) if not have & wanted
        ]


def _split_tokens(tokens: Iterable[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        out += [part.strip() for part in token.split(",") if part.strip()]
    return out


def _lookup(table: Sequence[Band], token: str) -> frozenset[str]:
    """Suffixes (upper-case) a token names in ``table``; empty when none."""
    name = token.strip().upper()
    if name.endswith((".TIF", ".TIFF")):
        name = name.rsplit(".", 1)[0]
    return frozenset(b.suffix.upper() for b in table if name in b.names())


def valid_names(dataset: str) -> list[str]:
    """Every name ``--bands`` accepts for ``dataset``, sorted (empty without a table)."""
    names: set[str] = set()
    for band in bands_for_dataset(dataset):
        names.update({band.suffix, band.key, *([band.short] if band.short else [])})
    return sorted(names, key=str.lower)


def resolve_bands(
    dataset: str, tokens: Iterable[str], *, no_metadata: bool = False
) -> BandSelection:
    """Turn ``--bands`` tokens (comma lists allowed) into a :class:`BandSelection`.

    The MTL files are added as extras unless ``no_metadata``. An empty token list means
    "every file" and gives an empty selection (the caller takes all files).

    Raises:
        InputError: a token names no file of the dataset (the message lists the valid names).
    """
    wanted = _split_tokens(tokens)
    table = bands_for_dataset(dataset)
    required: list[frozenset[str]] = []
    unknown: list[str] = []
    for token in wanted:
        if table:
            found = _lookup(table, token)
            if not found:
                unknown.append(token)
            required.append(found)
        else:  # no table: the token is the file suffix itself (as band_of writes it)
            required.append(frozenset({band_of(token).upper(), token.upper()}))
    if unknown:
        raise InputError(
            f"unknown band {', '.join(unknown)} for {dataset}; valid names: "
            + ", ".join(valid_names(dataset))
        )
    extras = (
        frozenset()
        if no_metadata or not wanted
        else frozenset(s.upper() for s in METADATA_SUFFIXES)
    )
    return BandSelection(tuple(wanted), tuple(required), extras)


@dataclass(frozen=True)
class BandRow:
    """One row of ``m2mdl options --bands``."""

    suffix: str
    short: str | None
    common_name: str
    title: str


def band_rows(dataset: str) -> list[BandRow]:
    """The names ``--bands`` accepts for ``dataset``, one row per file, in product order.

    Raises:
        InputError: the dataset has no band table (not a Landsat Collection 2 dataset).
    """
    table = bands_for_dataset(dataset)
    if not table:
        raise InputError(
            f"no band names are known for {dataset}; give file suffixes as `m2mdl options ID`"
            " lists them"
        )
    return [BandRow(b.suffix, b.short, b.key, b.title) for b in table]


def bands_json(dataset: str) -> JsonObject:
    """The documented ``options --bands --output json`` form (schema_version 1).

    Raises:
        InputError: the dataset has no band table.
    """
    return envelope(
        "bands",
        {
            "dataset": dataset,
            "bands": [
                {
                    "suffix": r.suffix,
                    "short": r.short,
                    "common_name": r.common_name,
                    "title": r.title,
                }
                for r in band_rows(dataset)
            ],
            "metadata_with_bands": list(METADATA_SUFFIXES),
        },
    )


def render_band_rows(rows: Sequence[BandRow]) -> str:
    """A plain-text table of :func:`band_rows` (for ``options --bands``)."""
    table = [("FILE SUFFIX", "SHORT", "NAME", "DESCRIPTION")]
    table += [(r.suffix, r.short or "", r.common_name, r.title) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in table
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"
