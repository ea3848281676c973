"""Every error class has its documented exit code and a usable message/hint."""

from __future__ import annotations

import pytest

from m2mdl import errors as e


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (e.InputError, 2),
        (e.ConfigError, 2),
        (e.AoiError, 2),
        (e.LockedError, 2),
        (e.InsecureUrl, 2),
        (e.DatasetNotFound, 2),
        (e.AuthError, 3),
        (e.NotLoggedIn, 3),
        (e.CredentialsRejected, 3),
        (e.AccessDenied, 3),
        (e.CredentialStoreError, 3),
        (e.ApiError, 4),
        (e.RateLimited, 4),
        (e.UnexpectedResponse, 4),
        (e.NetworkError, 5),
        (e.DownloadError, 6),
        (e.DownloadsIncomplete, 6),
        (e.DiskFull, 6),
        (e.Interrupted, 130),
    ],
)
def test_exit_codes(cls: type[e.M2mdlError], code: int) -> None:
    assert int(cls.exit_code) == code
    assert issubclass(cls, e.M2mdlError)


def test_hint_defaults_and_overrides() -> None:
    assert "m2mdl login" in (e.NotLoggedIn("x").hint or "")
    assert e.NotLoggedIn("x", hint="y").hint == "y"
    assert "MACHINE" in (e.AccessDenied("x").hint or "")


def test_api_error_carries_structured_fields() -> None:
    err = e.ApiError("scene-search: X", endpoint="scene-search", code="X", status=200)
    assert (err.endpoint, err.code, err.status, str(err)) == (
        "scene-search",
        "X",
        200,
        "scene-search: X",
    )
