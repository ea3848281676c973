"""Reading M2M's JSON envelope: which errorCode is which error, and what is worth a retry.

``{requestId, version, sessionId, data, errorCode, errorMessage}`` arrives whatever the HTTP
status (errors have come with 200, 403 and 500 alike; docs/design.md, "M2M API"); this module
turns a response into data, a typed error, or a :class:`Transient` failure the client retries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ParamSpec, TypeVar
from urllib.parse import urljoin

import requests

from .errors import (
    AccessDenied,
    ApiError,
    AuthError,
    CredentialsRejected,
    DatasetNotFound,
    DatasetUnavailable,
    M2mdlError,
    NotLoggedIn,
    RateLimited,
    UnexpectedResponse,
)
from .util.jsontypes import JsonMapping
from .util.net import backoff_delay, parse_retry_after, redact_url, strip_query

#: errorCode -> error class. Codes from the official exception-codes page and the ones seen in
#: the wild (docs/design.md, "M2M API"), including the server's own misspelling.
ERRORS: dict[str, type[ApiError] | type[AuthError]] = {
    "AUTH_INVALID": CredentialsRejected,
    "AUTH_KEY_INVALID": NotLoggedIn,
    "AUTH_EXPIRED": NotLoggedIn,
    "AUTH_UNAUTHROIZED": AccessDenied,  # sic: what the server returns
    "AUTH_UNAUTHORIZED": AccessDenied,
    "UNAUTHORIZED_USER": AccessDenied,
    "DATASET_AUTH": DatasetUnavailable,
    "DATASET_UNAUTHORIZED": DatasetUnavailable,
    "DATASET_INVALID": DatasetNotFound,
    "RATE_LIMIT": RateLimited,
    "RATE_LIMIT_USER": RateLimited,
    "RATE_LIMIT_USER_DL": RateLimited,
}
#: Codes after which a fresh login may help: the key idled out or was never valid.
RELOGIN_CODES = frozenset({"AUTH_EXPIRED", "AUTH_KEY_INVALID"})
#: Codes worth waiting for. RATE_LIMIT_USER means another request from this IP was in flight
#: (another m2mdl, a notebook); it clears within seconds. RATE_LIMIT_USER_DL is the
#: 15,000-per-15-minutes download cap: waiting minutes inside one run rarely helps, so it is
#: retried only within the same short budget and then reported.
RETRY_CODES = frozenset(
    {"RATE_LIMIT", "RATE_LIMIT_USER", "RATE_LIMIT_USER_DL", "SERVER_ERROR", "ENDPOINT_UNAVAILABLE"}
)
#: HTTP statuses that signal a passing server problem (502/503/504 from the proxy in front of
#: M2M, 500 from the application, 429 from a rate limiter).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


P = ParamSpec("P")
T = TypeVar("T")


def parsed(method: Callable[P, T]) -> Callable[P, T]:
    """Turn a badly shaped ``data`` (a number where a list belongs, a list where an object
    belongs...) into UnexpectedResponse instead of a Python error: only m2mdl's own errors
    may leave the client. Only the parsing of an envelope that already unwrapped cleanly
    can raise these built-in errors here."""
    endpoint = method.__name__.replace("_", "-")

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            raise UnexpectedResponse(
                f"{endpoint}: the answer's data has an unexpected shape ({type(exc).__name__})",
                endpoint=endpoint,
            ) from exc

    return wrapper


#: M2M's "one request at a time per IP" answer: another m2mdl (or a notebook) on this machine
#: holds the slot for a moment. Waited out on its own, longer budget (see RetryPolicy).
BUSY_CODE = "RATE_LIMIT_USER"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter for API calls.

    Two budgets. Server trouble (5xx, dropped connections, the other rate limits) gets
    ``attempts`` tries with delays drawn from [0, min(cap, base·2ⁿ)]. ``RATE_LIMIT_USER`` only
    means another client on this IP had a request in flight, so it is retried up to
    ``busy_attempts`` times with delays drawn from [busy_base, min(busy_cap, busy_base·2ⁿ)]
    (jitter spreads the waiters, so eight runs on one machine take turns instead of
    colliding again in step), never longer than ``busy_budget`` seconds in all for one call.
    """

    attempts: int = 6
    base: float = 1.0
    cap: float = 30.0
    busy_attempts: int = 25
    busy_base: float = 0.25
    busy_cap: float = 3.0
    busy_budget: float = 45.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (attempt counts from 1)."""
        return backoff_delay(attempt, base=self.base, cap=self.cap, retry_after=retry_after)

    def busy_delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th RATE_LIMIT_USER of one call."""
        return backoff_delay(attempt, base=self.busy_base, cap=self.busy_cap, floor=self.busy_base)


class Transient(Exception):
    """A failure worth retrying; ``final()`` is what the user sees if retries run out."""

    def __init__(self, reason: str, error: M2mdlError, *, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.error = error
        self.retry_after = retry_after

    def final(self) -> M2mdlError:
        """The error to report once the retries are spent."""
        if isinstance(self.error, ApiError) and self.error.code in RETRY_CODES:
            return self.error.with_message(
                f"{self.error.message} (still refused after retries with backoff)"
            )
        return self.error


def exc_code(exc: Exception) -> str | None:
    """The M2M errorCode an error carries, if any."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) else None


def json_envelope(response: requests.Response) -> JsonMapping | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, Mapping) and ("data" in body or "errorCode" in body):
        return body
    return None


def snippet(response: requests.Response) -> str:
    """A short, printable start of a non-JSON body, for the error message."""
    text = response.text[:200] if response.content else "empty body"
    text = " ".join(text.split())[:80]
    return redact_url(text) or "empty body"


def retry_after(response: requests.Response) -> float | None:
    """The response's Retry-After in seconds (delta-seconds or an HTTP date), or None."""
    return parse_retry_after(response.headers.get("Retry-After"))


def redirect_error(endpoint: str, response: requests.Response) -> ApiError:
    """The error for a 3xx from the API: named target, no secret (the query is dropped)."""
    location = response.headers.get("Location", "")
    target = strip_query(urljoin(response.url or "", location)) if location else "nowhere"
    return ApiError(
        f"{endpoint}: the M2M service answered HTTP {response.status_code}, a redirect to"
        f" {target!r}; m2mdl does not follow redirects of API calls",
        endpoint=endpoint,
        status=response.status_code,
        hint="check --api-url / M2MDL_API_URL (the endpoint may have moved); following it"
        " would send your token or session key to that address",
    )
