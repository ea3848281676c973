"""Signed download URLs in the real forms (docs/design.md §M2M API: download URLs) and their
verification.

``requestSignature`` is base64 of ``{"downloadApp","contactId","downloadId",
"dateGenerated","id","signature"}`` like the recorded landsatlook URLs; here the
signature is an HMAC-SHA256 over the other fields (the real ``$5$$...`` value is opaque),
so a URL cannot be forged or re-pointed at another file. DDS URLs carry base64
``{"id": downloadId, "contactId": cid}`` (recorded form) and are checked against the
order book instead.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

_CDT = dt.timezone(dt.timedelta(hours=-5))  # recorded dateGenerated uses -05:00


@dataclass(frozen=True)
class Signature:
    """A decoded, verified requestSignature."""

    contact_id: int
    download_id: int
    generated: float  # epoch seconds
    file_id: str  # file name, or displayId for bundles


def _mac(secret: bytes, fields: list[object]) -> str:
    digest = hmac.new(secret, json.dumps(fields).encode(), hashlib.sha256).digest()
    return "$5$$" + base64.b64encode(digest).decode().rstrip("=")


def sign(secret: bytes, contact_id: int, download_id: int, file_id: str, now: float) -> str:
    """The base64 requestSignature for one file of one download."""
    stamp = dt.datetime.fromtimestamp(int(now), _CDT).isoformat()
    fields: list[object] = ["M2M", contact_id, download_id, stamp, file_id]
    payload = {
        "downloadApp": "M2M",
        "contactId": contact_id,
        "downloadId": download_id,
        "dateGenerated": stamp,
        "id": file_id,
        "signature": _mac(secret, fields),
    }
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def verify(secret: bytes, token: str) -> Signature | None:
    """Decode and check a requestSignature; None when it is malformed or forged."""
    try:
        # a '+' of standard base64 may arrive as ' ' after query-string decoding
        payload = json.loads(base64.b64decode(token.replace(" ", "+").encode()))
        fields = [
            payload["downloadApp"],
            payload["contactId"],
            payload["downloadId"],
            payload["dateGenerated"],
            payload["id"],
        ]
        if not hmac.compare_digest(_mac(secret, fields), str(payload["signature"])):
            return None
        when = dt.datetime.fromisoformat(str(payload["dateGenerated"])).timestamp()
        return Signature(
            int(payload["contactId"]), int(payload["downloadId"]), when, str(payload["id"])
        )
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


def dds_token(download_id: int, contact_id: int) -> str:
    """``base64({"id":..,"contactId":..})`` as in recorded dds.cr.usgs.gov URLs."""
    raw = json.dumps({"id": download_id, "contactId": contact_id}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def parse_dds_token(token: str) -> tuple[int, int] | None:
    """(downloadId, contactId) of a DDS URL token, or None."""
    try:
        padded = token.replace(" ", "+") + "=" * (-len(token) % 4)
        payload = json.loads(base64.b64decode(padded.encode()))
        return int(payload["id"]), int(payload["contactId"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
