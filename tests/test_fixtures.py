"""Recorded real responses: provenance is intact, and the client parses every one.

tests/data/m2m-real/ (M2M API) and tests/data/stac-real/ (USGS STAC documents) are byte-for-byte
copies of responses that public projects recorded; each folder's README names the source
(repository @ commit : path) and lists every file's SHA-256, which is checked here.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses

from m2mdl.api import M2MClient
from m2mdl.models import band_of
from m2mdl.workflow.fetch import _key_from_url

from .conftest import DATA
from .helpers import API

REAL = DATA / "m2m-real"

# file -> (endpoint, call, check)
Call = Callable[[M2MClient], Any]
CASES: dict[str, tuple[str, Call, Callable[[Any], object]]] = {
    "castuofa-2020-dataset-search.json": (
        "dataset-search",
        lambda c: c.dataset_search("corona"),
        lambda r: (len(r) == 2 and all(d.dataset_id for d in r)) or pytest.fail(str(r)),
    ),
    "castuofa-2020-dataset.json": (
        "dataset",
        lambda c: c.dataset("corona2"),
        lambda r: (
            (r.alias == "corona2" and r.dataset_id == "5e839febdccb64b3") or pytest.fail(str(r))
        ),
    ),
    "castuofa-2020-download-options.json": (
        "download-options",
        lambda c: c.download_options("corona2", entity_ids=["x"]),
        lambda r: (r[0].filesize and r[0].available is True) or pytest.fail(str(r)),
    ),
    "castuofa-2020-download-request.json": (
        "download-request",
        lambda c: c.download_request("l", downloads=[{"entityId": "e", "productId": "p"}]),
        lambda r: (
            (
                r.preparing[0].url
                and r.new_records == {10545324: "download-sample"}
                and r.duplicates == {}
            )
            or pytest.fail(str(r))
        ),
    ),
    "castuofa-2020-download-retrieve.json": (
        "download-retrieve",
        lambda c: c.download_retrieve("download-sample"),
        lambda r: list(r.ready()) == [10545324] or pytest.fail(str(r)),
    ),
    "castuofa-2020-scene-search.json": (
        "scene-search",
        lambda c: c.scene_search("corona2", {}),
        lambda r: (
            (
                len(r.scenes) == 3
                and r.next_record == 101
                and r.total_hits == 836454
                and r.scenes[0].cloud_cover is None
            )
            or pytest.fail(str(r))
        ),
    ),
    "kapadia-2021-dataset-download-options.json": (
        "dataset-download-options",
        lambda c: c.dataset_download_options("landsat_8_c1"),
        lambda r: (len(r) == 5 and all(p.product_id for p in r)) or pytest.fail(str(r)),
    ),
    "kapadia-2021-dataset-fields.json": (
        "dataset-filters",
        lambda c: c.dataset_filter_ids("landsat_8_c1"),
        lambda r: len(r) == 14 or pytest.fail(str(r)),
    ),
    "kapadia-2021-dataset-search-landsat-only.json": (
        "dataset-search",
        lambda c: c.dataset_search("landsat"),
        lambda r: (len(r) == 16 and all(d.alias for d in r)) or pytest.fail(str(r)),
    ),
    "kapadia-2021-download-options.json": (
        "download-options",
        lambda c: c.download_options("landsat_8_c1", entity_ids=["x"]),
        lambda r: (len(r) == 5 and r[0].download_system == "wms") or pytest.fail(str(r)),
    ),
    "kapadia-2021-download-request.json": (
        "download-request",
        lambda c: c.download_request("l", downloads=[{"entityId": "e", "productId": "p"}]),
        lambda r: (
            (len(r.preparing) == 1 and r.new_records and not r.available) or pytest.fail(str(r))
        ),
    ),
    "kapadia-2021-scene-metadata.json": (
        "scene-metadata",
        lambda c: c.scene_metadata("landsat_8_c1", "LC82260782020217LGN00"),
        lambda r: (
            (
                r.cloud_cover == pytest.approx(0.03)
                and r.path_row() == (226, 78)
                and r.acquired is not None
            )
            or pytest.fail(str(r))
        ),
    ),
    "kapadia-2021-scene-search.json": (
        "scene-search",
        lambda c: c.scene_search("landsat_8_c1", {}),
        lambda r: (
            (
                len(r.scenes) == 1
                and r.total_hits == 1
                and r.next_record == 1
                and r.scenes[0].cloud_cover == pytest.approx(44.79)
            )
            or pytest.fail(str(r))
        ),
    ),
}


def test_every_recorded_json_file_has_a_case() -> None:
    names = {p.name for p in REAL.glob("*.json")}
    assert names == set(CASES)


_DIGEST_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)$", re.MULTILINE)


def _listed_digests(folder: str) -> dict[str, str]:
    """The ``sha256  name`` lines of a fixture folder's README."""
    readme = (DATA / folder / "README.md").read_text(encoding="utf-8")
    return {name: digest for digest, name in _DIGEST_LINE.findall(readme)}


@pytest.mark.parametrize("folder", ["m2m-real", "stac-real"])
def test_recorded_files_match_their_listed_sha256(folder: str) -> None:
    """Every recorded file is listed in its README, unchanged, and nothing listed is missing."""
    listed = _listed_digests(folder)
    present = {p.name for p in (DATA / folder).iterdir() if p.name != "README.md"}
    assert present == set(listed)
    for name, digest in listed.items():
        data = (DATA / folder / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name


@pytest.mark.parametrize("folder", ["m2m-real", "stac-real"])
def test_recorded_files_name_a_public_source(folder: str) -> None:
    """A provenance row (repository @ full commit, or "same" as the row above) covers each file."""
    readme = (DATA / folder / "README.md").read_text(encoding="utf-8")
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in readme.splitlines()
        if line.startswith("| ") and not line.startswith("| file ")
    ]
    assert re.search(r"[\w.-]+/[\w.-]+ @ [0-9a-f]{40}", rows[0][-1]), rows[0]
    sourced = [
        row[0]
        for row in rows
        if re.search(r"@ [0-9a-f]{40} :", row[-1]) or row[-1].startswith("same")
    ]
    for name in _listed_digests(folder):
        assert any(fnmatch.fnmatchcase(name, pattern) for pattern in sourced), name


@pytest.mark.parametrize("name", sorted(CASES))
@responses.activate
def test_client_parses_recorded_response(name: str) -> None:
    endpoint, call, check = CASES[name]
    responses.post(API + endpoint, body=(REAL / name).read_text(encoding="utf-8"))
    client = M2MClient(API, requests.Session(), api_key="key")
    check(call(client))


NOTEBOOK = REAL / "usgs-notebook-2025-04-24-anchorage-outputs.txt"


def test_notebook_urls_map_to_their_files() -> None:
    """Every landsatlook URL printed by the official notebook maps back to its file name."""
    text = NOTEBOOK.read_text(encoding="utf-8")
    urls = re.findall(r"https://landsatlook\.usgs\.gov/\S+?requestSignature=[A-Za-z0-9=+/]+", text)
    assert len(urls) >= 16
    for url in urls:
        name = url.split("?")[0].rsplit("/", 1)[-1]
        if "gen-bundle" in url:
            product = url.split("landsat_product_id=")[1].split("&")[0]
            assert _key_from_url(url, {}, {product: "k"}) == "k"
        else:
            assert _key_from_url(url, {name: "k"}, {}) == "k"
            assert band_of(name) in {"SR_B4", "ST_B10", "ANG.txt", "QA_PIXEL"} or band_of(
                name
            ).startswith(("SR_", "ST_", "QA_", "MTL"))


def test_notebook_secondary_entity_ids_parse() -> None:
    text = NOTEBOOK.read_text(encoding="utf-8")
    ids = set(re.findall(r"L2S[RT]_(LC0[89]_L2SP_\d{6}_\d{8}_\d{8}_02_T1)_([A-Z0-9_]+)", text))
    assert ids
    for display_id, suffix in ids:
        assert display_id.count("_") == 6
        assert suffix.split("_")[0] in {"SR", "ST", "QA", "ANG", "MTL"}
