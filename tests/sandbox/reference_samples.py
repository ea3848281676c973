"""Sample answers (``data``) of the official M2M JSON API reference page.

Copied from https://m2m.cr.usgs.gov/api/docs/reference/ (a copy clipped on 2025-05-30 is in
https://github.com/stawils/amazone-discovery @ 9b2944b3) for the endpoints that have no
recorded real answer in tests/data/m2m-real, plus scene-metadata and download-retrieve. The
samples are partly synthetic; the recorded answers win where they differ. Only the samples
that are valid JSON on the page are here (the dataset-download-options sample lost its
"..." entry).
"""

from __future__ import annotations

from typing import Any

SAMPLES: dict[str, Any] = {
    "dataset-download-options": [
        {
            "productId": "5e7c4182c28455fb",
            "productCode": "D622",
            "productName": "Full Resolution Reflective Browse",
            "downloadName": None,
            "downloadSystem": "wms",
            "fileGroups": None,
        }
    ],
    "download-retrieve": {
        "eulas": [],
        "available": [
            {
                "url": "https://dds.cr.usgs.gov/download/eyJpZCI6MTYyMDk3MiwiY29udGFjdElkIjozMTQ0NTh9",
                "label": "test",
                "entityId": "26162",
                "eulaCode": None,
                "filesize": 622623982,
                "datasetId": "5e83a42ca9977c30",
                "displayId": (
                    "S2A_OPER_MSI_L1C_TL_MTI__20160116T172531_20160116T203906"
                    "_A002969_T15TUE_N02_01_01"
                ),
                "downloadId": 1620972,
                "statusCode": "A",
                "statusText": "Available",
                "productCode": "D557",
                "productName": "SENTINEL 2 DOWNLOAD",
                "collectionName": "Sentinel-2",
            }
        ],
        "queueSize": 1,
        "requested": [],
    },
    "grid2ll": {
        "shape": "point",
        "coordinates": [{"latitude": 76.47055372032352, "longitude": -24.019378579142632}],
    },
    "notifications": [
        {
            "id": 46,
            "subject": "Test Informational Notification",
            "dateUpdated": "2020-09-18 14:57:00-05",
            "severityCode": "I",
            "severityText": "Informational",
            "messageContent": "This is a INFORMATIONAL test notification.",
            "severityCssClass": "alert-info",
        }
    ],
    "permissions": ["download", "order"],
    "rate-limit-summary": {
        "initialLimits": [
            {
                "recentDownloadCount": 15000,
                "pendingDownloadCount": 20000,
                "unattemptedDownloadCount": 20000,
            }
        ],
        "remainingLimits": [
            {
                "limitType": "user",
                "username": "mwang",
                "recentDownloadCount": 14999,
                "pendingDownloadCount": 20000,
                "unattemptedDownloadCount": 19995,
            },
            {
                "limitType": "ip",
                "ipAddress": "10.209.64.55",
                "recentDownloadCount": 14999,
                "pendingDownloadCount": 20000,
                "unattemptedDownloadCount": 19998,
            },
        ],
        "recentDownloadCounts": [
            {
                "countType": "username",
                "username": "user_name",
                "downloadCounts": [{"status": "Available", "downloadCount": 1}],
            },
            {
                "countType": "ip",
                "ipAddress": "10.209.64.55",
                "downloadCounts": [{"status": "Available", "downloadCount": 1}],
            },
        ],
    },
    "scene-list-get": [{"entityId": "LC80120252020366LGN00", "datasetName": "landsat_ot_c2_l2"}],
    "scene-list-summary": {
        "summary": {
            "sceneCount": "7",
            "spatialBounds": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [-98.7053, 42.11176],
                        [-98.7053, 44.2421],
                        [-95.65984, 44.2421],
                        [-95.65984, 42.11176],
                        [-98.7053, 42.11176],
                    ]
                ],
            },
            "temporalExtent": {"max": "2017-10-11 00:00:00-05", "min": "1999-12-05 00:00:00-06"},
        },
        "datasets": [
            {
                "sceneCount": 4,
                "datasetName": "lsr_landsat_etm_c1",
                "listTimeout": 1646991,
                "spatialBounds": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [-98.7053, 42.2031],
                            [-98.7053, 44.1573],
                            [-95.65984, 44.1573],
                            [-95.65984, 42.2031],
                            [-98.7053, 42.2031],
                        ]
                    ],
                },
                "temporalExtent": {
                    "max": "2014-06-21 00:00:00-05",
                    "min": "1999-12-05 00:00:00-06",
                },
            }
        ],
    },
    "scene-metadata": {
        "browse": [
            {
                "id": "5fb4ba12d7ec307f",
                "browseRotationEnabled": False,
                "browseName": "Level-1 Reflective Browse",
                "browsePath": "https://landsatlook.usgs.gov/gen-browse?size=rrb&type=refl&product_id=LC08_L1TP_012025_20201231_20210308_02_T1",
                "overlayPath": "https://landsatlook.usgs.gov/dynamic-tiler/scenes/LC08_L1TP_012025_20201231_20210308_02_T1/tiles/{z}/{x}/{y}.png?layer=natural_color",
                "overlayType": "ls_chs",
                "thumbnailPath": "https://landsatlook.usgs.gov/gen-browse?size=thumb&type=refl&product_id=LC08_L1TP_012025_20201231_20210308_02_T1",
            }
        ],
        "cloudCover": "41.90",
        "entityId": "LC80120252020366LGN00",
        "displayId": "LC08_L2SP_012025_20201231_20210308_02_T1",
        "orderingId": "LC80120252020366LGN00",
        "metadata": [
            {
                "id": "5e83d1507bc900d5",
                "fieldName": "Landsat Product Identifier L2",
                "dictionaryLink": "https://www.usgs.gov/centers/eros/science/landsat-collection-2-data-dictionary\n"
                "#landsat_product_id",
                "value": "LC08_L2SP_012025_20201231_20210308_02_T1",
            },
            {
                "id": "5e83d15012b8905f",
                "fieldName": "Landsat Product Identifier L1",
                "dictionaryLink": "https://www.usgs.gov/centers/eros/science/landsat-collection-2-data-dictionary\n"
                "#landsat_product_id",
                "value": "LC08_L1TP_012025_20201231_20210308_02_T1",
            },
        ],
        "hasCustomizedMetadata": False,
        "options": {"bulk": True, "download": True, "order": False, "secondary": False},
        "selected": None,
        "spatialBounds": {
            "type": "Polygon",
            "coordinates": [
                [
                    [-69.78196, 49.19588],
                    [-69.78196, 51.34911],
                    [-66.46442, 51.34911],
                    [-66.46442, 49.19588],
                    [-69.78196, 49.19588],
                ]
            ],
        },
        "spatialCoverage": {
            "type": "Polygon",
            "coordinates": [
                [
                    [-69.78196, 49.6473],
                    [-67.23413, 49.19588],
                    [-66.46442, 50.89056],
                    [-69.10195, 51.34911],
                    [-69.78196, 49.6473],
                ]
            ],
        },
        "temporalCoverage": {"endDate": "2020-12-31 00:00:00", "startDate": "2020-12-31 00:00:00"},
        "publishDate": "Unknown",
    },
}
