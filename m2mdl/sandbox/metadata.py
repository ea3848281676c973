"""Scene attributes and the ``metadata`` field lists of scene-search and scene-metadata.

Every value is a pure function of the scene (see :mod:`m2mdl.sandbox.catalog`). The full
field set follows the recorded scene-metadata answer (tests/data/m2m-real/
kapadia-2021-scene-metadata.json: names, order, JSON value types, the ``&deg;`` entity in the
DMS corner coordinates, the leading space of WRS path/row), renamed where Collection 2 names
the field differently (docs/sandbox.md, "Scene metadata").
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from m2mdl.sandbox import catalog, wrs
from m2mdl.sandbox.catalog import SceneKey

from .jsontypes import JSON

DICTIONARY = "https://www.usgs.gov/centers/eros/science/landsat-collection-2-data-dictionary"


def _ymd_slash(day: int) -> str:
    return dt.date.fromordinal(day).strftime("%Y/%m/%d")


def off_nadir(key: SceneKey) -> bool:
    """About one scene in a hundred is an off-nadir acquisition."""
    return catalog.unit_hash("nadir", *key) < 0.01


def image_quality(key: SceneKey) -> int:
    """OLI image quality 0-9; nearly always 9 (value distribution UNCERTAIN)."""
    h = catalog.unit_hash("quality", *key)
    return 9 if h < 0.92 else 8 if h < 0.98 else 7


Attr = Callable[[SceneKey, int, int], str]
_ATTRIBUTES: dict[str, Attr] = {
    "display_id": lambda key, level, today: catalog.display_id(key, level, today),
    "display_id_l1": lambda key, level, today: catalog.display_id(key, 1, today),
    "entity_id": lambda key, level, today: catalog.entity_id(key),
    "path": lambda key, level, today: str(key.path),
    "row": lambda key, level, today: str(key.row),
    "satellite": lambda key, level, today: str(key.sat),
    "tier": lambda key, level, today: catalog.tier(key, level, today),
    "sensor": lambda key, level, today: "OLI_TIRS",
    "nadir": lambda key, level, today: "OFFNADIR" if off_nadir(key) else "NADIR",
    "date_l1": lambda key, level, today: _ymd_slash(catalog.processed_day(key, today, 1)),
    "date_l2": lambda key, level, today: _ymd_slash(catalog.processed_day(key, today, 2)),
    "date_acquired": lambda key, level, today: _ymd_slash(key.day),
    "quality": lambda key, level, today: str(image_quality(key)),
    "day_night": lambda key, level, today: "DAY",
    "data_type_l1": lambda key, level, today: "L1TP",
    "cloud": lambda key, level, today: str(catalog.cloud_cover(key)),
}


def attribute(key: SceneKey, name: str, level: int, today: int) -> str:
    """The value a metadata filter compares (``FilterDef.attr``), as text."""
    return _ATTRIBUTES[name](key, level, today)


def _field(fid: str, name: str, anchor: str, value: object) -> JSON:
    return {
        "id": fid,
        "fieldName": name,
        "dictionaryLink": f"{DICTIONARY}#{anchor}",
        "value": value,
    }


def summary(key: SceneKey, level: int, today: int) -> list[JSON]:
    """The summary fields of a search hit (ids from dataset-filters where known)."""
    cloud = f"{catalog.cloud_cover(key):.2f}"
    product = catalog.display_id(key, 2, today) if level == 2 else None
    fields = [
        _field("5e83d1508031a4a3", "ID", "entity_id", catalog.entity_id(key)),
        _field("5e83d14f567d0086", "Landsat Product Identifier L2", "landsat_product_id", product),
        _field(
            "5e83d14f227b0d85",
            "Landsat Product Identifier L1",
            "landsat_product_id",
            catalog.display_id(key, 1, today),
        ),
        _field(
            "5e83d14fc84c9a78",
            "Landsat Scene Identifier",
            "landsat_scene_id",
            catalog.entity_id(key),
        ),
        _field("5e83d14f30ea90a9", "Date Acquired", "date_acquired", _ymd_slash(key.day)),
        _field(
            "5f6a6fb2137a3c00",
            "Collection Category",
            "collection_category",
            catalog.tier(key, level, today),
        ),
        _field("5e83d14f2d0ff4c8", "Collection Number", "collection_number", 2),
        _field("5e83d14fb9436d88", "WRS Path", "wrs_path", f" {key.path:03d}"),
        _field("5e83d14ff1eda1b8", "WRS Row", "wrs_row", f" {key.row:03d}"),
        _field("61af9273566bb9a8", "Satellite", "satellite", key.sat),
        _field("5e83d14fc6e09eb6", "Sensor Identifier", "sensor_id", "OLI_TIRS"),
        _field("5e83d14f2ab7a0d8", "Land Cloud Cover", "cloud_cover_land", cloud),
        _field("5e83d14f9e2d1a49", "Scene Cloud Cover L1", "cloud_cover", cloud),
        _field("5e83d14f1a7bd7b1", "Day/Night Indicator", "day_or_night", "DAY"),
    ]
    if level == 1:
        fields = [f for f in fields if f["fieldName"] != "Landsat Product Identifier L2"]
    return fields


def _dms(value: float, pos: str, neg: str) -> str:
    hemi = pos if value >= 0 else neg
    value = abs(value)
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = (value - deg - minutes / 60) * 3600
    return f"{deg}&deg;{minutes:02d}'{seconds:05.2f}\"{hemi}"


def corners(key: SceneKey) -> dict[str, tuple[float, float]]:
    """Centre and UL/UR/LL/LR corners (lon, lat) of the scene footprint."""
    pts = list(catalog.footprint(key.path, key.row))
    top = sorted(sorted(pts, key=lambda p: -p[1])[:2])
    bottom = sorted(sorted(pts, key=lambda p: p[1])[:2])
    lon, lat = wrs.scene_center(key.path, key.row)
    wrap = [(((x + 180.0) % 360.0) - 180.0, y) for x, y in (top[0], top[1], bottom[0], bottom[1])]
    return {"Center": (lon, lat), "UL": wrap[0], "UR": wrap[1], "LL": wrap[2], "LR": wrap[3]}


def _scene_time(key: SceneKey) -> dt.datetime:
    """Scene start (UTC): about 10:10 local solar time at the scene centre."""
    lon = wrs.scene_center(key.path, key.row)[0]
    hours = 10.17 - lon / 15.0 + (catalog.unit_hash("time", *key) - 0.5) * 0.02
    return dt.datetime.fromordinal(key.day) + dt.timedelta(hours=hours % 24.0)


def _sun(key: SceneKey) -> tuple[float, float]:
    """(elevation, azimuth) in degrees at the scene centre, from a textbook solar model."""
    lat = wrs.scene_center(key.path, key.row)[1]
    doy = dt.date.fromordinal(key.day).timetuple().tm_yday
    decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + doy) / 365.0)
    hour_angle = math.radians(-28.0)  # about 10:10 local solar time
    phi = math.radians(lat)
    sin_el = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour_angle)
    el = math.asin(max(-1.0, min(1.0, sin_el)))
    cos_az = (math.sin(decl) - math.sin(el) * math.sin(phi)) / max(
        math.cos(el) * math.cos(phi), 1e-9
    )
    az = math.degrees(math.acos(max(-1.0, min(1.0, cos_az))))
    return math.degrees(el), az


def _stamp(t: dt.datetime) -> str:
    return f"{t.year}:{t.timetuple().tm_yday:03d}:{t:%H:%M:%S}.{t.microsecond:06d}0"


def _geometry(key: SceneKey) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    pts = corners(key)
    for name, (lon, lat) in pts.items():
        label = "Center" if name == "Center" else f"{name} Corner"
        lat_name = "Center Latitude" if name == "Center" else f"{label} Lat"
        lon_name = "Center Longitude" if name == "Center" else f"{label} Long"
        out.append((lat_name, "coordinates_degrees", _dms(lat, "N", "S")))
        out.append((lon_name, "coordinates_degrees", _dms(lon, "E", "W")))
    for name, (lon, lat) in pts.items():
        label = "Center" if name == "Center" else f"{name} Corner"
        lat_name = "Center Latitude dec" if name == "Center" else f"{label} Lat dec"
        lon_name = "Center Longitude dec" if name == "Center" else f"{label} Long dec"
        out.append((lat_name, "coordinates_decimal", f"{lat:.5f}"))
        out.append((lon_name, "coordinates_decimal", f"{lon:.5f}"))
    return out


Field = tuple[str, str, Any]  # (fieldName, dictionary anchor, value)


def _identity(key: SceneKey, level: int, today: int) -> list[Field]:
    """Identifiers, dates, grid position and pointing."""
    roll = (catalog.unit_hash("roll", *key) - 0.5) * 30 if off_nadir(key) else 0.0
    fields: list[Field] = []
    if level == 2:
        fields.append(
            (
                "Landsat Product Identifier L2",
                "landsat_product_id",
                catalog.display_id(key, 2, today),
            )
        )
    fields += [
        ("Landsat Product Identifier L1", "landsat_product_id", catalog.display_id(key, 1, today)),
        ("Landsat Scene Identifier", "landsat_scene_id", catalog.entity_id(key)),
        ("Acquisition Date", "acquisition_date", _ymd_slash(key.day)),
        ("Collection Category", "collection_category", catalog.tier(key, level, today)),
        ("Collection Number", "collection_number", 2),
        ("WRS Path", "wrs_path", f" {key.path:03d}"),
        ("WRS Row", "wrs_row", f" {key.row:03d}"),
        ("Target WRS Path", "target_wrs_path", f" {key.path:03d}"),
        ("Target WRS Row", "target_wrs_row", f" {key.row:03d}"),
        ("Nadir/Off Nadir", "nadir_offnadir", attribute(key, "nadir", level, today)),
        ("Roll Angle", "roll_angle", f"{roll:.3f}"),
        ("Date L-1 Generated", "date_l1_generated", attribute(key, "date_l1", level, today)),
    ]
    if level == 2:
        generated = attribute(key, "date_l2", level, today)
        fields.append(("Date Product Generated L2", "date_product_generated", generated))
    return fields


def _processing(key: SceneKey, today: int) -> list[Field]:
    """Timing, cloud, geometric quality, sun angles and processing inputs."""
    h = catalog.unit_hash
    start = _scene_time(key)
    elevation, azimuth = _sun(key)
    cloud = f"{catalog.cloud_cover(key):.2f}"
    rmse = 4 + h("rmse", *key) * 6
    rt = catalog.is_real_time(key, 1, today)
    gcp = 100 + int(h("gcp", *key) * 500)
    return [
        ("Start Time", "start_time", _stamp(start)),
        ("Stop Time", "stop_time", _stamp(start + dt.timedelta(seconds=31.77))),
        ("Station Identifier", "distribution_site", "LGN"),
        ("Day/Night Indicator", "day_or_night", "DAY"),
        ("Land Cloud Cover", "cloud_cover_land", cloud),
        ("Scene Cloud Cover", "cloud_cover", cloud),
        ("Ground Control Points Model", "ground_control_points_model", gcp),
        ("Ground Control Points Version", "ground_control_points_version", 5),
        ("Geometric RMSE Model (meters)", "geometric_rmse_model", f"{rmse:.3f}"),
        ("Geometric RMSE Model X", "geometric_rmse_model_x", f"{rmse * 0.69:.3f}"),
        ("Geometric RMSE Model Y", "geometric_rmse_model_y", f"{rmse * 0.72:.3f}"),
        ("Image Quality", "image_quality_landsat_8", image_quality(key)),
        ("Processing Software Version", "processing_software_version", "LPGS_16.4.0"),
        ("Sun Elevation L1", "sun_elevation", f"{elevation:.8f}"),
        ("Sun Azimuth L1", "sun_azimuth", f"{azimuth:.8f}"),
        ("TIRS SSM Model", "tirs_ssm_model", "PRELIMINARY" if rt else "FINAL"),
        ("Data Type Level-1", "data_type_l1", "OLI_TIRS_L1TP"),
        ("Sensor Identifier", "sensor_id", "OLI_TIRS"),
        ("Satellite", "satellite", key.sat),
    ]  # fmt: skip


def _image(key: SceneKey) -> list[Field]:
    """Image size, projection and calibration files."""
    acq = dt.date.fromordinal(key.day)
    lon = wrs.scene_center(key.path, key.row)[0]
    quarter = (acq.month - 1) // 3 * 3 + 1
    day = f"{acq:%Y%m%d}"
    cpf = f"LC0{key.sat}CPF_{acq.year}{quarter:02d}01_02.01"
    return [
        ("Panchromatic Lines", "panchromatic_lines", 15481),
        ("Panchromatic Samples", "panchromatic_samples", 15321),
        ("Reflective Lines", "reflective_lines", 7741),
        ("Reflective Samples", "reflective_samples", 7661),
        ("Thermal Lines", "thermal_lines", 7741),
        ("Thermal Samples", "thermal_samples", 7661),
        ("Map Projection Level-1", "map_projection_l1", "UTM"),
        ("UTM Zone", "utm_zone", int((lon + 180.0) / 6.0) % 60 + 1),
        ("Datum", "datum", "WGS84"),
        ("Ellipsoid", "ellipsoid", "WGS84"),
        ("Grid Cell Size Panchromatic", "grid_cell_size_panchromatic", "15.00"),
        ("Grid Cell Size Reflective", "grid_cell_size_reflective", "30.00"),
        ("Grid Cell Size Thermal", "grid_cell_size_thermal", "30.00"),
        ("Bias Parameter File Name OLI", "bpf_name_oli", f"LO8BPF{day}131106_{day}135741.02"),
        ("Bias Parameter File Name TIRS", "bpf_name_tirs", f"LT8BPF{day}063150_{day}100527.02"),
        ("Calibration Parameter File", "cpf_name", cpf),
        ("RLUT File Name", "rlut_file_name", f"LC0{key.sat}RLUT_20150303_20431231_02_01.h5"),
    ]  # fmt: skip


def _full_values(key: SceneKey, level: int, today: int) -> list[Field]:
    return _identity(key, level, today) + _processing(key, today) + _image(key) + _geometry(key)


def field_id(name: str, level: int) -> str:
    """A stable 16-hex id for a metadata field (real ids are not recorded for C2)."""
    return f"{int(catalog.unit_hash('field', name, level) * 2**64):016x}"


def full(key: SceneKey, level: int, today: int) -> list[JSON]:
    """``metadataType: full``: the recorded field set with Collection 2 values."""
    return [
        _field(field_id(name, level), name, anchor, value)
        for name, anchor, value in _full_values(key, level, today)
    ]
