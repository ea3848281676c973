"""Server-side state: users, API keys, scene lists and the download queue ("orders").

All of it lives for the server's lifetime. Scene lists and orders belong to the user, not to
the key, so they survive logout and re-login (official notebook: "scene-lists are preserved between
sessions"). One lock guards everything; handlers hold it only for short bookkeeping.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from m2mdl.sandbox.config import UserSpec

RECENT_LIMIT = 15_000  # downloads requested per rolling 15 minutes (reference page)
PENDING_LIMIT = 20_000
UNATTEMPTED_LIMIT = 20_000
RECENT_WINDOW = 900.0


@dataclass
class ApiKey:
    """An issued API key and its activity."""

    key: str
    user: UserSpec
    session_id: int
    last_used: float
    expired: bool = False


@dataclass
class SceneList:
    """A user's scene list: ordered (datasetName, entityId) entries and an optional expiry."""

    entries: dict[tuple[str, str], None] = field(default_factory=dict)
    expires: float | None = None


@dataclass
class OrderItem:
    """One requested download (a bundle or a single file) in a user's queue."""

    download_id: int
    username: str
    ip: str
    label: str
    product_id: str
    entity_id: str
    file_name: str  # the served file name (``<displayId>.tar`` or ``<displayId>_SR_B4.TIF``)
    display_id: str
    dataset_id: str
    collection: str
    product_code: str
    product_name: str
    filesize: int
    system: str  # ls_zip, ls_s3, dds, dds_ms
    created: float
    ready_at: float
    attempted: bool = False


_DURATION = re.compile(
    r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$"
)


def parse_duration(text: str) -> float | None:
    """Seconds of an ISO-8601 duration like ``P1M`` or ``PT2H`` (months = 30 days)."""
    m = _DURATION.match(text.strip().upper())
    if m is None or text.strip().upper() in ("P", "PT"):
        return None
    y, mo, w, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return float(((((y * 365 + mo * 30 + w * 7 + d) * 24 + h) * 60 + mi) * 60) + s)


class State:
    """Users, keys, lists and orders of one sandbox."""

    def __init__(self, users: tuple[UserSpec, ...], clock: Callable[[], float]) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.users = {u.username: u for u in users}
        self.keys: dict[str, ApiKey] = {}
        self.lists: dict[tuple[str, str], SceneList] = {}
        self.orders: dict[int, OrderItem] = {}
        self.by_product: dict[tuple[str, str, str], int] = {}
        self.requested: list[tuple[float, str, str, int]] = []  # (time, user, ip, count)
        self._next_session = 48213211
        self._next_download = 784781600

    def login(self, username: str, token: str) -> str | None:
        """A new API key for valid credentials, else None."""
        user = self.users.get(username)
        if user is None or not secrets.compare_digest(user.token, token):
            return None
        with self.lock:
            while True:
                payload = {
                    "cid": user.contact_id,
                    "s": str(int(self.clock())),
                    "r": secrets.randbelow(900) + 100,
                    "p": list(user.permissions),
                }
                key = base64.b64encode(json.dumps(payload, separators=(",", ":")).encode())
                if key.decode() not in self.keys:
                    break
            self._next_session += 1
            self.keys[key.decode()] = ApiKey(key.decode(), user, self._next_session, self.clock())
            return key.decode()

    def check_key(self, key: str | None, idle: float) -> tuple[ApiKey | None, str | None]:
        """(key, None) when valid and now touched; (None, errorCode) otherwise."""
        if not key:
            return None, "AUTH_KEY_INVALID"
        with self.lock:
            found = self.keys.get(key)
            if found is None:
                return None, "AUTH_KEY_INVALID"
            now = self.clock()
            if found.expired or now - found.last_used > idle:
                found.expired = True
                return None, "AUTH_EXPIRED"
            found.last_used = now
            return found, None

    def logout(self, key: ApiKey) -> None:
        """Destroy a key (later use answers AUTH_KEY_INVALID)."""
        with self.lock:
            self.keys.pop(key.key, None)

    def expire_keys(self) -> None:
        """Mark every key expired (test helper)."""
        with self.lock:
            for k in self.keys.values():
                k.expired = True

    def scene_list(self, username: str, list_id: str, create: bool = False) -> SceneList | None:
        """A user's list (dropping it if its timeToLive has passed)."""
        with self.lock:
            lst = self.lists.get((username, list_id))
            if lst is not None and lst.expires is not None and lst.expires < self.clock():
                del self.lists[(username, list_id)]
                lst = None
            if lst is None and create:
                lst = self.lists[(username, list_id)] = SceneList()
            return lst

    def new_download_id(self) -> int:
        """A fresh, increasing downloadId."""
        with self.lock:
            self._next_download += 1
            return self._next_download

    def user_items(self, username: str, label: str | None = None) -> list[OrderItem]:
        """A user's queue items, optionally for one label, in request order."""
        with self.lock:
            return [
                o
                for o in self.orders.values()
                if o.username == username and (label is None or o.label == label)
            ]

    def remove(self, item: OrderItem) -> None:
        """Drop an item from the queue (a later request of the product is new again)."""
        with self.lock:
            self.orders.pop(item.download_id, None)
            self.by_product.pop((item.username, item.product_id, item.entity_id), None)

    def note_requested(self, username: str, ip: str, count: int) -> None:
        """Count ``count`` downloads requested now (for the rolling 15-minute limit)."""
        with self.lock:
            now = self.clock()
            self.requested = [r for r in self.requested if now - r[0] < RECENT_WINDOW]
            self.requested.append((now, username, ip, count))

    def recent_count(self, username: str | None = None, ip: str | None = None) -> int:
        """Downloads requested in the last 15 minutes by a user (or from an IP)."""
        now = self.clock()
        with self.lock:
            return sum(
                n
                for t, u, i, n in self.requested
                if now - t < RECENT_WINDOW and (u == username or i == ip)
            )

    def limits(self, username: str, ip: str) -> list[dict[str, object]]:
        """remainingLimits for a user and an IP (download-request, rate-limit-summary)."""
        now = self.clock()
        out: list[dict[str, object]] = []
        for kind in ("user", "ip"):
            with self.lock:
                items = [
                    o
                    for o in self.orders.values()
                    if (o.username == username if kind == "user" else o.ip == ip)
                ]
            entry: dict[str, object] = {"limitType": kind}
            if kind == "user":
                entry["username"] = username
                entry["recentDownloadCount"] = RECENT_LIMIT - self.recent_count(username=username)
            else:
                entry["ipAddress"] = ip
                entry["recentDownloadCount"] = RECENT_LIMIT - self.recent_count(ip=ip)
            entry["pendingDownloadCount"] = PENDING_LIMIT - sum(o.ready_at > now for o in items)
            entry["unattemptedDownloadCount"] = UNATTEMPTED_LIMIT - sum(
                o.ready_at <= now and not o.attempted for o in items
            )
            out.append(entry)
        return out

    def mark_attempted(self, download_id: int) -> None:
        """Note that a download's URL was fetched (unattempted counter)."""
        with self.lock:
            item = self.orders.get(download_id)
            if item is not None:
                item.attempted = True
