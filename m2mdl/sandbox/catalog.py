"""The synthetic Landsat 8/9 Collection 2 catalog: scenes, identifiers, dates, cloud cover.

Scenes are never stored: a scene is a :class:`SceneKey` (satellite, WRS-2 path/row, day)
and every attribute is a pure function of it, so a search over years of the whole Earth
costs arithmetic, not memory. Acquisition days follow the real 16-day repeat: the orbit
after path p images path p+16 (mod 233), so path p's pass is orbit ``102*(p-68) mod 233``
of the cycle (102 = 16^-1 mod 233); fitted to recorded acquisitions (068/017 2020-03-10,
067/018 2020-03-03, 226/078 2020-08-04, 233/083 2016-09-11, LC09 062/017 2023-08-24).
Landsat 9 flies 8 days after Landsat 8 (docs/sandbox.md, "The catalogue").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from m2mdl.sandbox import wrs

_ANCHOR = dt.date(2020, 3, 10).toordinal()  # L8 imaged path 68 that day
_PASS_PHASE = 0.66  # fraction of a day; any value in 0.33..0.99 fits the recordings
SATELLITES = {8: dt.date(2013, 3, 18).toordinal(), 9: dt.date(2021, 10, 31).toordinal()}
_SAT_OFFSET = {8: 0, 9: 8}
_C2_REPROCESSED = dt.date(2020, 8, 22).toordinal()  # processing date of the recorded 2020 scenes
_C2_CUTOFF = dt.date(2020, 10, 1).toordinal()


class SceneKey(NamedTuple):
    """Identity of one acquisition: satellite 8/9, WRS-2 path and row, date ordinal."""

    sat: int
    path: int
    row: int
    day: int


@dataclass(frozen=True)
class Pin:
    """Recorded values that override the synthetic ones for one scene."""

    cloud: int
    bundle_l2: int | None = None
    processed: int | None = None
    publish: str | None = None


def _d(y: int, m: int, day: int) -> int:
    return dt.date(y, m, day).toordinal()


# The official notebook's Anchorage search (official notebook runs 2024/2025): exactly these three
# scenes have cloud <= 60 in 2020-03-01..15; the three other scenes whose footprints touch
# the AOI in that window (067/017, 069/017, 070/017; real values not recorded, UNCERTAIN) are
# pinned
# cloudy so the search answers like the recording. LC09 062/017 is the fourth scene the 2025 run's
# stale list returned; its bundle size is recorded too.
PINS: dict[SceneKey, Pin] = {
    SceneKey(8, 68, 17, _d(2020, 3, 10)): Pin(
        9, 977_600_762, _C2_REPROCESSED, "2022-06-22 18:27:47-05"
    ),
    SceneKey(8, 68, 18, _d(2020, 3, 10)): Pin(
        5, 896_080_792, _C2_REPROCESSED, "2022-06-22 18:27:47-05"
    ),
    SceneKey(8, 67, 18, _d(2020, 3, 3)): Pin(
        54, 911_186_642, _C2_REPROCESSED, "2022-06-22 18:27:47-05"
    ),
    SceneKey(8, 67, 17, _d(2020, 3, 3)): Pin(83),
    SceneKey(8, 69, 17, _d(2020, 3, 1)): Pin(91),
    SceneKey(8, 70, 17, _d(2020, 3, 8)): Pin(77),
    SceneKey(9, 62, 17, _d(2023, 8, 24)): Pin(12, 1_036_378_194, _d(2023, 8, 26)),
}


def unit_hash(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts`` (stable across runs and platforms)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def cycle_phase(sat: int, path: int) -> int:
    """Day (mod 16) on which ``sat`` images ``path``, relative to the anchor date."""
    orbit = (102 * (path - 68)) % wrs.PATHS
    return (int(_PASS_PHASE + orbit * 16 / wrs.PATHS) + _SAT_OFFSET[sat]) % 16


def pass_days(sat: int, path: int, first: int, last: int) -> range:
    """Date ordinals in [first, last] on which ``sat`` images ``path`` (16-day steps)."""
    first = max(first, SATELLITES[sat])
    phase = (_ANCHOR + cycle_phase(sat, path)) % 16
    start = first + ((phase - first) % 16)
    return range(start, last + 1, 16)


def is_scene(key: SceneKey, today: int) -> bool:
    """Whether ``key`` names an acquisition in the catalog (daytime row, on the cycle)."""
    if key.sat not in SATELLITES or not 1 <= key.path <= wrs.PATHS:
        return False
    if key.row not in wrs.DAY_ROWS or key.day > today:
        return False
    return key.day in pass_days(key.sat, key.path, key.day, key.day)


def cloud_cover(key: SceneKey) -> int:
    """Scene cloud cover in percent, an int as the 2025 notebook run shows (UNCERTAIN)."""
    pin = PINS.get(key)
    if pin is not None:
        return pin.cloud
    return min(100, int(101 * unit_hash("cloud", *key) ** 1.4))


# Recency (docs/sandbox.md, "Recency: processing lag and tiers"), after the USGS Collection 2
# generation timeline (https://www.usgs.gov/media/images/landsat-collection-2-generation-timeline):
# Landsat 8 Level-1 is first published as Real-Time (tier RT, processed the day it is acquired)
# and reprocessed to T1/T2 3-10 days later; its Level-2 product shares that processing date and
# appears the day after. Landsat 9 Level-1 is T1/T2 from the start; its Level-2 product is made
# 1-3 days after acquisition. Scenes acquired before October 2020 carry the Collection 2
# reprocessing dates.
_L8_TIER_LAG = (3, 10)
_L9_L2_LAG = (1, 3)
MAX_LAG = _L8_TIER_LAG[1] + 1  # days from acquisition to the last product of a new scene
RT_DAYS = _L8_TIER_LAG[1]  # a Real-Time product is at most this many days old
REPROCESSED_UNTIL = _C2_REPROCESSED + 130  # last processing day of the C2 reprocessing


def _lag(name: str, key: SceneKey, bounds: tuple[int, int]) -> int:
    low, high = bounds
    return low + int(unit_hash(name, *key) * (high - low + 1))


def tier_day(key: SceneKey) -> int:
    """Date ordinal of the final-tier (T1/T2) Level-1 product."""
    pin = PINS.get(key)
    if pin is not None and pin.processed is not None:
        return pin.processed
    lagged = key.day if key.sat == 9 else key.day + _lag("tierlag", key, _L8_TIER_LAG)
    if key.day < _C2_CUTOFF:  # reprocessed for Collection 2, never before acquisition
        span = REPROCESSED_UNTIL - _C2_REPROCESSED
        return max(lagged, _C2_REPROCESSED + int(unit_hash("reproc", *key) * span))
    return lagged


def l2_processed_day(key: SceneKey) -> int:
    """Processing date of the Level-2 product (the date in its identifier)."""
    pin = PINS.get(key)
    if (pin is not None and pin.processed is not None) or key.day < _C2_CUTOFF or key.sat == 8:
        return tier_day(key)
    return key.day + _lag("l2lag", key, _L9_L2_LAG)


def l2_visible_day(key: SceneKey) -> int:
    """First day on which the Level-2 product is in the catalog (Landsat 8: a day after T1/T2)."""
    day = l2_processed_day(key)
    return day + 1 if key.sat == 8 and key.day >= _C2_CUTOFF and key not in PINS else day


def exists(key: SceneKey, level: int, today: int) -> bool:
    """Whether the product of ``key`` at ``level`` is published by ``today`` (+1, see below).

    ``today`` is the catalog's newest acquisition day (yesterday); products made "today"
    (``today + 1``) are visible.
    """
    if not is_scene(key, today):
        return False
    return level == 1 or l2_visible_day(key) <= today + 1


def is_real_time(key: SceneKey, level: int, today: int) -> bool:
    """Whether the Level-1 product is still in the temporary Real-Time tier."""
    return level == 1 and tier_day(key) > today + 1


def processed_day(key: SceneKey, today: int, level: int = 1) -> int:
    """Date ordinal in the product identifier (RT products: the acquisition day)."""
    if level == 2:
        return l2_processed_day(key)
    return key.day if is_real_time(key, 1, today) else tier_day(key)


def tier(key: SceneKey, level: int = 2, today: int | None = None) -> str:
    """Collection category: RT while Level-1 awaits its tier, else about one in ten is T2."""
    if today is not None and is_real_time(key, level, today):
        return "RT"
    return "T2" if unit_hash("tier", *key) < 0.1 else "T1"


def _ymd(day: int) -> str:
    return dt.date.fromordinal(day).strftime("%Y%m%d")


def entity_id(key: SceneKey) -> str:
    """Scene identifier, e.g. ``LC80680172020070LGN00`` (same for L1 and L2, official notebook)."""
    date = dt.date.fromordinal(key.day)
    doy = date.timetuple().tm_yday
    return f"LC{key.sat}{key.path:03d}{key.row:03d}{date.year}{doy:03d}LGN00"


def display_id(key: SceneKey, level: int, today: int) -> str:
    """Product identifier, e.g. ``LC08_L2SP_068017_20200310_20200822_02_T1``."""
    kind = "L2SP" if level == 2 else "L1TP"
    proc = _ymd(processed_day(key, today, level))
    row = f"{key.path:03d}{key.row:03d}"
    return f"LC0{key.sat}_{kind}_{row}_{_ymd(key.day)}_{proc}_02_{tier(key, level, today)}"


_ENTITY_RE = re.compile(r"^LC([89])(\d{3})(\d{3})(\d{4})(\d{3})LGN0\d$")
_DISPLAY_RE = re.compile(r"^LC0([89])_(L1TP|L2SP)_(\d{3})(\d{3})_(\d{8})_(\d{8})_02_(T1|T2|RT)$")


def parse_entity_id(text: str, today: int) -> SceneKey | None:
    """The scene an entityId names, or None if it is not in the catalog."""
    m = _ENTITY_RE.match(text.upper())
    if m is None:
        return None
    sat, path, row, year, doy = (int(g) for g in m.groups())
    try:
        day = dt.date(year, 1, 1).toordinal() + doy - 1
    except ValueError:
        return None
    key = SceneKey(sat, path, row, day)
    return key if is_scene(key, today) and entity_id(key) == text.upper() else None


def parse_display_id(text: str, today: int) -> tuple[SceneKey, int] | None:
    """(scene, level) for a product identifier, or None if it is not in the catalog."""
    m = _DISPLAY_RE.match(text)
    if m is None:
        return None
    sat, kind, path, row, acq = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)
    try:
        day = dt.datetime.strptime(acq, "%Y%m%d").date().toordinal()
    except ValueError:
        return None
    key = SceneKey(int(sat), int(path), int(row), day)
    level = 2 if kind == "L2SP" else 1
    if not exists(key, level, today) or display_id(key, level, today) != text:
        return None
    return key, level


@lru_cache(maxsize=4096)
def footprint(path: int, row: int) -> tuple[tuple[float, float], ...]:
    """Cached scene footprint corners (lon, lat)."""
    return tuple(wrs.footprint(path, row))


def bundle_base_size(key: SceneKey, level: int) -> int:
    """Bundle size in bytes at data_scale 1 (recorded where known; else 0.82-1.04 GB)."""
    pin = PINS.get(key)
    if level == 2 and pin is not None and pin.bundle_l2 is not None:
        return pin.bundle_l2
    low, high = (818_000_000, 1_040_000_000) if level == 2 else (1_050_000_000, 1_230_000_000)
    return low + int(unit_hash("size", level, *key) * (high - low))


def publish_date(key: SceneKey, today: int, level: int = 2) -> str:
    """publishDate like ``2022-06-22 18:27:47-05`` (recorded format): the processing day."""
    pin = PINS.get(key)
    if pin is not None and pin.publish is not None:
        return pin.publish
    day = dt.date.fromordinal(min(today + 1, processed_day(key, today, level)))
    secs = int(unit_hash("pub", *key) * 86400)
    return f"{day.isoformat()} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}-05"
