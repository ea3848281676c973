"""Closed sets of option values, as Enums so help and shell completion list them."""

from __future__ import annotations

from enum import Enum


class SearchFormat(str, Enum):
    """``search --output``."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    geojson = "geojson"


class TableOrJson(str, Enum):
    """``options --output``."""

    table = "table"
    json = "json"


class FileType(str, Enum):
    """``download --filetype``."""

    band = "band"
    bundle = "bundle"
    band_group = "band_group"


class SortKey(str, Enum):
    """``search --sort``; a leading ``-`` sorts descending."""

    acquired = "acquired"
    acquired_desc = "-acquired"
    cloud = "cloud"
    cloud_desc = "-cloud"
    path_row = "path_row"
