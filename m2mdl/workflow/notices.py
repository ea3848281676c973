"""USGS's own notices (maintenance windows) and the download-request quota.

USGS announces maintenance through the M2M ``notifications`` endpoint: during a window,
downloads fail while searches work. Before a download, :func:`show_notices` prints each
current notice as one warning line, at most once a day per notice, and asks the service at
most once a day (the answer is cached in ``notices.json`` in the state directory). Failing to
read the notices never stops a download: they are advice, logged and skipped.

``rate-limit-summary`` reports how many download requests are left (15,000 per 15 minutes;
see docs/design.md, "M2M API"); ``m2mdl login --status`` shows it with the notices.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..api import M2MClient
from ..config import state_dir
from ..errors import M2mdlError
from ..m2m_requests import Notifications, RateLimitSummary
from ..manifest import atomic_write_json
from ..output import envelope
from ..util.jsontypes import JsonMapping, JsonObject, JsonValue
from .context import Context, Reporter

log = logging.getLogger("m2mdl.workflow")

#: How long a fetched list of notices is trusted, and how long a shown notice stays quiet.
CACHE_SECONDS = 24 * 3600.0
CACHE_NAME = "notices.json"
#: The systems whose notices matter to a download: the API itself and EarthExplorer, whose
#: download hosts serve the files. Each answer is one short list.
SYSTEMS = ("M2M", "EE")
#: Severities (``severityText`` or ``severityCode``) of a merely informational notice;
#: "notice" is what :meth:`Notice.from_json` records when the answer names none.
INFORMATIONAL = frozenset({"i", "info", "informational", "notice", ""})
#: Words in a notice's text that mark it as more than informational, whatever its severity:
#: a maintenance window announced with an informational severity still breaks downloads.
TROUBLE_WORDS = ("maintenance", "outage", "unavailable", "downtime", "degraded", "interruption")


@dataclass(frozen=True)
class Notice:
    """One USGS notification."""

    notice_id: str
    subject: str
    message: str
    severity: str
    updated: str | None = None

    @classmethod
    def from_json(cls, raw: JsonMapping) -> Notice:
        """Build from one element of the ``notifications`` answer."""
        return cls(
            notice_id=str(raw.get("id") or ""),
            subject=" ".join(str(raw.get("subject") or "").split()),
            message=" ".join(str(raw.get("messageContent") or "").split()),
            severity=str(raw.get("severityText") or raw.get("severityCode") or "notice"),
            updated=None if raw.get("dateUpdated") is None else str(raw.get("dateUpdated")),
        )

    def to_json(self) -> JsonObject:
        """The shape ``from_json`` reads (kept in the cache file)."""
        return {
            "id": self.notice_id,
            "subject": self.subject,
            "messageContent": self.message,
            "severityText": self.severity,
            "dateUpdated": self.updated,
        }

    @property
    def text(self) -> str:
        """ "subject: message" on one line (either part may be missing)."""
        return ": ".join(part for part in (self.subject, self.message) if part)

    @property
    def serious(self) -> bool:
        """More than informational: by its severity, or by words such as "maintenance"."""
        text = self.text.lower()
        return self.severity.strip().lower() not in INFORMATIONAL or any(
            word in text for word in TROUBLE_WORDS
        )

    def line(self) -> str:
        """ "USGS notice (Informational): subject: message" on one line."""
        return f"USGS notice ({self.severity.lower()}): {self.text}"


@dataclass(frozen=True)
class Quota:
    """Download requests left, the lowest of the per-user and per-IP counts.

    ``lowest`` is the smallest remaining count of any kind, as (``limitType``, count name,
    value), e.g. ``("user", "recentDownloadCount", 0)``: whichever reaches 0 first stops
    downloads. None when the answer holds no remaining counts.
    """

    recent_left: int | None
    recent_limit: int | None
    pending_left: int | None
    unattempted_left: int | None
    lowest: tuple[str, str, int] | None = None

    @classmethod
    def from_json(cls, data: JsonMapping) -> Quota:
        """Build from the ``rate-limit-summary`` answer."""

        def lowest(entries: JsonValue, name: str) -> int | None:
            values = [
                int(e[name])
                for e in (entries if isinstance(entries, list) else [])
                if isinstance(e, Mapping) and isinstance(e.get(name), (int, float))
            ]
            return min(values) if values else None

        remaining, initial = data.get("remainingLimits"), data.get("initialLimits")
        return cls(
            recent_left=lowest(remaining, "recentDownloadCount"),
            recent_limit=lowest(initial, "recentDownloadCount"),
            pending_left=lowest(remaining, "pendingDownloadCount"),
            unattempted_left=lowest(remaining, "unattemptedDownloadCount"),
            lowest=_lowest_count(remaining),
        )

    def line(self) -> str:
        """ "download requests left: 14,999 of 15,000 per 15 min (...)"."""
        if self.recent_left is None:
            return "download requests left: unknown"
        limit = f" of {self.recent_limit:,}" if self.recent_limit is not None else ""
        extra = [
            f"{value:,} {name}"
            for name, value in (
                ("pending", self.pending_left),
                ("unattempted", self.unattempted_left),
            )
            if value is not None
        ]
        tail = f" ({', '.join(extra)} left)" if extra else ""
        return f"download requests left: {self.recent_left:,}{limit} per 15 min{tail}"


def _lowest_count(entries: JsonValue) -> tuple[str, str, int] | None:
    """The smallest ``*Count`` over ``remainingLimits`` entries, with its limit type."""
    counts = [
        (str(entry.get("limitType", "?")), str(name), int(value))
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, Mapping)
        for name, value in entry.items()
        if str(name).endswith("Count")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    ]
    return min(counts, key=lambda count: count[2], default=None)


def fetch_notices(client: M2MClient) -> list[Notice]:
    """Current notices of every system in ``SYSTEMS``, without duplicates.

    Raises:
        M2mdlError: the service could not be asked.
    """
    notices: dict[str, Notice] = {}
    for system in SYSTEMS:
        answer = client.call("notifications", Notifications(system).to_json())
        for raw in answer if isinstance(answer, list) else []:
            if isinstance(raw, Mapping):
                notice = Notice.from_json(raw)
                notices.setdefault(notice.notice_id or notice.line(), notice)
    return list(notices.values())


def fetch_quota(client: M2MClient) -> Quota:
    """The download-request quota from ``rate-limit-summary``.

    Raises:
        M2mdlError: the service could not be asked.
    """
    answer = client.call("rate-limit-summary", RateLimitSummary().to_json())
    return Quota.from_json(answer if isinstance(answer, Mapping) else {})


class NoticeCache:
    """``notices.json``: the last answer, when it was fetched, and when each was shown."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fetched_at: float | None = None
        self.notices: list[Notice] = []
        self.shown: dict[str, float] = {}
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            self.fetched_at = float(doc["fetched_at"])
            self.notices = [Notice.from_json(n) for n in doc["notices"]]
            self.shown = {str(k): float(v) for k, v in doc.get("shown", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # missing or damaged: fetched again, and rewritten whole

    def fresh(self, now: float) -> bool:
        """True while the cached answer is younger than ``CACHE_SECONDS``."""
        return self.fetched_at is not None and 0 <= now - self.fetched_at < CACHE_SECONDS

    def save(self) -> None:
        """Write the cache (a failure is logged: notices are never worth an error)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(
                self.path,
                envelope(
                    "notices-cache",
                    {
                        "fetched_at": self.fetched_at,
                        "notices": [n.to_json() for n in self.notices],
                        "shown": self.shown,
                    },
                ),
            )
        except OSError as exc:
            log.info("could not write %s: %s", self.path, exc)


def current_notices(ctx: Context, cache: NoticeCache) -> list[Notice]:
    """The cached notices, asked again when older than a day (a failure keeps the old list)."""
    now = ctx.clock()
    if not cache.fresh(now):
        try:
            cache.notices = fetch_notices(ctx.client())
            cache.fetched_at = now
        except M2mdlError as exc:
            log.info("could not read USGS notices: %s", exc)
            return cache.notices
        cache.save()
    return cache.notices


def show_notices(ctx: Context, ui: Reporter, cache_path: Path | None = None) -> list[Notice]:
    """Warn once (per notice and day) about each current USGS notice; returns those shown.

    Called before a download starts. Never raises for the service or the cache: a run must
    not fail because its advice could not be read.
    """
    cache = NoticeCache(cache_path or state_dir() / CACHE_NAME)
    now = ctx.clock()
    due = [
        n
        for n in current_notices(ctx, cache)
        if not 0 <= now - cache.shown.get(n.notice_id, -CACHE_SECONDS * 2) < CACHE_SECONDS
    ]
    for notice in due:
        ui.warn(notice.line())
        cache.shown[notice.notice_id] = now
    if due:
        cache.shown = {k: v for k, v in cache.shown.items() if now - v < CACHE_SECONDS}
        cache.save()
    return due


@dataclass(frozen=True)
class ServiceStatus:
    """What ``login --status`` adds: notices and quota, or why they are unknown."""

    notices: Sequence[Notice]
    quota: Quota | None
    error: str | None = None


def service_status(ctx: Context) -> ServiceStatus:
    """Current notices (fresh, and cached for the next download) and the quota.

    Never raises for the service: the error text says what could not be read.
    """
    cache = NoticeCache(state_dir() / CACHE_NAME)
    try:
        client = ctx.client()
        notices = fetch_notices(client)
        cache.notices, cache.fetched_at = notices, ctx.clock()
        cache.save()
        return ServiceStatus(notices, fetch_quota(client))
    except M2mdlError as exc:
        return ServiceStatus(cache.notices, None, str(exc))
