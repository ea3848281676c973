"""Case 9: parsers under fuzzing. The M2M envelope parser (M2MClient against a mocked
endpoint fed arbitrary statuses, headers and bodies) lets only M2mdlError escape; the AOI,
Content-Range and file-name fuzz tests of the other suites exist."""

from __future__ import annotations

import contextlib
import importlib
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m2mdl.api import M2MClient
from m2mdl.envelope import ERRORS, RetryPolicy
from m2mdl.errors import M2mdlError

pytestmark = pytest.mark.reliability

BASE = "https://m2m.example.invalid/api/api/json/stable/"
ANY_ENDPOINT = re.compile(re.escape(BASE) + ".*")

JSON_LEAF = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "results",
    "totalHits",
    "recordsReturned",
    "nextRecord",
    "startingNumber",
    "availableDownloads",
    "preparingDownloads",
    "failed",
    "duplicateProducts",
    "requested",
    "available",
    "entityId",
    "displayId",
    "url",
    "downloadId",
    "secondaryDownloads",
    "fileGroups",
    "filesize",
    "datasetAlias",
    "datasetId",
    "coordinates",
    "secondary",
]
DATA = st.recursive(
    JSON_LEAF | st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=20,
)
CODES = (
    st.none()
    | st.sampled_from([*sorted(ERRORS), "SERVER_ERROR", "DOWNLOAD_ERROR", "UNKNOWN", ""])
    | st.text(max_size=10)
)
ENVELOPE = st.fixed_dictionaries(
    {"data": DATA},
    optional={
        "errorCode": CODES,
        "errorMessage": st.none() | st.text(max_size=30),
        "requestId": JSON,
        "version": JSON,
        "sessionId": JSON,
    },
)
BODY = (
    ENVELOPE.map(lambda e: json.dumps(e).encode())
    | JSON.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=200)
    | st.text(max_size=200).map(str.encode)
    | st.just(b"<html><body>502 Bad Gateway</body></html>")
)
#: 204/205/304 cannot carry a body; the mock would raise for one that a real socket never
#: delivers (the truncated-body case is tested for real in test_api_faults).
STATUS = (
    st.sampled_from([200, 200, 200, 201, 400, 401, 403, 404, 405, 429, 500, 502, 503, 504])
    | st.integers(200, 599)
).filter(lambda s: s not in {204, 205, 304})
HEADERS = st.dictionaries(
    st.sampled_from(["Retry-After", "Content-Type"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    max_size=2,
)

CALLS: dict[str, Callable[[M2MClient], Any]] = {
    "call": lambda c: c.call("scene-search", {"datasetName": "x"}),
    "scene_search": lambda c: c.scene_search("landsat_ot_c2_l2", {}),
    "iter_search_pages": lambda c: list(
        c.iter_search_pages("landsat_ot_c2_l2", {}, limit=250, page_size=100)
    ),
    "download_options": lambda c: c.download_options("landsat_ot_c2_l2", list_id="l"),
    "download_request": lambda c: c.download_request(
        "l", downloads=[{"entityId": "e", "productId": "p"}]
    ),
    "download_retrieve": lambda c: c.download_retrieve("l").ready(),
    "dataset": lambda c: c.dataset("landsat_ot_c2_l2"),
    "dataset_file_groups": lambda c: c.dataset_file_groups("landsat_ot_c2_l2"),
    "dataset_filter_ids": lambda c: c.dataset_filter_ids("landsat_ot_c2_l2"),
    "scene_list_add": lambda c: c.scene_list_add("l", "landsat_ot_c2_l2", ["e"]),
    "download_labels": lambda c: c.download_labels(),
    "grid2ll": lambda c: c.grid2ll(68, 17),
    "permissions": lambda c: c.permissions(),
    "login": lambda c: c.login("demo", "tok"),
}


@pytest.mark.parametrize("method", list(CALLS))
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(answers=st.lists(st.tuples(STATUS, HEADERS, BODY), min_size=1, max_size=4))
def test_envelope_parser_raises_only_m2mdl_errors(
    method: str, answers: list[tuple[int, dict[str, str], bytes]]
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for status, headers, body in answers:  # served in order, the last one repeats
            mock.add(responses.POST, ANY_ENDPOINT, body=body, status=status, headers=headers)
        client = M2MClient(
            BASE,
            requests.Session(),
            api_key="key",
            credentials=lambda: ("demo", "tok"),
            retry=RetryPolicy(attempts=3, base=0.0, cap=0.0),
            sleep=lambda seconds: None,
        )
        with contextlib.suppress(M2mdlError):  # anything else fails the example
            CALLS[method](client)


HYPOTHESIS_SUITES = {
    "tests.test_aoi": [
        "test_parse_geojson_raises_only_aoi_error",
        "test_aoi_from_wkt_raises_only_aoi_error",
    ],
    "tests.transfer.test_parsers": [
        "test_content_range_never_crashes",
        "test_content_range_roundtrip",
        "test_content_disposition_never_crashes",
        "test_content_disposition_then_safe_join",
        "test_safe_join_always_inside",
    ],
}


@pytest.mark.parametrize("module", list(HYPOTHESIS_SUITES))
def test_other_parsers_have_hypothesis_tests(module: str) -> None:
    mod = importlib.import_module(module)
    for name in HYPOTHESIS_SUITES[module]:
        func = getattr(mod, name, None)
        assert func is not None, f"{module}.{name} is missing"
        assert hasattr(func, "hypothesis"), f"{module}.{name} is not a hypothesis test"


#: Well-formed envelopes whose ``data`` has the wrong shape (found by the fuzzer above or
#: by reading the parsers); each must end in an M2mdlError, never in a TypeError & co.
ODD_DATA: list[tuple[str, Any]] = [
    ("scene_search", {"results": 5}),
    ("scene_search", {"results": [{"entityId": []}], "totalHits": "many"}),
    ("iter_search_pages", {"results": True, "totalHits": 3, "nextRecord": 2}),
    ("download_options", True),
    ("download_options", [{"secondaryDownloads": 3}]),
    ("dataset_filter_ids", 1),
    ("download_labels", 2.5),
    ("dataset_file_groups", {"secondary": [1]}),
    ("dataset_file_groups", {"secondary": {"x": {"files": 3}}}),
    ("grid2ll", {"coordinates": [{"longitude": "a", "latitude": 1}]}),
    ("grid2ll", {"coordinates": [{}]}),
    ("download_request", {"availableDownloads": True, "failed": 1}),
    ("download_retrieve", {"available": 5, "requested": "x"}),
    ("permissions", 7),
    ("login", ["not", "a", "key"]),
]


@pytest.mark.parametrize(
    ("method", "data"), ODD_DATA, ids=[f"{m}-{i}" for i, (m, _d) in enumerate(ODD_DATA)]
)
def test_envelope_with_odd_data_raises_only_m2mdl_errors(method: str, data: Any) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, ANY_ENDPOINT, json={"data": data, "errorCode": None})
        client = M2MClient(
            BASE,
            requests.Session(),
            api_key="key",
            retry=RetryPolicy(attempts=1),
            sleep=lambda seconds: None,
        )
        with contextlib.suppress(M2mdlError):
            CALLS[method](client)
