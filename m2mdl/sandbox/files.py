"""The download host: signed landsatlook-style URLs, DDS URLs, Range, and file faults.

HEAD answers 405 (the real host's HEAD is unreliable: a 2023 report got HTTP 400 from it,
docs/design.md §M2M API: download hosts; UNCERTAIN which status). A staging URL answers 404 while
the item is preparing and redirects (302) to its ``/download/`` URL once ready (UNCERTAIN).
"""

from __future__ import annotations

import email.utils
import hashlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from m2mdl.sandbox import signing
from m2mdl.sandbox.app import App
from m2mdl.sandbox.faults import FaultCounters, FilePlan
from m2mdl.sandbox.products import ServedFile

from .jsontypes import JSON

_CHUNK = 256 * 1024


class Responder(Protocol):
    """What the HTTP handler offers the download host."""

    wfile: Any
    connection: socket.socket
    close_connection: bool

    def send_page(
        self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        """Send a complete small response."""

    def send_response(self, code: int, message: str | None = None) -> None:
        """Send the status line."""

    def send_header(self, keyword: str, value: str) -> None:
        """Send one header."""

    def end_headers(self) -> None:
        """Finish the header block."""


@dataclass
class FileRequest:
    """One download-host request and what its log record will say."""

    method: str
    target: str  # path + query as received
    headers: dict[str, str]
    record: dict[str, Any] = field(default_factory=dict)


def html_page(status: int, title: str, text: str) -> bytes:
    """A small HTML error page like a web server or CDN would send."""
    return (
        f"<!DOCTYPE html>\n<html><head><title>{status} {title}</title></head>"
        f"<body><h1>{title}</h1><p>{text}</p></body></html>\n"
    ).encode()


def etag(served: ServedFile, version: int) -> str:
    """Strong ETag that changes with the content version."""
    raw = f"{served.name}:{served.source.size}:{version}".encode()
    return '"' + hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:20] + '"'


def last_modified(served: ServedFile, version: int) -> str:
    """Last-Modified: noon of the acquisition day's processing, plus an hour per version."""
    base = (served.key.day - 719163) * 86400 + 43200 + 3600 * version
    return email.utils.formatdate(base, usegmt=True)


def parse_range(value: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end inclusive) for one ``bytes=`` range; None to ignore; "416" if unsatisfiable."""
    if not value or not value.strip().lower().startswith("bytes="):
        return None
    spec = value.strip()[6:].strip()
    if "," in spec or "-" not in spec:
        return None  # multi-range or garbage: answer the full body (RFC 9110 allows it)
    first, _, last = spec.partition("-")
    try:
        if first == "":
            n = int(last)
            return (max(0, size - n), size - 1) if n > 0 and size > 0 else "416"
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "416" if start >= size else None
    return start, min(end, size - 1)


@dataclass(frozen=True)
class Corruption:
    """``flip_byte_times`` / ``zero_body_times`` applied to the bytes of one response.

    The flipped byte is the middle of the file when the served range holds it, else the
    middle of the served range; a zeroed body keeps the file's magic header (its first
    ``keep`` bytes) and has zeros after it. Sizes and headers never change.
    """

    flip_at: int | None
    zero_from: int | None

    @staticmethod
    def of(served: ServedFile, plan: FilePlan, start: int, stop: int) -> Corruption | None:
        """The corruption of a response serving [start, stop), or None."""
        if not (plan.flip or plan.zero):
            return None
        flip_at = None
        if plan.flip:
            middle = served.source.size // 2
            flip_at = middle if start <= middle < stop else (start + stop) // 2
        zero_from = magic_length(served) if plan.zero else None
        return Corruption(flip_at, zero_from)

    def apply(self, data: bytes, offset: int) -> bytes:
        """``data`` read at ``offset`` with the corruption applied."""
        buf = bytearray(data)
        if self.zero_from is not None and offset + len(buf) > self.zero_from:
            cut = max(0, self.zero_from - offset)
            buf[cut:] = bytes(len(buf) - cut)
        if self.flip_at is not None and offset <= self.flip_at < offset + len(buf):
            buf[self.flip_at - offset] ^= 0xFF
        return bytes(buf)


def magic_length(served: ServedFile) -> int:
    """How many leading bytes identify the file type (kept by ``zero_body_times``)."""
    if served.is_bundle:
        return 512  # the first member's tar header
    return {"tif": 8, "jpeg": 20}.get(served.name.rsplit(".", 1)[-1].lower(), 64)


class DownloadHost:
    """Resolves download URLs and streams files with the configured faults."""

    def __init__(self, app: App, counters: FaultCounters, stop: threading.Event) -> None:
        self.app = app
        self.counters = counters
        self.stop = stop

    def resolve(self, req: FileRequest) -> tuple[ServedFile | None, int, str]:
        """(file, HTTP status if not servable, reason) for a request target."""
        parts = urlsplit(req.target)
        query = parse_qs(parts.query)
        path = parts.path
        if path.startswith("/download/") or path.startswith("/download-staging/"):
            return self._dds(path, req)
        if path == "/gen-browse":
            pid = (query.get("product_id") or [""])[0]
            size = "large" if (query.get("size") or [""])[0] in ("rrb", "frb") else "small"
            served = self.app.catalog.served_file(f"{pid}_thumb_{size}.jpeg")
            return served, 404 if served is None else 0, "browse"
        if path == "/gen-bundle":
            name = (query.get("landsat_product_id") or [""])[0] + ".tar"
        else:
            name = path.rsplit("/", 1)[-1]
        served = self.app.catalog.served_file(name)
        if served is None or path.lstrip("/") not in (
            served.rel_path.split("?")[0],
            served.static_path,
        ):
            return None, 404, "no such file"
        return served, *self._check_signature(served, query)

    def _check_signature(self, served: ServedFile, query: dict[str, list[str]]) -> tuple[int, str]:
        token = (query.get("requestSignature") or [""])[0]
        sig = signing.verify(self.app.config.secret, token) if token else None
        wanted = served.display_id if served.is_bundle else served.name
        if sig is None or sig.file_id != wanted:
            return 403, "missing or invalid requestSignature"
        ttl = self.app.config.faults.url_ttl
        # dateGenerated has whole seconds (as recorded), so a URL signed during second S
        # counts from the end of S: otherwise a sub-second TTL could be expired on issue.
        if ttl is not None and self.app.state.clock() - (sig.generated + 1.0) > ttl:
            return 403, "request signature has expired"
        self.app.state.mark_attempted(sig.download_id)
        return 0, "ok"

    def _dds(self, path: str, req: FileRequest) -> tuple[ServedFile | None, int, str]:
        staging = path.startswith("/download-staging/")
        token = path.split("/", 2)[2]
        parsed = signing.parse_dds_token(token)
        item = self.app.state.orders.get(parsed[0]) if parsed else None
        user = self.app.state.users.get(item.username) if item else None
        if item is None or user is None or parsed is None or user.contact_id != parsed[1]:
            return None, 404, "unknown download"
        if item.ready_at > self.app.state.clock():
            return None, 404, "download is being prepared"
        if staging:
            req.record["location"] = f"{self.app.base_url}/download/{token}"
            return None, 302, "ready"
        self.app.state.mark_attempted(item.download_id)
        return self.app.catalog.served_file(item.file_name), 0, "ok"

    def serve(self, out: Responder, req: FileRequest) -> None:
        """Answer one download-host request (GET or HEAD)."""
        served, status, reason = self.resolve(req)
        rec = req.record
        rec.update(
            kind="file",
            method=req.method,
            status=status,
            bytes=0,
            file=served.name if served else None,
            range=req.headers.get("range"),
            if_range=req.headers.get("if-range"),
            error_code=None,
            event=None,
        )
        if status == 302:
            out.send_page(302, b"", "text/html", {"Location": rec.pop("location")})
            return
        if served is None or status:
            titles = {403: "Forbidden", 404: "Not Found"}
            out.send_page(
                status,
                html_page(status, titles.get(status, "Error"), reason),
                "text/html; charset=utf-8",
            )
            return
        if req.method == "HEAD":
            rec["status"] = 405
            out.send_page(405, b"", "text/html", {"Allow": "GET"})
            return
        plan = self.counters.file_request(served.name)
        time.sleep(self.app.config.faults.ttfb)
        if self._early_fault(out, plan, rec):
            return
        self._send_file(out, req, served, plan)

    def _early_fault(self, out: Responder, plan: FilePlan, rec: JSON) -> bool:
        f = self.app.config.faults
        if plan.fail and f.fail_status is not None:
            extra = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
            rec.update(status=f.fail_status, event="fail")
            out.send_page(
                f.fail_status,
                html_page(f.fail_status, "Service Unavailable", "Please try again later."),
                "text/html; charset=utf-8",
                extra,
            )
            return True
        if plan.html200:
            rec.update(status=200, event="html200")
            out.send_page(
                200,
                html_page(200, "Maintenance", "The download service is temporarily unavailable."),
                "text/html; charset=utf-8",
            )
            return True
        return False

    def _send_file(
        self, out: Responder, req: FileRequest, served: ServedFile, plan: FilePlan
    ) -> None:
        size = served.source.size
        tag, modified = etag(served, plan.version), last_modified(served, plan.version)
        rng = (
            None
            if self.app.config.faults.ignore_range
            else parse_range(req.headers.get("range"), size)
        )
        if_range = req.headers.get("if-range")
        if rng is not None and if_range is not None and if_range.strip() not in (tag, modified):
            rng = None  # validator changed: full body (RFC 9110 If-Range)
        name = self.app.config.faults.evil_filename or served.name
        headers = {
            "Content-Disposition": f'attachment; filename="{name}"',
            "ETag": tag,
            "Last-Modified": modified,
            "Accept-Ranges": "bytes",
        }
        if rng == "416":
            req.record.update(status=416)
            headers["Content-Range"] = f"bytes */{size}"
            out.send_page(416, b"", "text/plain", headers)
            return
        start, end = rng if isinstance(rng, tuple) else (0, size - 1)
        status = 206 if isinstance(rng, tuple) else 200
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        if plan.version:
            req.record["event"] = "mutated"
        if plan.flip or plan.zero:
            req.record["event"] = "flip_byte" if plan.flip else "zero_body"
        req.record["status"] = status
        out.send_response(status)
        out.send_header("Content-Type", served.content_type)
        out.send_header("Content-Length", str(end - start + 1))
        for key, value in headers.items():
            out.send_header(key, value)
        out.end_headers()
        self._body(out, req, served, plan, start, end + 1)

    def _body(
        self,
        out: Responder,
        req: FileRequest,
        served: ServedFile,
        plan: FilePlan,
        start: int,
        stop: int,
    ) -> None:
        f = self.app.config.faults
        limit = stop - start
        cut = f.drop_after if plan.drop else f.stall_after if plan.stall else None
        sent, began = 0, time.monotonic()
        corrupt = Corruption.of(served, plan, start, stop)
        chunk_size = min(_CHUNK, max(1024, f.rate // 20)) if f.rate else _CHUNK
        try:
            while sent < limit:
                want = min(chunk_size, limit - sent)
                if cut is not None:
                    want = min(want, cut - sent)
                if want <= 0:
                    break
                data = served.source.read(start + sent, want, plan.version)
                out.wfile.write(corrupt.apply(data, start + sent) if corrupt else data)
                sent += want
                req.record["bytes"] = sent
                if f.rate:
                    delay = sent / f.rate - (time.monotonic() - began)
                    if delay > 0:
                        self.stop.wait(delay)
        except OSError:
            req.record["event"] = "client_closed"
            out.close_connection = True
            return
        if sent < limit:
            self._cut(out, req, plan)

    def _cut(self, out: Responder, req: FileRequest, plan: FilePlan) -> None:
        out.close_connection = True
        if plan.drop:
            req.record["event"] = "drop"
            # SO_LINGER 0 + close sends an RST, like a dying proxy (docs/design.md §Transfer engine:
            # fault server)
            out.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            out.connection.close()
            return
        req.record["event"] = "stall"
        self.stop.wait(self.app.config.faults.stall_seconds)
