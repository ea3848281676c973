"""Builders shared by tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

API = "https://m2m.test/api/api/json/stable/"


def envelope(
    data: Any = None, *, code: str | None = None, message: str | None = None, request_id: int = 1
) -> dict[str, Any]:
    """An M2M envelope as the service sends it."""
    return {
        "requestId": request_id,
        "version": "stable",
        "sessionId": 1,
        "data": data,
        "errorCode": code,
        "errorMessage": message,
    }


def body(data: Any = None, **kwargs: Any) -> str:
    """An envelope as JSON text."""
    return json.dumps(envelope(data, **kwargs))


def sent_json(call: Any) -> Mapping[str, Any]:
    """The JSON payload of a recorded `responses` call."""
    raw = call.request.body
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)  # type: ignore[no-any-return]
