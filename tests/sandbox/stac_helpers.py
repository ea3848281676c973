"""Helpers for the sandbox STAC tests: fetch items, follow pages, hash like USGS."""

from __future__ import annotations

import hashlib
import io
import tarfile
from typing import Any
from urllib.parse import urlsplit

import requests

from m2mdl.sandbox import Sandbox

JSON = dict[str, Any]


def multihash(data: bytes) -> str:
    """``file:checksum`` of ``data`` as USGS writes it (multihash sha2-512)."""
    return "1340" + hashlib.sha512(data).hexdigest()


def get_item(sb: Sandbox, collection: str, item_id: str) -> JSON:
    """GET one item (asserting 200)."""
    resp = requests.get(f"{sb.stac_url}/collections/{collection}/items/{item_id}", timeout=30)
    assert resp.status_code == 200, resp.text
    doc: JSON = resp.json()
    return doc


def follow(resp: requests.Response) -> requests.Response | None:
    """The next page of a search response, or None when it has no next link."""
    nxt = [link for link in resp.json()["links"] if link["rel"] == "next"]
    if not nxt:
        return None
    link = nxt[0]
    if link.get("method") == "POST":
        return requests.post(link["href"], json=link["body"], timeout=30)
    return requests.get(link["href"], timeout=30)


def all_pages(first: requests.Response, max_pages: int = 20) -> list[JSON]:
    """Every page body from ``first`` on, following next links (bounded)."""
    pages: list[JSON] = []
    resp: requests.Response | None = first
    for _ in range(max_pages):
        if resp is None:
            break
        assert resp.status_code == 200, resp.text
        pages.append(resp.json())
        resp = follow(resp)
    return pages


def path_of(url: str) -> str:
    """The path of a URL (no query: the signature is not part of the file's identity)."""
    return urlsplit(url).path


def tar_members(data: bytes) -> dict[str, bytes]:
    """{member name: bytes} of a tar archive."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        out: dict[str, bytes] = {}
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            assert handle is not None
            out[member.name] = handle.read()
        return out
