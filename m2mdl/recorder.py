"""Record the HTTP exchanges of a run (``m2mdl doctor --report``) and mask their secrets.

A :class:`Recorder` is attached to ``requests`` sessions from the outside, through
``session.hooks["response"]``, so nothing in the API client or the transfer engine knows
about it. It keeps every exchange raw in memory and masks only when the report is built,
because some secrets are learnt late (the session key is in the login-token *answer*; the
contact id is inside signed URLs).

What is masked, everywhere in the report:
- the values of the keys in :data:`SECRET_KEYS` (``token``, ``username``, ``contactId``,
  ``ipAddress``, ``apiKey``, ``password``) in request and response bodies;
- the headers in :data:`SECRET_HEADERS` (``X-Auth-Token``, cookies, authorization);
- URL user info, signature-like query values (``requestSignature=...``) and DDS download
  tokens (base64 JSON holding a ``contactId`` in the path), via
  :func:`m2mdl.util.net.redact_url` (query names are kept: they help a bug report);
- every secret collected on the way (the token, each session key, the username, each
  signature and contact id) wherever it appears, via :func:`m2mdl.auth.redact`.

Recorded response bodies keep the M2M envelope as sent (``requestId``, ``version``, ``data``,
``errorCode``, ``errorMessage``), the shape of ``tests/data/m2m-real/``, so one exchange's
``response.body`` can be saved as a fixture. Bodies of streamed downloads are never read.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

import requests

from .auth import redact
from .util.jsontypes import JsonObject, JsonValue
from .util.net import contact_tokens, decode_b64_json, redact_url, signature_values

#: Keys whose values are masked wherever they appear in a recorded body.
SECRET_KEYS = frozenset({"token", "username", "contactid", "ipaddress", "apikey", "password"})
#: Headers whose values are masked (compared lower-case).
SECRET_HEADERS = frozenset({"x-auth-token", "authorization", "cookie", "set-cookie"})
#: Bodies longer than this many bytes are cut (and marked ``body_truncated``).
BODY_CAP = 64 * 1024
MASK = "***"


class Recorder:
    """Collects request/response pairs from sessions it is attached to (thread-safe)."""

    def __init__(self, secrets: Iterable[str] = (), body_cap: int = BODY_CAP) -> None:
        self.body_cap = body_cap
        self.exchanges: list[JsonObject] = []
        self._secrets: set[str] = {s for s in secrets if s}
        self._lock = threading.Lock()

    def add_secret(self, *secrets: str | None) -> None:
        """Mask each of ``secrets`` (None and empty strings are ignored) in the report."""
        with self._lock:
            self._secrets.update(s for s in secrets if s)

    def attach(self, session: requests.Session) -> requests.Session:
        """Record every response ``session`` receives from now on; returns the session."""
        hooks = session.hooks.setdefault("response", [])
        if self.hook not in hooks:
            hooks.append(self.hook)
        return session

    def note(self, what: str, **details: JsonValue) -> None:
        """Record a request that got no response (DNS, TLS or connection failure)."""
        with self._lock:
            self.exchanges.append({"note": what, "at": _now(), **details})

    # requests calls a hook with the response plus send()'s keyword arguments, untyped there;
    # only ``stream`` is read here, for its truth, so object is all they need to be.
    def hook(
        self, response: requests.Response, *args: object, **kwargs: object
    ) -> requests.Response:
        """The ``requests`` response hook: store the exchange (never the streamed body)."""
        request = response.request
        exchange: JsonObject = {
            "at": _now(time.time() - response.elapsed.total_seconds()),
            "elapsed_ms": round(response.elapsed.total_seconds() * 1000, 1),
            "request": {
                "method": request.method,
                "url": request.url,
                "headers": dict(request.headers),
                "body": self._request_body(request.body),
            },
            "response": {
                "status": response.status_code,
                "reason": response.reason,
                "headers": dict(response.headers),
            },
        }
        if kwargs.get("stream"):
            exchange["response"]["body"] = None
            exchange["response"]["body_note"] = "streamed file content, not recorded"
        else:
            exchange["response"].update(self._response_body(response.content))
        self._learn(exchange)
        with self._lock:
            self.exchanges.append(exchange)
        return response

    def _request_body(self, body: bytes | str | None) -> JsonValue:
        if body is None:
            return None
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            return json.loads(text)
        except ValueError:
            return text[: self.body_cap]

    def _response_body(self, content: bytes) -> JsonObject:
        cut = len(content) > self.body_cap
        text = content[: self.body_cap].decode("utf-8", "replace")
        out: JsonObject = {"body_bytes": len(content), "body_truncated": cut}
        try:
            out["body"] = text if cut else json.loads(text)
        except ValueError:
            out["body"] = text
        return out

    def _learn(self, exchange: JsonObject) -> None:
        """Collect secrets that only this exchange reveals (keys, signatures, contact ids)."""
        request, response = exchange["request"], exchange["response"]
        found: list[str] = []
        for name, value in request["headers"].items():
            if name.lower() in SECRET_HEADERS:
                found.append(str(value))
        body = request.get("body")
        if isinstance(body, dict):
            found += [str(body[k]) for k in body if k.lower() in SECRET_KEYS and body[k]]
        answer = response.get("body")
        login = str(request["url"]).rstrip("/").endswith("login-token")
        if login and isinstance(answer, dict) and isinstance(answer.get("data"), str):
            found.append(answer["data"])  # the new session key
        text = json.dumps([request["url"], answer, response["headers"]], default=str)
        for signature in signature_values(text):
            found.append(unquote(signature))
            found.append(signature)
            found += self._contact_ids(decode_b64_json(unquote(signature)))
        for token, decoded in contact_tokens(text):
            found += [token, unquote(token), *self._contact_ids(decoded)]
        self.add_secret(*found)

    @staticmethod
    def _contact_ids(decoded: JsonObject | None) -> list[str]:
        if decoded is None or decoded.get("contactId") in (None, ""):
            return []
        return [str(decoded["contactId"])]

    # --- the report -------------------------------------------------------------------------

    def redacted(self) -> list[JsonObject]:
        """Every exchange with its secrets masked (see the module docstring)."""
        with self._lock:
            exchanges, secrets = list(self.exchanges), set(self._secrets)
        return [_mask(exchange, secrets) for exchange in exchanges]

    def mask(self, value: JsonValue) -> JsonValue:
        """``value`` (JSON-like) with every secret known so far masked."""
        with self._lock:
            secrets = set(self._secrets)
        return _mask(value, secrets)


def _mask(value: JsonValue, secrets: set[str], key: str = "") -> JsonValue:
    lowered = key.lower()
    if lowered in SECRET_KEYS or lowered in SECRET_HEADERS:
        return MASK if value not in (None, "") else value
    if isinstance(value, dict):
        return {k: _mask(v, secrets, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, secrets) for v in value]
    if isinstance(value, str):
        return redact(redact_url(value, keep_query=True), secrets)
    if isinstance(value, int) and not isinstance(value, bool) and str(value) in secrets:
        return MASK
    return value


def _now(when: float | None = None) -> str:
    stamp = dt.datetime.fromtimestamp(time.time() if when is None else when, dt.timezone.utc)
    return stamp.isoformat(timespec="milliseconds")


def endpoint_of(url: str, api_url: str) -> str | None:
    """The M2M endpoint name of a recorded URL (``scene-search``), or None for other hosts."""
    root = api_url.rstrip("/") + "/"
    if not url.startswith(root) or url.rstrip("/") + "/" == root:
        return None
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or None
