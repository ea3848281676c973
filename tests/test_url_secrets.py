"""DDS download URLs carry the user's contactId in the PATH: it never reaches a message, a
journal or a manifest (docs/design.md "download URLs"; m2mdl.util.net's module docstring)."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from m2mdl.recorder import Recorder
from m2mdl.sandbox import Sandbox
from m2mdl.transfer.model import ERROR_LIMIT
from m2mdl.transfer.single import describe_request_error
from m2mdl.util.net import PATH_MASK, contact_tokens, redact_url, strip_query

from .cli_helpers import NOTEBOOK_QUERY, env_for, manifest, run

CONTACT_ID = 676404
DDS = "https://dds.cr.usgs.gov"


def dds_token(*, slash: bool = False) -> str:
    """A base64 JSON token as in recorded DDS URLs; ``slash``: one whose base64 holds ``/``
    and ``+`` (standard base64 does for some payloads, and then the token spans segments)."""
    payload: dict[str, object] = {"id": 26107136, "contactId": CONTACT_ID}
    for n in range(200):
        if slash:
            payload["note"] = "?" * (n % 5) + "~" * (n // 5)
        token = base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
        if not slash or ("/" in token and "+" in token):
            return token
    raise AssertionError("no payload gave a token with / and +")


TOKENS = {
    "plain": dds_token(),
    "with-slash": dds_token(slash=True),
    "urlsafe": dds_token(slash=True).translate(str.maketrans("+/", "-_")).rstrip("="),
    "percent-encoded": quote(dds_token(slash=True), safe=""),
}


def secret_parts(token: str) -> list[str]:
    """What must not show: the token, each of its segments, the contact id."""
    return [token, *[s for s in token.split("/") if len(s) > 3], str(CONTACT_ID)]


def assert_hidden(text: str, token: str) -> None:
    for part in secret_parts(token):
        assert part not in text, (part, text)


@pytest.mark.parametrize("kind", sorted(TOKENS))
@pytest.mark.parametrize("place", ["download", "download-staging"])
def test_strip_query_masks_the_token(kind: str, place: str) -> None:
    token = TOKENS[kind]
    url = f"{DDS}/{place}/{token}?x=1#f"
    stripped = strip_query(url)
    assert stripped == f"{DDS}/{place}/{PATH_MASK}"
    assert_hidden(stripped, token)


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_redact_url_masks_the_token_in_urls_bare_paths_and_reports(kind: str) -> None:
    token = TOKENS[kind]
    url = f"{DDS}/download/{token}"
    line = f"GET {url} failed; retrying {url}?requestSignature=S"
    assert redact_url(line) == (
        f"GET {DDS}/download/{PATH_MASK} failed; retrying {DDS}/download/{PATH_MASK}?…"
    )
    bare = (
        "HTTPSConnectionPool(host='dds.cr.usgs.gov', port=443): Max retries exceeded with "
        f"url: /download-staging/{token} (Caused by ReadTimeoutError())"
    )
    assert f"url: /download-staging/{PATH_MASK} (Caused" in redact_url(bare)
    report = redact_url(f'{{"url": "{url}?a=1"}}', keep_query=True)
    assert report == f'{{"url": "{DDS}/download/{PATH_MASK}?a=1"}}'
    for text in (redact_url(line), redact_url(bare, limit=ERROR_LIMIT), report):
        assert_hidden(text, token)


def test_a_token_elsewhere_in_a_path_is_masked_by_its_contact_id() -> None:
    token = TOKENS["with-slash"]
    assert strip_query(f"https://h.example/a/{token}/LC08.tar") == (
        f"https://h.example/a/{PATH_MASK}/LC08.tar"
    )
    assert [t for t, _ in contact_tokens(f"see /x/{token}.")] == [token]


def test_paths_without_a_token_are_kept_whole() -> None:
    landsatlook = (
        "https://landsatlook.usgs.gov/data/collection02/level-2/standard/oli-tirs/2020/068/017/"
        "LC08_L2SP_068017_20200310_20200822_02_T1/"
        "LC08_L2SP_068017_20200310_20200822_02_T1_SR_B4.TIF"
    )
    assert strip_query(landsatlook + "?requestSignature=S") == landsatlook
    plain = "https://example.com/download/LC08_L2SP_068017_20200310_20200822_02_T1.tar"
    assert strip_query(plain) == plain and redact_url(plain) == plain
    # base64 JSON without a contactId outside a DDS path is not a contact token
    other = base64.b64encode(b'{"id":26107136,"kind":"bundle"}').decode()
    assert strip_query(f"https://h.example/a/{other}") == f"https://h.example/a/{other}"
    assert strip_query(f"{DDS}/download/{other}") == f"{DDS}/download/{PATH_MASK}"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("kind", ["plain", "with-slash"])
def test_a_failed_download_error_line_hides_the_token(kind: str) -> None:
    token = TOKENS[kind]
    url = f"http://127.0.0.1:{_closed_port()}/download/{token}"
    with pytest.raises(requests.ConnectionError) as info:
        requests.get(url, timeout=5)
    assert token in str(info.value)  # requests words the path into its message
    line = describe_request_error(info.value)
    assert line.startswith("connection failed: ") and f"/download/{PATH_MASK}" in line
    assert_hidden(line, token)


def test_the_recorder_learns_a_token_that_spans_segments() -> None:
    token = TOKENS["with-slash"]
    recorder = Recorder()
    answer = {"data": {"available": [{"url": f"{DDS}/download/{token}"}]}, "note": "676404"}
    exchange = {
        "request": {"url": "https://m2m.example/api/download-retrieve", "headers": {}},
        "response": {"body": answer, "headers": {}},
    }
    recorder._learn(exchange)
    text = json.dumps(recorder.mask(exchange))
    assert f"{DDS}/download/{PATH_MASK}" in text
    assert_hidden(text, token)


def test_a_sandbox_run_over_dds_urls_writes_no_token_to_the_manifest(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    # With a preparation delay the sandbox hands out DDS URLs (/download/<b64 token>); its
    # clock moves a second per reading, so a file is ready by the time its URL is built.
    ticks = [time.time()]

    def clock() -> float:
        ticks[0] += 1.0
        return ticks[0]

    sb = sandbox_factory(preparing_seconds=0.5, now=clock)
    out = tmp_path / "out"
    result = run(
        [
            "download",
            *NOTEBOOK_QUERY,
            "--filetype",
            "band",
            "--bands",
            "SR_B4",
            "--no-metadata",
            "--out",
            str(out),
        ],
        env_for(sb),
    )
    assert result.exit_code == 0, result.stderr
    served = [r for r in sb.records() if r.get("kind") == "file" and r.get("status") in (200, 206)]
    assert served, "the sandbox served no file"
    paths = [str(r["path"]) for r in served]
    tokens = [t for p in paths for t, _ in contact_tokens(p)]
    assert tokens and len(tokens) == len(served), paths  # every file came over a DDS URL
    data = manifest(out)
    urls = [item["url"] for item in data["items"]]
    assert urls and all(u.endswith(f"/download/{PATH_MASK}") for u in urls), urls
    text = json.dumps(data)
    for token in tokens:
        assert_hidden(text, token)
