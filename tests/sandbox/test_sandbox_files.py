"""The download host: headers, Range, If-Range, signatures, HEAD, the request log."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import requests

from m2mdl.sandbox import Sandbox
from tests.sandbox.sandbox_helpers import SCENE_068017, Client

B4 = SCENE_068017 + "_SR_B4.TIF"


def test_file_headers_and_content(sandbox: Sandbox, client: Client) -> None:
    url = client.file_url("SR_B4.TIF")
    assert url.startswith(
        sandbox.base_url + "/data/collection02/level-2/standard/oli-tirs/"
        "2020/068/017/" + SCENE_068017 + "/" + B4 + "?requestSignature="
    )
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"] == f'attachment; filename="{B4}"'
    assert resp.headers["Content-Type"] == "image/tiff"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["ETag"] and resp.headers["Last-Modified"]
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    assert resp.content[:4] == b"II*\x00"
    assert resp.content == sandbox.expected_bytes(B4)
    mtl = requests.get(client.file_url("MTL.txt"), timeout=10)
    assert mtl.headers["Content-Type"] == "text/plain"
    assert mtl.text.startswith("GROUP = LANDSAT_METADATA_FILE")


def test_ranges(sandbox: Sandbox, client: Client) -> None:
    url = client.file_url("SR_B4.TIF")
    full = sandbox.expected_bytes(B4)
    size = len(full)
    for spec, want in (
        ("bytes=10-19", full[10:20]),
        (f"bytes={size - 5}-", full[-5:]),
        ("bytes=-7", full[-7:]),
        (f"bytes=100-{size + 50}", full[100:]),
    ):
        resp = requests.get(url, headers={"Range": spec}, timeout=10)
        assert resp.status_code == 206, spec
        assert resp.content == want
        start = size - len(want)
        if spec == "bytes=10-19":
            start = 10
        elif spec.startswith("bytes=100-"):
            start = 100
        assert resp.headers["Content-Range"] == f"bytes {start}-{start + len(want) - 1}/{size}"
    bad = requests.get(url, headers={"Range": f"bytes={size}-"}, timeout=10)
    assert bad.status_code == 416 and bad.headers["Content-Range"] == f"bytes */{size}"


def test_if_range(client: Client) -> None:
    url = client.file_url("SR_B4.TIF")
    first = requests.get(url, timeout=10)
    tag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    for validator in (tag, modified):
        same = requests.get(url, headers={"Range": "bytes=5-", "If-Range": validator}, timeout=10)
        assert same.status_code == 206
    other = requests.get(url, headers={"Range": "bytes=5-", "If-Range": '"stale"'}, timeout=10)
    assert other.status_code == 200 and other.content == first.content


def test_signature_is_checked(sandbox: Sandbox, client: Client) -> None:
    url = client.file_url("SR_B4.TIF")
    bare = url.split("?")[0]
    assert requests.get(bare, timeout=10).status_code == 403
    forged = url.replace("SR_B4.TIF?", "SR_B5.TIF?").replace("/SR_B4", "/SR_B5")
    resp = requests.get(forged, timeout=10)
    assert resp.status_code == 403 and resp.headers["Content-Type"].startswith("text/html")
    assert requests.get(url[:-8] + "AAAAAAA=", timeout=10).status_code == 403
    assert requests.get(sandbox.base_url + "/data/nothing.TIF", timeout=10).status_code == 404


def test_head_is_not_supported(client: Client) -> None:
    assert requests.head(client.file_url("SR_B4.TIF"), timeout=10).status_code == 405


def test_log_has_one_line_per_request_and_no_secrets(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(log_path=tmp_path / "log.jsonl")
    c = Client.login(sb)
    key = c.session.headers["X-Auth-Token"]
    url = c.file_url("SR_B4.TIF")
    requests.get(url, headers={"Range": "bytes=0-99"}, timeout=10)
    for _ in range(100):  # the handler logs after its last byte: wait for the record
        if any(r["kind"] == "file" for r in sb.records()):
            break
        time.sleep(0.05)
    c.call("no-such-endpoint")
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert records == sb.records()
    assert [r["kind"] for r in records] == ["api", "api", "file", "api"]
    assert [r.get("endpoint") for r in records if r["kind"] == "api"] == [
        "login-token",
        "download-request",
        "no-such-endpoint",
    ]
    file_rec = records[2]
    assert (file_rec["status"], file_rec["bytes"], file_rec["range"]) == (206, 100, "bytes=0-99")
    assert file_rec["file"] == B4
    text = (tmp_path / "log.jsonl").read_text()
    signature = url.split("requestSignature=")[1]
    for secret in (str(key), "demo-token", signature):
        assert secret not in text
    assert records[3]["error_code"] == "NOT_FOUND"


def test_files_dir_writes_static_copies(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory(files_dir=tmp_path, files_url="http://127.0.0.1:9/static")
    c = Client.login(sb)
    url = c.file_url("SR_B4.TIF")
    rel = url.split("/static/", 1)[1].split("?")[0]
    assert (tmp_path / rel).read_bytes() == sb.expected_bytes(B4)
    bundles = c.bundle_urls()
    for bundle_url in bundles.values():
        rel = bundle_url.split("/static/", 1)[1].split("?")[0]
        assert rel.startswith("gen-bundle/") and rel.endswith(".tar")
        assert (tmp_path / rel).stat().st_size == sb.expected_size(rel.split("/")[1])
