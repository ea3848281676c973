"""HTTP plumbing: the API and download sessions, URL checks, redaction.

``requests`` ignores ``Session.timeout`` (psf/requests#3341), so the session subclass applies a
(connect, read) default to every request, as pip's PipSession does.

Redirects are where secrets leak, so both sessions decide them here:

* **API calls never follow a redirect** (:func:`make_session`). ``login-token`` carries the
  application token in its body and a 307/308 re-sends the body; every other call carries the
  session key in ``X-Auth-Token``, which ``requests`` keeps across hosts (it strips only
  ``Authorization``). A 3xx from the API is an API error naming the target (exit 4).
* **Downloads follow redirects only to https**, or to loopback when the original URL was
  loopback (the sandbox), and never carry a credential header across a redirect
  (:func:`make_download_session`); the download session never holds the session key at all.
  A refused redirect fails the file at once (no retry: the next answer would be the same).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import requests

from . import __version__
from .errors import InsecureUrl
from .util.net import strip_query

__all__ = [
    "CREDENTIAL_HEADERS",
    "TLS_HINT",
    "USER_AGENT",
    "ApiSession",
    "DownloadSession",
    "TimeoutSession",
    "check_url",
    "is_loopback",
    "make_download_session",
    "make_session",
    "redirect_allowed",
    "tls_reason",
]

USER_AGENT = f"m2mdl/{__version__}"

#: What to do about a certificate that does not verify: a retry gets the same answer, and
#: turning verification off is the one fix that must not be suggested first.
TLS_HINT = (
    "check the system clock; behind a TLS-inspecting proxy set REQUESTS_CA_BUNDLE to its CA"
    " bundle (never M2MDL_VERIFY_TLS=0 on a shared network)"
)


def tls_reason(exc: Exception) -> str:
    """The verifier's own words from a TLS failure (``self-signed certificate``...)."""
    text = str(exc)
    marker = "certificate verify failed:"
    if marker in text:
        return text.split(marker, 1)[1].split("(", 1)[0].strip(" )'\"") or "certificate refused"
    return "handshake failed"


class TimeoutSession(requests.Session):
    """A requests.Session that applies a default timeout to every request."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(  # Any: requests.Session.request's arguments, passed on unchanged (typed there)
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send a request, with the session's timeout unless one is given."""
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


class ApiSession(TimeoutSession):
    """The API session: never follows a redirect (a 3xx comes back as the response)."""

    def request(  # Any: requests.Session.request's arguments, passed on unchanged (typed there)
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send a request without following redirects, whatever the caller asked."""
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


def make_session(*, timeout: float = 60.0, verify_tls: bool = True) -> TimeoutSession:
    """A session for M2M API calls: (10 s connect, ``timeout`` read), TLS verified by default,
    redirects never followed."""
    session = ApiSession((min(10.0, timeout), timeout))
    session.verify = verify_tls
    return session


#: Headers that could carry a credential; dropped from every redirected download request.
CREDENTIAL_HEADERS = ("X-Auth-Token", "Authorization", "Proxy-Authorization", "Cookie")


def redirect_allowed(origin: str, target: str) -> bool:
    """Whether a download that started at ``origin`` may follow a redirect to ``target``.

    https is always allowed. Plain http only from a plain-http loopback start to loopback (the
    sandbox): a download never drops from https to clear text, not even on loopback.
    """
    scheme = urlsplit(target).scheme
    if scheme == "https":
        return True
    origin_http = urlsplit(origin).scheme == "http"
    return scheme == "http" and origin_http and is_loopback(origin) and is_loopback(target)


class DownloadSession(requests.Session):
    """A session for file downloads that checks every redirect (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.headers["User-Agent"] = USER_AGENT

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """Refuse a redirect to plain http, and drop credential headers on every hop."""
        first = response.history[0] if response.history else response
        origin = str(first.request.url if first.request is not None else response.url)
        target = str(prepared_request.url)
        if not redirect_allowed(origin, target):
            # A FatalHttp fails the file at once: the engine does not retry it. Imported here:
            # the API client, which imports this module, does not need the engine.
            from .transfer.errors import FatalHttp

            raise FatalHttp(
                f"the download host redirected to {strip_query(target)!r}: plain http is not"
                " followed (it would leave TLS)"
            )
        for name in CREDENTIAL_HEADERS:
            prepared_request.headers.pop(name, None)
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]


def make_download_session() -> requests.Session:
    """A session for the transfer engine's ``session_factory``: redirects checked per hop."""
    return DownloadSession()


def is_loopback(url: str) -> bool:
    """True when the URL's host is a loopback address or ``localhost``."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str = "API URL") -> str:
    """Require an http(s) URL, and https unless it points at loopback (the sandbox).

    Raises:
        InsecureUrl: a plain-http URL to another host, or not an http(s) URL at all.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InsecureUrl(f"{what} {strip_query(url)!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(url):
        raise InsecureUrl(
            f"{what} {strip_query(url)!r} uses plain http; the session key would travel in clear",
            hint="use https (plain http is allowed only for 127.0.0.1/localhost)",
        )
    return url
