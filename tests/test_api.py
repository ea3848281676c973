"""The API client against `responses` mocks: envelope, error mapping, retries, re-login, paging."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import responses
from responses import matchers

from m2mdl import errors
from m2mdl.api import M2MClient
from m2mdl.envelope import ERRORS, RetryPolicy

from .helpers import API, body, sent_json


def client(**kwargs: Any) -> M2MClient:
    kwargs.setdefault("api_key", "key-1")
    kwargs.setdefault("retry", RetryPolicy(attempts=3, base=0.0, cap=0.0))
    kwargs.setdefault("sleep", lambda s: None)
    return M2MClient(API, requests.Session(), **kwargs)


@responses.activate
def test_call_unwraps_data_and_sends_the_key() -> None:
    responses.post(
        API + "permissions",
        body=body(["user", "download"]),
        match=[matchers.header_matcher({"X-Auth-Token": "key-1"})],
    )
    assert client().permissions() == ["user", "download"]


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("AUTH_INVALID", errors.CredentialsRejected),
        ("AUTH_UNAUTHROIZED", errors.AccessDenied),
        ("UNAUTHORIZED_USER", errors.AccessDenied),
        ("DATASET_INVALID", errors.DatasetNotFound),
        ("DATASET_AUTH", errors.DatasetUnavailable),
        ("DATASET_UNAUTHORIZED", errors.DatasetUnavailable),
        ("INPUT_PARAMETER_INVALID", errors.ApiError),
        ("NOT_FOUND", errors.ApiError),
        ("SOMETHING_NEW", errors.ApiError),
    ],
)
@responses.activate
def test_error_codes_map_to_typed_errors(code: str, cls: type[Exception]) -> None:
    responses.post(API + "permissions", body=body(None, code=code, message="nope"))
    with pytest.raises(cls) as info:
        client().permissions()
    assert code in str(info.value) and "nope" in str(info.value)


def test_error_table_covers_the_rate_limit_codes() -> None:
    for code in ("RATE_LIMIT", "RATE_LIMIT_USER", "RATE_LIMIT_USER_DL"):
        assert ERRORS[code] is errors.RateLimited


@responses.activate
def test_error_envelope_with_http_500_is_still_read() -> None:
    responses.post(
        API + "login",
        status=500,
        body=body(None, code="VERSION_UNKNOWN", message="Unknown version used"),
    )
    with pytest.raises(errors.ApiError, match="VERSION_UNKNOWN"):
        client().call("login", {})


@responses.activate
def test_rate_limit_user_is_retried_then_succeeds() -> None:
    responses.post(API + "permissions", body=body(None, code="RATE_LIMIT_USER"))
    responses.post(API + "permissions", body=body(["download"]))
    slept: list[float] = []
    assert client(sleep=slept.append).permissions() == ["download"]
    assert len(responses.calls) == 2 and len(slept) == 1


@responses.activate
def test_rate_limit_gives_up_after_the_budget_with_exit_4() -> None:
    responses.post(API + "permissions", body=body(None, code="RATE_LIMIT"))
    with pytest.raises(errors.RateLimited) as info:
        client().permissions()
    assert len(responses.calls) == 3
    assert info.value.exit_code == 4 and "after retries" in str(info.value)


@responses.activate
def test_retry_after_header_is_honoured() -> None:
    responses.post(
        API + "permissions", status=503, body="<html>busy</html>", headers={"Retry-After": "7"}
    )
    responses.post(API + "permissions", body=body([]))
    slept: list[float] = []
    client(sleep=slept.append, retry=RetryPolicy(attempts=3, base=0, cap=60)).permissions()
    assert slept == [7.0]


@pytest.mark.parametrize(
    ("status", "text"), [(500, "<html>oops</html>"), (502, ""), (200, "not json at all")]
)
@responses.activate
def test_non_json_bodies_are_unexpected_responses(status: int, text: str) -> None:
    responses.post(API + "permissions", status=status, body=text)
    with pytest.raises(errors.UnexpectedResponse) as info:
        client().permissions()
    assert info.value.exit_code == 4
    assert len(responses.calls) == 3  # retried: proxies answer HTML while M2M restarts


@responses.activate
def test_http_404_without_envelope_is_not_retried() -> None:
    responses.post(API + "permissions", status=404, body="<html>no</html>")
    with pytest.raises(errors.UnexpectedResponse):
        client().permissions()
    assert len(responses.calls) == 1


@responses.activate
def test_connection_errors_become_network_errors() -> None:
    responses.post(API + "permissions", body=requests.ConnectionError("refused"))
    with pytest.raises(errors.NetworkError) as info:
        client().permissions()
    assert info.value.exit_code == 5 and len(responses.calls) == 3


@responses.activate
def test_expired_key_logs_in_again_once_and_repeats_the_call() -> None:
    responses.post(
        API + "permissions",
        body=body(None, code="AUTH_EXPIRED", message="API key has expired due to inactivity"),
    )
    responses.post(API + "login-token", body=body("key-2"))
    responses.post(
        API + "permissions",
        body=body(["download"]),
        match=[matchers.header_matcher({"X-Auth-Token": "key-2"})],
    )
    keys: list[str] = []
    c = client(credentials=lambda: ("demo", "tok"), on_new_key=keys.append)
    assert c.permissions() == ["download"]
    assert keys == ["key-2"] and c.api_key == "key-2"
    login_call = responses.calls[1]
    assert sent_json(login_call) == {"username": "demo", "token": "tok"}
    assert "X-Auth-Token" not in login_call.request.headers


@responses.activate
def test_expired_key_twice_is_an_auth_error_not_a_loop() -> None:
    responses.post(API + "permissions", body=body(None, code="AUTH_EXPIRED"))
    responses.post(API + "login-token", body=body("key-2"))
    c = client(credentials=lambda: ("demo", "tok"))
    with pytest.raises(errors.NotLoggedIn):
        c.permissions()
    assert [str(call.request.url).rsplit("/", 1)[1] for call in responses.calls] == [
        "permissions",
        "login-token",
        "permissions",
    ]


@responses.activate
def test_without_credentials_an_expired_key_is_not_logged_in() -> None:
    responses.post(API + "permissions", body=body(None, code="AUTH_EXPIRED"))
    with pytest.raises(errors.NotLoggedIn) as info:
        client().permissions()
    assert info.value.exit_code == 3


def test_no_key_and_no_credentials_is_not_logged_in() -> None:
    with pytest.raises(errors.NotLoggedIn):
        client(api_key=None).permissions()


@responses.activate
def test_wrong_token_is_rejected_with_exit_3() -> None:
    responses.post(
        API + "login-token",
        body=body(None, code="AUTH_INVALID", message="User credential verification failed"),
    )
    with pytest.raises(errors.CredentialsRejected) as info:
        client(api_key=None).login("demo", "wrong")
    assert info.value.exit_code == 3
    assert "wrong" not in str(info.value)


@responses.activate
def test_logout_ignores_an_expired_key() -> None:
    responses.post(API + "logout", body=body(None, code="AUTH_EXPIRED"))
    c = client()
    c.logout()
    assert c.api_key is None


def page(start: int, returned: int, total: int, next_record: int) -> str:
    results = [{"entityId": f"E{start + i}", "displayId": f"D{start + i}"} for i in range(returned)]
    return body(
        {
            "results": results,
            "recordsReturned": returned,
            "totalHits": total,
            "startingNumber": start,
            "nextRecord": next_record,
        }
    )


@responses.activate
def test_paging_follows_next_record_and_stops_at_total_hits() -> None:
    responses.post(API + "scene-search", body=page(1, 2, 5, 3))
    responses.post(API + "scene-search", body=page(3, 2, 5, 5))
    responses.post(API + "scene-search", body=page(5, 1, 5, 5))  # capped at totalHits
    pages = list(client().iter_search_pages("ds", {}, page_size=2))
    assert [s.entity_id for p in pages for s in p.scenes] == [f"E{i}" for i in range(1, 6)]
    assert [sent_json(c)["startingNumber"] for c in responses.calls] == [1, 3, 5]


@responses.activate
def test_paging_handles_the_recorded_one_hit_quirk() -> None:
    responses.post(API + "scene-search", body=page(1, 1, 1, 1))  # nextRecord 1 (kapadia 2021)
    pages = list(client().iter_search_pages("ds", {}, page_size=100))
    assert len(pages) == 1 and len(responses.calls) == 1


@responses.activate
def test_paging_respects_the_limit() -> None:
    responses.post(API + "scene-search", body=page(1, 3, 100, 4))
    pages = list(client().iter_search_pages("ds", {}, limit=3, page_size=10))
    assert sum(len(p.scenes) for p in pages) == 3
    assert sent_json(responses.calls[0])["maxResults"] == 3


@responses.activate
def test_download_request_sends_label_on_every_item() -> None:
    responses.post(
        API + "download-request",
        body=body(
            {
                "availableDownloads": [{"downloadId": 5, "eulaCode": None, "url": "https://x/y"}],
                "duplicateProducts": {"4": "old"},
                "preparingDownloads": [],
                "failed": [],
                "newRecords": {"5": "run"},
                "numInvalidScenes": 0,
            }
        ),
    )
    result = client().download_request("run", downloads=[{"entityId": "e", "productId": "p"}])
    assert sent_json(responses.calls[0])["downloads"] == [
        {"entityId": "e", "productId": "p", "label": "run"}
    ]
    assert result.duplicates == {4: "old"} and result.new_records == {5: "run"}


@responses.activate
def test_debug_log_never_contains_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="m2mdl")
    responses.post(API + "permissions", body=body([]))
    client(api_key="very-secret-key").permissions()
    assert "very-secret-key" not in caplog.text


@responses.activate
def test_rate_limit_user_has_its_own_jittered_bounded_budget() -> None:
    responses.post(API + "permissions", body=body(None, code="RATE_LIMIT_USER"))
    slept: list[float] = []
    policy = RetryPolicy(attempts=2, busy_attempts=50, busy_base=0.25, busy_cap=4, busy_budget=30)
    with pytest.raises(errors.RateLimited) as info:
        client(sleep=slept.append, retry=policy).permissions()
    assert info.value.exit_code == 4
    assert len(slept) > 2, "RATE_LIMIT_USER used the short budget of server errors"
    assert sum(slept) <= 30 and all(0.25 <= s <= 4 for s in slept)
    assert len(set(slept)) > 1, "no jitter: concurrent runs would collide again in step"


@responses.activate
def test_a_redirect_from_the_api_is_an_api_error_naming_the_target() -> None:
    responses.post(
        API + "permissions",
        status=302,
        headers={"Location": "https://elsewhere.example/stable/permissions?sig=s3cret"},
    )
    with pytest.raises(errors.ApiError) as info:
        client().permissions()
    assert info.value.exit_code == 4 and info.value.status == 302
    assert "https://elsewhere.example/stable/permissions" in str(info.value)
    assert "s3cret" not in str(info.value)
    assert len(responses.calls) == 1
