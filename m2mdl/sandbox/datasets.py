"""Dataset records (dataset, dataset-search); the metadata filters live in ``filters``.

Ids, aliases and collection names are the real ones; the records follow the 2021 kapadia
recording and the 2025 official notebook's ``dataset`` answer. Only the Landsat 8-9 OLI/TIRS
datasets and their band-file companions hold scenes; the other Collection 2 datasets are
listed (dataset-search finds them) but searching them returns no scenes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .jsontypes import JSON

L1 = "landsat_ot_c2_l1"
L2 = "landsat_ot_c2_l2"
BAND_L1 = "landsat_band_files_c2_l1"
BAND_L2 = "landsat_band_files_c2_l2"

_KEYWORDS = (
    "Visible Wavelengths,Earth Science,Infrared Wavelengths,Infrared Imagery,Imagery,"
    "Operational Land Imager (OLI),Thermal Infrared Sensor (TIRS),Remote Sensing,Satellite"
)
_ABSTRACT = (
    "Landsat 8-9 Operational Land Imager (OLI) and Thermal Infrared Sensor (TIRS) "
    "Collection 2 products (synthetic sandbox catalog)."
)


@dataclass(frozen=True)
class DatasetDef:
    """The fixed facts of one dataset."""

    alias: str
    dataset_id: str
    collection: str
    long_name: str
    category: str | None
    legacy_id: int | None
    doi: str | None
    scenes: bool  # primary dataset with searchable scenes
    start: str = "2013-03-18"
    end: str | None = None  # acquisitionEnd of a finished mission (recorded in 2021)


DATASETS: dict[str, DatasetDef] = {
    d.alias: d
    for d in (
        DatasetDef(
            L1,
            "5e81f14f59432a27",
            "Landsat 8-9 OLI/TIRS C2 L1",
            "Landsat 8-9 Operational Land Imager and Thermal Infrared Sensor Collection 2 Level-1",
            "Landsat Collection 2 Level-1",
            9825,
            "https://doi.org/10.5066/P975CC9B",
            True,
        ),
        DatasetDef(
            L2,
            "5e83d14f2fc39685",
            "Landsat 8-9 OLI/TIRS C2 L2",
            "Landsat 8-9 Operational Land Imager and Thermal Infrared Sensor Collection 2 Level-2",
            "Landsat Collection 2 Level-2",
            9885,
            "https://doi.org/10.5066/P9OGBGM6",
            True,
        ),
        DatasetDef(
            BAND_L1,
            "5e81ff5f86d11d08",
            "Landsat C2 L1 Band Files",
            "Landsat Collection 2 Level 1 Band Files",
            None,
            None,
            None,
            False,
            "2020-03-30",
        ),
        DatasetDef(
            BAND_L2,
            "5f85f041c828327a",
            "Landsat C2 L2 Band Files",
            "Landsat Collection 2 Level 2 Band Files",
            None,
            None,
            None,
            False,
            "2020-03-30",
        ),
        DatasetDef(
            "landsat_etm_c2_l1",
            "5e83d0d02b146ae0",
            "Landsat 7 ETM+ C2 L1",
            "Landsat 7 Enhanced Thematic Mapper Plus Collection 2 Level-1",
            "Landsat Collection 2 Level-1",
            None,
            None,
            False,
            "1999-07-23",
        ),
        DatasetDef(
            "landsat_etm_c2_l2",
            "5e83d12add5d4aa1",
            "Landsat 7 ETM+ C2 L2",
            "Landsat 7 Enhanced Thematic Mapper Plus Collection 2 Level-2",
            "Landsat Collection 2 Level-2",
            None,
            None,
            False,
            "1999-07-23",
        ),
        DatasetDef(
            "landsat_tm_c2_l1",
            "5e83d0a05ee25348",
            "Landsat 4-5 TM C2 L1",
            "Landsat 4-5 Thematic Mapper Collection 2 Level-1",
            "Landsat Collection 2 Level-1",
            None,
            None,
            False,
            "1982-12-19",
        ),
        DatasetDef(
            "landsat_tm_c2_l2",
            "5e83d1193824e4fc",
            "Landsat 4-5 TM C2 L2",
            "Landsat 4-5 Thematic Mapper Collection 2 Level-2",
            "Landsat Collection 2 Level-2",
            None,
            None,
            False,
            "1982-12-19",
        ),
        DatasetDef(
            "landsat_mss_c2_l1",
            "5e83d0e09a752cff",
            "Landsat 1-5 MSS C2 L1",
            "Landsat 1-5 Multispectral Scanner Collection 2 Level-1",
            "Landsat Collection 2 Level-1",
            None,
            None,
            False,
            "1972-11-13",
            "1985-12-18",
        ),
    )
}

BY_ID = {d.dataset_id: d for d in DATASETS.values()}


def find(name: str | None = None, dataset_id: str | None = None) -> DatasetDef | None:
    """Look a dataset up by alias (case-insensitive) or by datasetId."""
    if name:
        return DATASETS.get(name.strip().lower())
    if dataset_id:
        return BY_ID.get(dataset_id.strip())
    return None


def record(d: DatasetDef, last_day: str, scene_count: int) -> JSON:
    """The Dataset object of dataset/dataset-search (2024/2025 key set)."""
    bounds = None
    if d.scenes:
        # real quirk: east can exceed 180 (2024/2025 notebook outputs)
        bounds = {
            "north": 84.44182683484,
            "east": 197.57652842471,
            "south": -84.5713768075993,
            "west": -180.009966964847,
        }
    return {
        "abstractText": _ABSTRACT if d.scenes else None,
        "acquisitionStart": d.start,
        "acquisitionEnd": d.end,
        "catalogs": ["EE", "GV"] if d.scenes else ["EE"],
        "collectionName": d.collection,
        "collectionLongName": d.long_name,
        "datasetId": d.dataset_id,
        "datasetAlias": d.alias,
        "datasetCategoryName": d.category,
        "dataOwner": "LSAA",
        "dateUpdated": "2024-10-13 03:26:37.019489-05",
        "doiNumber": d.doi,
        "ingestFrequency": "P1D" if d.scenes else "PT1H",
        "keywords": ("None," + _KEYWORDS) if d.scenes else None,
        "legacyId": d.legacy_id,
        "sceneCount": scene_count,
        "spatialBounds": bounds,
        "temporalCoverage": f'["{d.start} 00:00:00-05","{d.end or last_day} 23:54:01-05"]',
        "supportCloudCover": d.scenes,
        "supportDeletionSearch": not d.scenes,
        "allowInKmz": d.scenes,
    }
