"""HTTP plumbing shared by the API client: a session with a default timeout, URL checks, redaction.

``requests`` ignores ``Session.timeout`` (psf/requests#3341), so the session subclass applies a
(connect, read) default to every request, as pip's PipSession does.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from . import __version__
from .errors import InsecureUrl

USER_AGENT = f"m2mdl/{__version__}"
_SIGNATURE = re.compile(r"(requestSignature|signature|token|apiKey)=[^&\s]*", re.IGNORECASE)


class TimeoutSession(requests.Session):
    """A requests.Session that applies a default timeout to every request."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send a request, with the session's timeout unless one is given."""
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


def make_session(*, timeout: float = 60.0, verify_tls: bool = True) -> TimeoutSession:
    """A session for M2M API calls: (10 s connect, ``timeout`` read), TLS verified by default."""
    session = TimeoutSession((min(10.0, timeout), timeout))
    session.verify = verify_tls
    return session


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


def strip_query(url: str) -> str:
    """The URL without its query string: signed download URLs carry their signature there."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def redact_url(text: str) -> str:
    """Replace signature-like query values in a text (a log line, an error) by ``***``."""
    return _SIGNATURE.sub(lambda m: f"{m.group(1)}=***", text)
