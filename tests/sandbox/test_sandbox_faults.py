"""Each fault option, in a quick version."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from m2mdl.sandbox import Sandbox
from tests.sandbox.sandbox_helpers import SCENE_068017, Client

B4 = SCENE_068017 + "_SR_B4.TIF"
Factory = Callable[..., Sandbox]


def _file_records(sb: Sandbox) -> list[dict[str, object]]:
    return [r for r in sb.records() if r["kind"] == "file"]


def _settled_records(sb: Sandbox, count: int) -> list[dict[str, object]]:
    """The file records once ``count`` are logged (a handler logs after its last byte)."""
    for _ in range(100):
        records = _file_records(sb)
        if len(records) >= count:
            return records
        time.sleep(0.05)
    return _file_records(sb)


def test_rate_limits_each_connection(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(rate=200_000)
    url = Client.login(sb).file_url()
    began = time.monotonic()
    body = requests.get(url, timeout=30).content
    assert len(body) / 200_000 * 0.8 < time.monotonic() - began
    assert body == sb.expected_bytes(B4)


def test_drop_after_resets_the_first_requests(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(drop_after=10_000, drop_times=1)
    url = Client.login(sb).file_url()
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(url, timeout=10).content  # noqa: B018 (read the body)
    assert requests.get(url, timeout=10).content == sb.expected_bytes(B4)
    first = _file_records(sb)[0]
    assert (first["event"], first["bytes"]) == ("drop", 10_000)


def test_fail_status_with_retry_after(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(fail_status=503, fail_times=2, retry_after=1)
    url = Client.login(sb).file_url()
    for _ in range(2):
        resp = requests.get(url, timeout=10)
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
        assert resp.headers["Content-Type"].startswith("text/html")
    assert requests.get(url, timeout=10).status_code == 200


def test_html_page_with_status_200(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(html200_times=1)
    url = Client.login(sb).file_url()
    first = requests.get(url, timeout=10)
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("text/html")
    assert b"<html>" in first.content
    assert requests.get(url, timeout=10).headers["Content-Type"] == "image/tiff"


def test_ignore_range(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(ignore_range=True)
    resp = requests.get(Client.login(sb).file_url(), headers={"Range": "bytes=10-"}, timeout=10)
    assert resp.status_code == 200 and resp.content == sb.expected_bytes(B4)


def test_mutate_after_changes_content_and_validators(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(mutate_after=1)
    url = Client.login(sb).file_url()
    old = requests.get(url, timeout=10)
    assert old.content == sb.expected_bytes(B4)
    new = requests.get(url, timeout=10)
    assert new.content != old.content and new.content[:4] == b"II*\x00"
    assert len(new.content) == len(old.content)
    assert sum(a != b for a, b in zip(new.content, old.content, strict=True)) <= 16
    assert new.headers["ETag"] != old.headers["ETag"]
    assert new.headers["Last-Modified"] != old.headers["Last-Modified"]
    assert new.content == sb.expected_bytes(B4)
    resumed = requests.get(
        url, headers={"Range": "bytes=100-", "If-Range": old.headers["ETag"]}, timeout=10
    )
    assert resumed.status_code == 200  # stale validator: full body
    assert _file_records(sb)[1]["event"] == "mutated"


def test_mutated_bundle_sha_helper(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(mutate_after=1)
    urls = Client.login(sb).bundle_urls()
    url = next(iter(urls.values()))
    import hashlib

    first = requests.get(url, timeout=30)
    name = first.headers["Content-Disposition"].split('"')[1]
    second = requests.get(url, timeout=30)
    assert hashlib.sha256(first.content).hexdigest() != sb.expected_sha256(name)
    assert hashlib.sha256(second.content).hexdigest() == sb.expected_sha256(name)


def test_url_ttl_expires_signed_urls(sandbox_factory: Factory) -> None:
    now = [1_750_000_000.0]
    sb = sandbox_factory(url_ttl=60, now=lambda: now[0])
    c = Client.login(sb)
    urls = c.bundle_urls(label="ttl")
    url = next(iter(urls.values()))
    assert requests.get(url, timeout=30).status_code == 200
    now[0] += 62  # counted from the end of the signed second: 60 s TTL + up to 1 s
    assert requests.get(url, timeout=30).status_code == 403
    fresh = c.data("download-retrieve", {"label": "ttl"})["available"][0]["url"]
    assert requests.get(fresh, timeout=30).status_code == 200


def test_stall_after_keeps_the_socket_quiet(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(stall_after=5_000, stall_seconds=1.0)
    url = Client.login(sb).file_url()
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(url, timeout=0.4).content  # noqa: B018 (read the body)
    time.sleep(1.2)
    assert requests.get(url, timeout=10).content == sb.expected_bytes(B4)
    first = _file_records(sb)[0]
    assert (first["event"], first["bytes"]) == ("stall", 5_000)


def test_evil_filename(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(evil_filename="../../etc/passwd")
    resp = requests.get(Client.login(sb).file_url(), timeout=10)
    assert resp.headers["Content-Disposition"] == 'attachment; filename="../../etc/passwd"'


def test_api_error_counts_globally_and_spares_login(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(api_error="RATE_LIMIT", api_error_times=2)
    c = Client.login(sb)  # login-token is exempt
    assert c.call("permissions")["errorCode"] == "RATE_LIMIT"
    assert c.call("dataset", {"datasetName": "landsat_ot_c2_l2"})["errorCode"] == "RATE_LIMIT"
    assert c.call("permissions")["errorCode"] is None


def test_api_error_for_one_endpoint_and_server_error_status(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(api_error="SERVER_ERROR", api_error_endpoint="scene-search")
    c = Client.login(sb)
    assert c.call("permissions")["errorCode"] is None
    resp = c.raw("scene-search", {"datasetName": "landsat_ot_c2_l2", "maxResults": 1})
    assert resp.status_code == 500 and resp.json()["errorCode"] == "SERVER_ERROR"


def test_api_fail_status_and_garbage(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(api_fail_status=502, api_garbage_times=1)
    c = Client.login(sb)
    failed = c.raw("permissions")
    assert failed.status_code == 502 and failed.headers["Content-Type"].startswith("text/html")
    garbage = c.raw("permissions")
    assert garbage.status_code == 200
    with pytest.raises(ValueError):
        garbage.json()
    assert c.call("permissions")["errorCode"] is None


def test_flip_byte_times_flips_one_byte_in_the_middle(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(flip_byte_times=2)
    url = Client.login(sb).file_url()
    good = sb.expected_bytes(B4)
    bad = requests.get(url, timeout=10)
    assert bad.status_code == 200 and int(bad.headers["Content-Length"]) == len(good)
    diffs = [i for i, (a, b) in enumerate(zip(bad.content, good, strict=True)) if a != b]
    assert diffs == [len(good) // 2]
    tail = requests.get(url, headers={"Range": "bytes=100-300"}, timeout=10)
    assert tail.status_code == 206 and len(tail.content) == 201
    ranged = [i for i, (a, b) in enumerate(zip(tail.content, good[100:301], strict=True)) if a != b]
    assert ranged == [100]  # the middle of the served range (the file's middle is outside)
    assert requests.get(url, timeout=10).content == good  # third response: clean
    assert [r["event"] for r in _settled_records(sb, 3)] == ["flip_byte", "flip_byte", None]


def test_zero_body_times_keeps_the_magic_and_the_size(sandbox_factory: Factory) -> None:
    sb = sandbox_factory(zero_body_times=1)
    url = Client.login(sb).file_url()
    good = sb.expected_bytes(B4)
    bad = requests.get(url, timeout=10).content
    assert len(bad) == len(good) and bad[:4] == b"II*\x00"
    assert bad[:8] == good[:8] and not any(bad[8:])
    assert requests.get(url, timeout=10).content == good
    bundle = next(iter(Client.login(sb).bundle_urls().values()))
    first = requests.get(bundle, timeout=30).content
    assert first[257:262] == b"ustar" and not any(first[512:])


def test_mutate_after_zero_from_the_command_line(sandbox_factory: Factory) -> None:
    from m2mdl.sandbox.__main__ import build_parser, config_from_args

    config = config_from_args(build_parser().parse_args(["--mutate-after", "0"]))
    assert config.faults.mutate_after == 0
    config.data_scale = 0.001
    sb = sandbox_factory(config=config)
    url = Client.login(sb).file_url()
    original = sb.expected_bytes(B4)  # version 0: nothing requested yet
    first = requests.get(url, timeout=10)
    assert first.content != original and first.content == sb.expected_bytes(B4)
    assert _settled_records(sb, 1)[0]["event"] == "mutated"


def test_clock_skew_shifts_the_date_header(sandbox_factory: Factory) -> None:
    import email.utils

    sb = sandbox_factory(clock_skew=-3600.0)
    for url in (sb.stac_url + "/", Client.login(sb).file_url()):
        sent = email.utils.parsedate_to_datetime(requests.get(url, timeout=10).headers["Date"])
        lag = time.time() - sent.timestamp()
        assert 3590 < lag < 3620, url


def test_help_lists_the_new_flags() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "m2mdl.sandbox", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for flag in (
        "--flip-byte-times",
        "--zero-body-times",
        "--stac-down",
        "--wrong-checksum",
        "--stac-no-checksums",
        "--clock-skew",
        "--mutate-after",
    ):
        assert flag in out, flag
    assert "published file:checksum" in " ".join(out.split())
