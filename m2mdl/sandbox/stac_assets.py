"""Asset tables of USGS STAC 1.0.0 documents for Landsat 8/9 OLI/TIRS products.

Keys, titles and band names follow the recorded 1.0.0 documents (docs/design.md, "STAC
and checksums"): common-name keys for bands (``red`` → ``SR_B4.TIF``), ``qa_pixel``,
``qa_radsat``, file-suffix keys for metadata (``MTL.txt``, ``ANG.txt``). The key of the
OLI/TIRS ST band 10 is not recorded; ``lwir11`` (as in Level-1) is the sandbox's choice.
"""

from __future__ import annotations

from dataclasses import dataclass

GEOTIFF = "image/vnd.stac.geotiff; cloud-optimized=true"

#: common name → (band name, centre wavelength µm, title)
OLI_BANDS: dict[str, tuple[str, float, str]] = {
    "coastal": ("B1", 0.44, "Coastal/Aerosol Band (B1)"),
    "blue": ("B2", 0.48, "Blue Band (B2)"),
    "green": ("B3", 0.56, "Green Band (B3)"),
    "red": ("B4", 0.65, "Red Band (B4)"),
    "nir08": ("B5", 0.86, "Near Infrared Band 0.8 (B5)"),
    "swir16": ("B6", 1.6, "Short-wave Infrared Band 1.6 (B6)"),
    "swir22": ("B7", 2.2, "Short-wave Infrared Band 2.2 (B7)"),
    "pan": ("B8", 0.59, "Panchromatic Band (B8)"),
    "cirrus": ("B9", 1.37, "Cirrus Band (B9)"),
    "lwir11": ("B10", 10.9, "Thermal Infrared Band 10.9 (B10)"),
    "lwir12": ("B11", 12.0, "Thermal Infrared Band 12.0 (B11)"),
}


@dataclass(frozen=True)
class AssetDef:
    """One asset: key, file suffix (None for ``index``), title, media type, roles, band."""

    key: str
    suffix: str | None
    title: str
    media_type: str
    roles: tuple[str, ...]
    band: str | None = None  # common name in OLI_BANDS


def _common(product: str) -> list[AssetDef]:
    return [
        AssetDef("thumbnail", "thumb_small.jpeg", "Thumbnail image", "image/jpeg", ("thumbnail",)),
        AssetDef(
            "reduced_resolution_browse",
            "thumb_large.jpeg",
            "Reduced resolution browse image",
            "image/jpeg",
            ("overview",),
        ),
        AssetDef("index", None, "HTML index page", "text/html", ("metadata",)),
        AssetDef(
            "MTL.json",
            "MTL.json",
            "Product Metadata File (json)",
            "application/json",
            ("metadata",),
        ),
        AssetDef("ANG.txt", "ANG.txt", "Angle Coefficients File", "text/plain", ("metadata",)),
        AssetDef("MTL.txt", "MTL.txt", "Product Metadata File", "text/plain", ("metadata",)),
        AssetDef(
            "MTL.xml", "MTL.xml", "Product Metadata File (xml)", "application/xml", ("metadata",)
        ),
        AssetDef(
            "qa_pixel",
            "QA_PIXEL.TIF",
            "Pixel Quality Assessment Band",
            GEOTIFF,
            ("cloud", "cloud-shadow", "snow-ice", "water-mask"),
        ),
        AssetDef(
            "qa_radsat",
            "QA_RADSAT.TIF",
            "Radiometric Saturation Quality Assessment Band",
            GEOTIFF,
            ("saturation",),
        ),
    ]


def _band(key: str, suffix: str, roles: tuple[str, ...] = ("data",)) -> AssetDef:
    return AssetDef(key, suffix, OLI_BANDS[key][2], GEOTIFF, roles, key)


def _sr() -> tuple[AssetDef, ...]:
    bands = [
        _band(key, f"SR_B{n}.TIF", ("data",) if n < 5 else ("data", "reflectance"))
        for n, key in enumerate(("coastal", "blue", "green", "red", "nir08", "swir16", "swir22"), 1)
    ]
    aerosol = AssetDef(
        "qa_aerosol",
        "SR_QA_AEROSOL.TIF",
        "Aerosol Quality Analysis Band",
        GEOTIFF,
        ("metadata", "data-mask", "water-mask"),
    )
    return tuple(_common("SR") + bands + [aerosol])


def _st() -> tuple[AssetDef, ...]:
    extra = [_band("lwir11", "ST_B10.TIF", ("data", "temperature"))]
    titles = {
        "ATRAN": "Atmospheric Transmittance Band",
        "CDIST": "Cloud Distance Band",
        "DRAD": "Downwelled Radiance Band",
        "URAD": "Upwelled Radiance Band",
        "TRAD": "Thermal Radiance Band",
        "EMIS": "Emissivity Band",
        "EMSD": "Emissivity Standard Deviation Band",
        "QA": "Surface Temperature Quality Assessment Band",
    }
    extra += [AssetDef(k, f"ST_{k}.TIF", t, GEOTIFF, ("data",)) for k, t in titles.items()]
    return tuple(_common("ST") + extra)


def _l1() -> tuple[AssetDef, ...]:
    bands = [_band(key, f"B{OLI_BANDS[key][0][1:]}.TIF") for key in OLI_BANDS]
    angles = {
        "VAA": "View Azimuth Angle Band",
        "VZA": "View Zenith Angle Band",
        "SAA": "Solar Azimuth Angle Band",
        "SZA": "Solar Zenith Angle Band",
    }
    extra = [AssetDef(k, f"{k}.TIF", t, GEOTIFF, ("data",)) for k, t in angles.items()]
    return tuple(_common("L1") + bands + extra)


#: STAC kind ("SR", "ST", "L1") → its assets, in document order.
ASSETS: dict[str, tuple[AssetDef, ...]] = {"SR": _sr(), "ST": _st(), "L1": _l1()}
