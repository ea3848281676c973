"""The checksums USGS publishes in STAC: a small LandsatLook STAC API client and parsers.

USGS publishes, for Landsat Collection 2 files, a ``file:checksum`` per asset in its STAC
items (the LandsatLook STAC API) and in the ``*_stac.json`` sidecars that bundles carry: a
multihash in lowercase hex, in practice always ``1340`` + 128 hex digits, i.e. sha2-512 with
a 64-byte digest (docs/design.md, "STAC and checksums"). Only that form is accepted here;
any other algorithm counts as "no checksum" (nothing else was ever seen, and accepting a
weaker hash would let it vouch for a file).

Assets are matched to downloaded files by the last path component of their ``href``: an M2M
download URL is the STAC href plus ``?requestSignature=...``. The choice (documented in
docs/design.md) is that the bytes behind a signed M2M URL are the bytes the checksum covers;
when they are not, every file of the product fails its check twice with the same bytes and
ends as ``checksum_mismatch`` with the bytes kept aside, so the choice fails safe.

Lookups are batched: one ``POST /search`` per collection for up to ``IDS_PER_SEARCH`` item
ids (``ids`` + ``collections`` + ``limit``), following ``next`` links, so a run of N scenes
costs about 2 * ceil(N / IDS_PER_SEARCH) calls, never one per file.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import requests

from .errors import NetworkError
from .http import check_url, make_session
from .util.jsontypes import JsonMapping, JsonObject
from .util.net import redact_url

log = logging.getLogger("m2mdl.stac")

#: Item ids per search. The service allows limit <= 10000, but it runs behind API Gateway,
#: whose responses are capped at 6 MB; an item with checksums is about 15 KB, so 200 items
#: (about 3 MB) stay well under the cap.
IDS_PER_SEARCH = 200
#: Pages followed per search at most (a service that keeps sending ``next`` links).
MAX_PAGES = 50
#: Attempts per call (a transient 5xx or connection drop is retried once, after a second).
ATTEMPTS = 2
RETRY_DELAY = 1.0

_SHA2_512 = 0x13
_HEX = re.compile(r"^[0-9a-fA-F]+$")


class StacUnavailable(NetworkError):
    """The STAC API could not be reached or answered something unusable."""


def parse_multihash(value: object) -> str | None:
    """The SHA-512 hex digest in a hex multihash, or None for anything else.

    ``1340`` + 128 hex digits -> the 128 digits (lowercase). Other algorithms, other
    lengths, bad hex or trailing bytes -> None.
    """
    if not isinstance(value, str) or not _HEX.match(value) or len(value) % 2:
        return None
    raw = bytes.fromhex(value)
    code, pos = _varint(raw, 0)
    length, pos = _varint(raw, pos)
    if code != _SHA2_512 or length != 64 or len(raw) - pos != 64:
        return None
    return raw[pos:].hex()


def format_multihash(sha512_hex: str) -> str:
    """The ``file:checksum`` form of a SHA-512 hex digest: ``1340`` + the digest, lowercase.

    The inverse of :func:`parse_multihash` (0x13 = sha2-512, 0x40 = 64 bytes).
    """
    return f"{_SHA2_512:02x}40{sha512_hex.lower()}"


def parse_checksum(value: object) -> str | None:
    """A SHA-512 from an M2M ``checksum`` field: a multihash, or 128 bare hex digits."""
    if isinstance(value, str) and len(value) == 128 and _HEX.match(value):
        return value.lower()
    return parse_multihash(value)


def _varint(raw: bytes, pos: int) -> tuple[int, int]:
    """An unsigned LEB128 varint at ``pos`` (at most 9 bytes); (-1, pos) when malformed."""
    value = shift = 0
    for index in range(pos, min(len(raw), pos + 9)):
        value |= (raw[index] & 0x7F) << shift
        if not raw[index] & 0x80:
            return value, index + 1
        shift += 7
    return -1, len(raw)


def file_name(href: object) -> str | None:
    """The last path component of an asset href (query and fragment dropped)."""
    if not isinstance(href, str) or not href:
        return None
    name = unquote(urlsplit(href).path.rsplit("/", 1)[-1])
    return name or None


def checksums_of(document: object) -> dict[str, str]:
    """File name -> SHA-512 for every asset of a STAC item or sidecar with a usable checksum.

    Accepts ``file:checksum`` and its pre-1.0 name ``checksum:multihash``. Anything that is
    not a mapping of assets yields nothing.
    """
    if not isinstance(document, Mapping):
        return {}
    assets = document.get("assets")
    found: dict[str, str] = {}
    for asset in assets.values() if isinstance(assets, Mapping) else ():
        if not isinstance(asset, Mapping):
            continue
        name = file_name(asset.get("href"))
        digest = parse_multihash(asset.get("file:checksum", asset.get("checksum:multihash")))
        if name and digest:
            found[name] = digest
    return found


def sidecar_checksums(data: bytes) -> dict[str, str]:
    """File name -> SHA-512 from the bytes of a ``*_stac.json`` sidecar (bad JSON: none)."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    return checksums_of(document)


def item_ids(product_id: str) -> list[tuple[str, str]]:
    """(collection, item id) pairs under which a Landsat C2 product's items are published.

    Level-2 (``L2SP``, ``L2SR``): ``<id>_SR`` in ``landsat-c2l2-sr`` and, for L2SP,
    ``<id>_ST`` in ``landsat-c2l2-st``; Level-1: ``<id>`` in ``landsat-c2l1``.
    """
    parts = product_id.split("_")
    if len(parts) < 2 or not parts[0].startswith("L"):
        return []
    level = parts[1]
    if level.startswith("L2"):
        pairs = [("landsat-c2l2-sr", f"{product_id}_SR")]
        if level != "L2SR":
            pairs.append(("landsat-c2l2-st", f"{product_id}_ST"))
        return pairs
    if level.startswith("L1"):
        return [("landsat-c2l1", product_id)]
    return []


@dataclass
class Lookup:
    """The checksums found for a run's products.

    Attributes:
        checksums: file name -> SHA-512, from every item found.
        items: item id -> the STAC item found (with or without checksums); a run's local
            catalog is built from them, so USGS is asked once for both.
        error: why the lookup failed (the service is down...), or None.
    """

    checksums: dict[str, str] = field(default_factory=dict)
    items: dict[str, JsonMapping] = field(default_factory=dict)
    error: str | None = None

    @property
    def found(self) -> set[str]:
        """Ids of the items that were found."""
        return set(self.items)


class StacClient:
    """Searches the LandsatLook STAC API (no authentication; nothing secret is sent)."""

    def __init__(self, url: str, *, timeout: float = 60.0, verify_tls: bool = True) -> None:
        self.url = check_url(url, "STAC URL").rstrip("/")
        self.session = make_session(timeout=timeout, verify_tls=verify_tls)
        self.calls = 0

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def lookup(self, product_ids: Iterable[str]) -> Lookup:
        """Checksums of every file of ``product_ids``; never raises for the service."""
        by_collection: dict[str, list[str]] = {}
        for product_id in dict.fromkeys(product_ids):
            for collection, item_id in item_ids(product_id):
                by_collection.setdefault(collection, []).append(item_id)
        result = Lookup()
        try:
            for collection, ids in sorted(by_collection.items()):
                for start in range(0, len(ids), IDS_PER_SEARCH):
                    for item in self.search(collection, ids[start : start + IDS_PER_SEARCH]):
                        result.items[str(item.get("id"))] = item
                        result.checksums.update(checksums_of(item))
        except StacUnavailable as exc:
            result.error = exc.message
        return result

    def search(self, collection: str, ids: list[str]) -> list[JsonMapping]:
        """Items with these ids in ``collection``, following ``next`` links.

        Raises:
            StacUnavailable: a call failed twice, or the answer is not a FeatureCollection.
        """
        body: JsonObject = {"ids": ids, "collections": [collection], "limit": len(ids)}
        request: tuple[str, str, JsonObject | None] = ("POST", f"{self.url}/search", body)
        items: list[JsonMapping] = []
        for _ in range(MAX_PAGES):
            page = self._call(*request)
            features = page.get("features")
            if not isinstance(features, list):
                raise StacUnavailable("the STAC API answered without a list of features")
            items.extend(f for f in features if isinstance(f, Mapping))
            following = _next_request(page, body) if features else None
            if following is None:
                break
            request = following
        return items

    def _call(self, method: str, url: str, body: JsonObject | None) -> JsonMapping:
        problem = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(RETRY_DELAY)
            self.calls += 1
            try:
                response = self.session.request(method, url, json=body)
            except requests.RequestException as exc:
                problem = redact_url(f"cannot reach the STAC API: {exc}")
                continue
            with response:
                if response.status_code == 200:
                    try:
                        data = response.json()
                    except ValueError:
                        data = None
                    if isinstance(data, Mapping):
                        return data
                    raise StacUnavailable("the STAC API answered something other than JSON")
                problem = f"the STAC API answered HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code != 429:
                    break
        raise StacUnavailable(problem)


def _next_request(page: JsonMapping, body: JsonObject) -> tuple[str, str, JsonObject | None] | None:
    """The request a ``rel: next`` link describes (GET href, or POST with a body)."""
    links = page.get("links")
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, Mapping) or link.get("rel") != "next":
            continue
        href = link.get("href")
        if not isinstance(href, str) or urlsplit(href).scheme not in ("http", "https"):
            return None
        if str(link.get("method", "GET")).upper() == "POST":
            extra = link.get("body")
            next_body = dict(body) if link.get("merge") else {}
            if isinstance(extra, Mapping):
                next_body.update(extra)
            return "POST", href, next_body or dict(body)
        return "GET", href, None
    return None
