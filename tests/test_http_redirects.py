"""The download session's redirect policy, against real loopback servers (http and https)."""

from __future__ import annotations

from pathlib import Path

import pytest

from m2mdl.http import make_download_session, redirect_allowed
from m2mdl.transfer.errors import FatalHttp

from .reliability.trap import Seen, redirect, self_signed, trap

BODY = b"file bytes"
SECRET_HEADERS = {"X-Auth-Token": "key-123", "Authorization": "Bearer t", "Cookie": "s=1"}


def _file(seen: Seen) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/octet-stream"}, BODY


@pytest.mark.parametrize(
    ("origin", "target", "allowed"),
    [
        ("https://dds.cr.usgs.gov/a", "https://other.example/b", True),
        ("https://dds.cr.usgs.gov/a", "http://other.example/b", False),
        ("https://127.0.0.1:8/a", "http://127.0.0.1:9/b", False),  # no downgrade on loopback
        ("http://127.0.0.1:8/a", "http://localhost:9/b", True),  # the sandbox
        ("http://127.0.0.1:8/a", "http://[::1]:9/b", True),
        ("http://127.0.0.1:8/a", "http://10.0.0.1/b", False),
        ("http://127.0.0.1:8/a", "ftp://127.0.0.1/b", False),
    ],
)
def test_redirect_allowed(origin: str, target: str, allowed: bool) -> None:
    assert redirect_allowed(origin, target) is allowed


def test_loopback_http_redirect_is_followed_without_credentials() -> None:
    with trap(_file) as host, trap(lambda s: redirect(302, host.url + "f.tar")) as start:
        session = make_download_session()
        response = session.get(start.url + "x", headers=SECRET_HEADERS, timeout=10)
    assert response.status_code == 200 and response.content == BODY
    assert start.seen[0].headers.get("X-Auth-Token") == "key-123"  # what the caller gave...
    followed = host.seen[0].headers
    assert not {"X-Auth-Token", "Authorization", "Cookie"} & set(followed), followed  # ...dropped


def test_redirect_to_plain_http_elsewhere_fails_at_once_naming_the_target() -> None:
    target = "http://downloads.example.invalid/f.tar?requestSignature=abc"
    with trap(lambda s: redirect(302, target)) as start:
        session = make_download_session()
        with pytest.raises(FatalHttp) as info:
            session.get(start.url + "x", timeout=10)
    assert info.value.retryable is False
    assert "http://downloads.example.invalid/f.tar" in str(info.value)
    assert "abc" not in str(info.value)


def test_https_to_http_is_refused_and_http_to_https_followed(tmp_path: Path) -> None:
    pem = self_signed(tmp_path)
    with trap(_file) as plain, trap(_file, cert=pem) as secure:
        with (
            trap(lambda s: redirect(302, plain.url + "f"), cert=pem) as https_start,
            pytest.raises(FatalHttp, match="plain http"),
        ):
            make_download_session().get(https_start.url, verify=str(pem), timeout=10)
        assert not plain.seen, "a request went out in clear text after https"
        with trap(lambda s: redirect(307, secure.url + "f")) as http_start:
            response = make_download_session().get(
                http_start.url, headers=SECRET_HEADERS, verify=str(pem), timeout=10
            )
    assert response.content == BODY and len(secure.seen) == 1
    assert "X-Auth-Token" not in secure.seen[0].headers
