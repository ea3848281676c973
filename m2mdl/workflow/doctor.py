"""``m2mdl doctor``: check a real setup end to end, each step ok / warn / fail with a fix.

The checks run in the order a download needs them, each one line:

1. configuration (settings resolved, URLs usable) and the credential store in use;
2. DNS, TLS and HTTP reachability of the M2M API, the download host and the STAC API;
3. clock skew against those servers' ``Date`` headers (signed URLs and TLS care);
4. ``login-token`` with the stored token, then ``permissions`` (download access);
5. ``notifications`` of M2M and EE (a maintenance notice is a warning) and
   ``rate-limit-summary`` (the lowest remaining count);
6. one small ``scene-search`` and one ``download-options``;
7. free space and write access in the output directory;
8. with ``download=True``: one small file (ANG.txt, else MTL.txt) through download-request,
   download-retrieve and the transfer engine, checked against its STAC ``file:checksum``;
   its download order is removed afterwards.

A check that cannot run because an earlier one failed is reported as ``skip``.

Exit code (:meth:`DoctorResult.exit_code`): 0 when every check is ok; otherwise the
documented code of the first failed check that stands for a documented error (3 no access
or login refused, 4 API refused, 5 network, 2 bad configuration); otherwise 1 ("needs
attention": a warning, a skewed clock, a full or read-only directory). 1 is also
``ExitCode.BUG`` elsewhere; doctor never maps a bug to it on purpose, and a bug inside
doctor still reaches ``cli._app.handle`` as "internal error".

The download host is the host of a download URL once one is known (``download=True``);
before that it is ``landsatlook.usgs.gov``, or the API's own host when the API is on
loopback (the sandbox serves files itself).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

from .. import __version__
from ..api import M2MClient
from ..auth import StoredSession, resolve_session
from ..errors import AccessDenied, ExitCode, M2mdlError, literal
from ..http import TLS_HINT, USER_AGENT, check_url, is_loopback, make_session, tls_reason
from ..m2m_requests import AcquisitionFilter, DownloadItem, MbrFilter, SceneFilter
from ..manifest import new_run_id
from ..models import Product, Scene
from ..output import envelope
from ..recorder import Recorder, endpoint_of
from ..stac import Lookup, StacClient
from ..transfer import FileJob, FileResult, NullSink, TransferOptions, run_transfers
from ..util.jsontypes import JsonObject
from ..util.net import redact_url
from .account import DOWNLOAD_PERMISSION
from .cleanup import LABEL_PREFIX
from .context import Context
from .notices import fetch_notices, fetch_quota
from .plan import PlannedFile, plan_bands, secondary_files

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
DEFAULT_DOWNLOAD_HOST = "https://landsatlook.usgs.gov/"
#: Clock skew: above WARN_SKEW seconds a warning, above FAIL_SKEW a failure (signed URLs
#: carry their creation time; TLS certificates are checked against the local clock).
WARN_SKEW, FAIL_SKEW = 60.0, 300.0
#: Free space below this is a warning (a Landsat bundle is about 1 GB).
LOW_SPACE = 2 * 10**9
#: The small search: an area around USGS EROS (Sioux Falls), the last SEARCH_DAYS days.
SEARCH_AREA = MbrFilter(west=-97.5, south=43.0, east=-95.5, north=44.5)
SEARCH_DAYS = 60
#: The small files ``doctor --download`` fetches, in order of preference.
SMALL_FILES = ("_ANG.txt", "_MTL.txt")
_FIX_NET = "check the network, DNS and proxy settings (HTTPS_PROXY, NO_PROXY), then run again"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's verdict.

    Attributes:
        name: what was checked ("login-token", "STAC API", ...).
        status: "ok", "warn", "fail" or "skip".
        detail: one line saying what was found.
        fix: one line saying what to do, for warn and fail; a :func:`m2mdl.errors.spell`
            template (``${out_dir}``, ``${report}``), so the CLI names its flags.
        code: the documented exit code this failure stands for, or None.
    """

    name: str
    status: str
    detail: str
    fix: str | None = None
    code: int | None = None

    def to_json(self) -> JsonObject:
        """The check as JSON (``doctor --json`` and the report)."""
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
            "exit_code": self.code,
        }


@dataclass
class DoctorResult:
    """Every check, in order."""

    checks: list[Check] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 all ok; the first documented failure's code; else 1 (needs attention)."""
        if all(c.status in (OK, SKIP) for c in self.checks):
            return int(ExitCode.OK)
        for check in self.checks:
            if check.status == FAIL and check.code is not None:
                return check.code
        return int(ExitCode.ATTENTION)


@dataclass(frozen=True)
class DoctorOptions:
    """What to check beyond the defaults."""

    out_dir: Path
    download: bool = False
    wait: float = 120.0  # how long a prepared file may take to become ready (--download)


def _failure(name: str, exc: M2mdlError) -> Check:
    hint = literal(exc.hint) if exc.hint is not None else None
    return Check(name, FAIL, redact_url(str(exc)), hint, int(exc.exit_code))


class Doctor:
    """Runs the checks against one context; ``on_check`` sees each check as it ends."""

    def __init__(
        self,
        ctx: Context,
        options: DoctorOptions,
        recorder: Recorder | None = None,
        on_check: Callable[[Check], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ctx, self.options = ctx, options
        self.recorder = recorder or Recorder()
        self.on_check = on_check
        self.sleep = sleep
        self.result = DoctorResult()
        self.session: StoredSession | None = None
        self.client: M2MClient | None = None
        self.scene: Scene | None = None
        self.products: list[Product] = []
        self.skews: list[tuple[str, float]] = []

    def add(self, check: Check) -> Check:
        """Record a check and tell the caller."""
        self.result.checks.append(check)
        if self.on_check is not None:
            self.on_check(check)
        return check

    def run(self) -> DoctorResult:
        """Every check in order; never raises for something the user or the service causes."""
        settings = self.ctx.settings
        self.add(self.check_config())
        self.add(self.check_credentials())
        probe = self._probe_session()
        self.add(self.check_host("M2M API", settings.api_url, probe))
        self.add(self.check_host("download host", self._download_host(), probe))
        self.add(self.check_host("STAC API", settings.stac_url.rstrip("/") + "/", probe))
        self.add(self.check_clock())
        for name, step in (
            ("login-token", self.check_login),
            ("permissions", self.check_permissions),
            ("notifications", self.check_notifications),
            ("rate-limit-summary", self.check_quota),
            ("scene-search", self.check_search),
            ("download-options", self.check_options),
        ):
            self.add(self._service_step(name, step))
        self.add(self.check_out_dir())
        if self.options.download:
            self.add(self._service_step("download", self.check_download))
        return self.result

    def _service_step(self, name: str, step: Callable[[], Check]) -> Check:
        needs_login = name != "login-token"
        if self.session is None or (needs_login and self.client is None):
            return Check(name, SKIP, "skipped: no working login")
        try:
            return step()
        except M2mdlError as exc:
            return _failure(name, exc)

    # --- configuration and credentials --------------------------------------------------------

    def check_config(self) -> Check:
        """Settings resolved (the CLI already did) and every URL usable."""
        settings = self.ctx.settings
        try:
            check_url(settings.api_url)
            check_url(settings.stac_url, "STAC URL")
        except M2mdlError as exc:
            return _failure("configuration", exc)
        return Check(
            "configuration",
            OK,
            f"API {settings.api_url}, STAC {settings.stac_url}, dataset {settings.dataset}",
        )

    def check_credentials(self) -> Check:
        """Where the login lives (with the keyring backend) and that it can be read."""
        store = self.ctx.store.description
        try:
            session = resolve_session(self.ctx.store)
        except M2mdlError as exc:
            check = _failure("credentials", exc)
            return Check(
                check.name, FAIL, f"{check.detail} (store: {store})", check.fix, check.code
            )
        self.session = session
        creds = session.credentials
        self.recorder.add_secret(creds.username, creds.token, session.api_key)
        source = "environment (M2MDL_USERNAME, M2MDL_TOKEN)" if session.from_env else store
        return Check("credentials", OK, f"user {creds.username}; secret in {source}")

    # --- network ------------------------------------------------------------------------------

    def _probe_session(self) -> requests.Session:
        timeout = min(self.ctx.settings.timeout, 20.0)
        session = make_session(timeout=timeout, verify_tls=self.ctx.settings.verify_tls)
        return self.recorder.attach(session)

    def _download_host(self, url: str | None = None) -> str:
        if url:
            parts = urlsplit(url)
            return f"{parts.scheme}://{parts.netloc}/"
        api = self.ctx.settings.api_url
        return self._download_host(api) if is_loopback(api) else DEFAULT_DOWNLOAD_HOST

    def check_host(self, name: str, url: str, session: requests.Session) -> Check:
        """DNS, TLS and an HTTP answer from ``url``; notes the server's clock."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        proxies = requests.utils.get_environ_proxies(url)
        proxy = proxies.get(parts.scheme) or proxies.get("all")
        address = "via proxy" if proxy else ""
        if not proxy:
            try:
                infos = socket.getaddrinfo(
                    host, parts.port or (80 if parts.scheme == "http" else 443)
                )
                address = str(infos[0][4][0])
            except (OSError, UnicodeError) as exc:
                self.recorder.note("dns", host=host, error=str(exc))
                return Check(
                    name, FAIL, f"cannot resolve {host}: {exc}", _FIX_NET, int(ExitCode.NETWORK)
                )
        try:
            response = session.get(url, allow_redirects=False)
            received = time.time()
        except requests.exceptions.SSLError as exc:
            self.recorder.note("tls", url=url, error=redact_url(str(exc))[:500])
            return Check(
                name,
                FAIL,
                f"TLS failed for {host}: {tls_reason(exc)}",
                TLS_HINT,
                int(ExitCode.NETWORK),
            )
        except requests.RequestException as exc:
            self.recorder.note("connect", url=url, error=redact_url(str(exc))[:500])
            reason = "proxy refused" if isinstance(exc, requests.exceptions.ProxyError) else ""
            return Check(
                name, FAIL, f"cannot reach {host}: {reason or type(exc).__name__}", _FIX_NET, 5
            )
        with response:
            self._note_clock(host, response, received)
            status = response.status_code
        tls = "TLS ok" if parts.scheme == "https" else "plain http (loopback)"
        took = response.elapsed.total_seconds() * 1000
        detail = f"{host} ({address}), {tls}, HTTP {status} in {took:.0f} ms"
        if status >= 500:
            fix = "the service is down or in maintenance; try again later"
            if name == "STAC API":
                fix = "checksums cannot be looked up now (downloads still work); try again later"
            return Check(name, FAIL, f"{detail}: the server is failing", fix, int(ExitCode.NETWORK))
        if name == "STAC API" and status >= 300:
            return Check(
                name,
                FAIL,
                f"{detail}: not a STAC API root",
                "check the STAC URL (M2MDL_STAC_URL or stac_url in the config file)",
            )
        return Check(name, OK, detail)

    def _note_clock(self, host: str, response: requests.Response, received: float) -> None:
        header = response.headers.get("Date")
        if not header:
            return
        try:
            server = parsedate_to_datetime(header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        # Date has a resolution of one second and was stamped while the answer travelled.
        slack = 1.0 + response.elapsed.total_seconds()
        skew = server - received
        self.skews.append((host, 0.0 if abs(skew) <= slack else skew))

    def check_clock(self) -> Check:
        """The largest difference between the local clock and a server's Date header."""
        if not self.skews:
            return Check("clock", SKIP, "no server answered with a Date header")
        host, skew = max(self.skews, key=lambda s: abs(s[1]))
        if skew == 0:
            text = f"in step with {host} and the other servers"
        else:  # skew = server - local: a positive skew means the local clock is behind
            side = "behind" if skew > 0 else "ahead of"
            text = f"the local clock is {abs(skew):.0f} s {side} {host}"
        fix = "synchronise the system clock (NTP, e.g. `timedatectl set-ntp true`)"
        if abs(skew) > FAIL_SKEW:
            return Check("clock", FAIL, text, fix + "; signed URLs and TLS checks depend on it")
        if abs(skew) > WARN_SKEW:
            return Check("clock", WARN, text, fix)
        return Check("clock", OK, text)

    # --- the service --------------------------------------------------------------------------

    def check_login(self) -> Check:
        """``login-token`` with the stored username and token (a fresh session key)."""
        assert self.session is not None
        client = self.ctx.client()
        self.recorder.attach(client.session)
        creds = self.session.credentials
        key = client.login(creds.username, creds.token)
        self.recorder.add_secret(key)
        self.client = client
        kept = "not stored: environment login" if self.session.from_env else "stored"
        return Check("login-token", OK, f"the token is accepted; new session key {kept}")

    def check_permissions(self) -> Check:
        """``permissions`` must include download access."""
        assert self.client is not None
        permissions = self.client.permissions()
        shown = ", ".join(permissions) or "none"
        if DOWNLOAD_PERMISSION not in permissions:
            return Check(
                "permissions",
                FAIL,
                f"no download access (permissions: {shown})",
                AccessDenied.default_hint,
                int(AccessDenied.exit_code),
            )
        return Check("permissions", OK, shown)

    def check_notifications(self) -> Check:
        """Current USGS notices (M2M and EE); anything beyond informational is a warning."""
        assert self.client is not None
        notices = fetch_notices(self.client)
        serious = [n for n in notices if n.serious]
        if serious:
            more = f" (+{len(serious) - 1} more)" if len(serious) > 1 else ""
            return Check(
                "notifications",
                WARN,
                f"{serious[0].text[:200]}{more}",
                "USGS announces maintenance or trouble: expect failures in that window;"
                " run again after it",
            )
        return Check("notifications", OK, f"{len(notices)} informational notice(s)")

    def check_quota(self) -> Check:
        """``rate-limit-summary``: the smallest remaining download limit."""
        assert self.client is not None
        lowest = fetch_quota(self.client).lowest
        if lowest is None:
            return Check("rate-limit-summary", WARN, "the answer holds no remaining limits")
        kind, name, left = lowest
        detail = f"lowest remaining limit: {left} ({kind} {name})"
        if left <= 0:
            return Check(
                "rate-limit-summary",
                FAIL,
                detail,
                "the download quota is used up; wait 15 minutes, or let pending downloads"
                " finish (`m2mdl cleanup` removes old orders)",
            )
        return Check("rate-limit-summary", OK, detail)

    def check_search(self) -> Check:
        """One small scene-search: recent scenes around USGS EROS."""
        assert self.client is not None
        today = dt.datetime.now(dt.timezone.utc).date()
        scene_filter = SceneFilter(
            spatial=SEARCH_AREA,
            acquisition=AcquisitionFilter(today - dt.timedelta(days=SEARCH_DAYS), today),
        )
        dataset = self.ctx.settings.dataset
        page = self.client.scene_search(dataset, scene_filter, max_results=10)
        scenes = [s for s in page.scenes if s.download]
        if not scenes:
            return Check(
                "scene-search",
                WARN,
                f"search works, but {dataset} has no scene near Sioux Falls in the last"
                f" {SEARCH_DAYS} days",
                "check the dataset name (M2MDL_DATASET / config)",
            )
        self.scene = max(scenes, key=lambda s: (s.acquired or dt.date.min, s.display_id))
        return Check(
            "scene-search", OK, f"{page.total_hits} hit(s); newest {self.scene.display_id}"
        )

    def check_options(self) -> Check:
        """download-options for the scene found."""
        assert self.client is not None
        if self.scene is None:
            return Check("download-options", SKIP, "skipped: no scene to ask about")
        self.products = self.client.download_options(
            self.ctx.settings.dataset, entity_ids=[self.scene.entity_id]
        )
        ready = [p for p in self.products if p.available]
        files = len(secondary_files(self.products))
        if not ready:
            return Check(
                "download-options",
                WARN,
                f"{self.scene.display_id}: no product is available for download now",
                "new scenes can take a few days; try `m2mdl options` on an older scene",
            )
        return Check(
            "download-options",
            OK,
            f"{len(self.products)} product(s), {len(ready)} available, {files} single file(s)",
        )

    # --- local --------------------------------------------------------------------------------

    def check_out_dir(self) -> Check:
        """Write access and free space in the output directory (or its nearest parent)."""
        out = self.options.out_dir
        target = out
        while not target.exists() and target != target.parent:
            target = target.parent
        name = "output directory"
        if not target.is_dir():
            return Check(name, FAIL, f"{target} is not a directory", "choose another ${out_dir}")
        try:
            with tempfile.NamedTemporaryFile(dir=target, prefix=".m2mdl-doctor-") as probe:
                probe.write(b"m2mdl")
                probe.flush()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return Check(
                name, FAIL, f"cannot write in {target}: {reason}", "choose another ${out_dir}"
            )
        free = shutil.disk_usage(target).free
        where = str(out) if out == target else f"{out} (to be created in {target})"
        detail = f"{where}: writable, {free / 1e9:.1f} GB free"
        if free < LOW_SPACE:
            return Check(name, WARN, detail, "free some space: a Landsat bundle is about 1 GB")
        return Check(name, OK, detail)

    # --- one small download -------------------------------------------------------------------

    def check_download(self) -> Check:
        """One small file through the normal flow, verified against STAC, order removed."""
        assert self.client is not None
        planned = self._small_file()
        if planned is None:
            return Check("download", SKIP, "skipped: no ANG.txt or MTL.txt is available")
        label = f"{LABEL_PREFIX}doctor_{new_run_id()}"
        try:
            with self._scratch() as scratch:
                return self._fetch_and_verify(self.client, planned, label, scratch)
        finally:
            try:
                self.client.download_order_remove(label)
            except M2mdlError as exc:
                self.ctx.reporter.warn(
                    f"could not remove download order {label}: {exc}; `m2mdl cleanup` removes it"
                )

    def _small_file(self) -> PlannedFile | None:
        files = plan_bands(self.products).files
        for suffix in SMALL_FILES:
            for planned in files:
                if planned.file_name.endswith(suffix):
                    return planned
        return None

    @contextmanager
    def _scratch(self) -> Iterator[Path]:
        """A temporary directory on the output file system (else the system's)."""
        out = self.options.out_dir
        where = out if out.is_dir() else None
        path = Path(tempfile.mkdtemp(prefix=".m2mdl-doctor-", dir=where))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def _fetch_and_verify(
        self, client: M2MClient, planned: PlannedFile, label: str, scratch: Path
    ) -> Check:
        request = client.download_request(
            label, downloads=[DownloadItem(planned.entity_id, planned.product_id)]
        )
        url = next((i.url for i in request.available if i.url), None) or self._wait_ready(
            client, label
        )
        if url is None:
            return Check(
                "download",
                WARN,
                f"{planned.file_name} was still preparing after {self.options.wait:.0f} s",
                "USGS is slow to stage files now; run `m2mdl doctor ${download}` again later",
            )
        host = self._download_host(url)
        if host != self._download_host():
            self.add(self.check_host("download host (signed URL)", host, self._probe_session()))
        result = self._transfer(client, planned, label, url, scratch)
        if not result.ok:
            return self._transfer_failure(planned, result)
        return self._verify(planned, result.dest)

    def _wait_ready(self, client: M2MClient, label: str) -> str | None:
        deadline = time.monotonic() + self.options.wait
        delay = 2.0
        while time.monotonic() < deadline:
            self.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            for item in client.download_retrieve(label).ready().values():
                if item.url:
                    return item.url
            delay = min(delay * 2, 15.0)
        return None

    def _transfer(
        self, client: M2MClient, planned: PlannedFile, label: str, url: str, scratch: Path
    ) -> FileResult:
        def refresh() -> str:
            for item in client.download_retrieve(label).ready().values():
                if item.url:
                    return item.url
            raise M2mdlError("M2M has no fresh URL for the doctor's download")

        settings = self.ctx.settings
        options = TransferOptions(
            workers=1,
            segments=1,
            max_attempts=3,
            backoff_cap=5.0,
            deadline=time.monotonic() + max(60.0, settings.timeout * 2),
            verify_tls=settings.verify_tls,
            stall_seconds=settings.stall_seconds,
            user_agent=USER_AGENT,
        )
        job = FileJob(
            key=planned.key,
            url=url,
            dest=scratch / planned.file_name,
            expected_size=planned.size,
            kind=planned.kind,
            refresh_url=refresh,
        )
        return run_transfers(
            [job],
            options,
            NullSink(),
            session_factory=lambda: self.recorder.attach(requests.Session()),
        )[0]

    def _transfer_failure(self, planned: PlannedFile, result: FileResult) -> Check:
        last = self._last_file_response(planned.file_name)
        if last is not None and last[0] in (401, 403, 410):
            status, ctype = last
            page = "an HTML page" if "html" in ctype else ctype or "no content type"
            return Check(
                "download",
                FAIL,
                f"the download host answered HTTP {status} with {page} for {planned.file_name}",
                "a proxy, firewall or VPN may block landsatlook.usgs.gov, or the signed URL"
                " expired (check the clock); the ${report} holds the page",
                int(ExitCode.INCOMPLETE),
            )
        return Check(
            "download",
            FAIL,
            f"{planned.file_name}: {result.error or 'failed'}",
            "run `m2mdl doctor ${download} ${report} r.json` and attach r.json to a bug report",
            int(ExitCode.INCOMPLETE),
        )

    def _last_file_response(self, file_name: str) -> tuple[int, str] | None:
        for exchange in reversed(self.recorder.exchanges):
            request, response = exchange.get("request"), exchange.get("response")
            if request is None or response is None:
                continue
            path = unquote(urlsplit(str(request.get("url"))).path)
            if path.endswith("/" + file_name):
                headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
                return int(response["status"]), str(headers.get("content-type", ""))
        return None

    def _stac_lookup(self, display_id: str) -> Lookup:
        """The product's STAC checksums, asked through a recorded session (never raises)."""
        settings = self.ctx.settings
        stac = StacClient(
            settings.stac_url,
            timeout=min(settings.timeout, 20.0),
            verify_tls=settings.verify_tls,
        )
        self.recorder.attach(stac.session)
        try:
            return stac.lookup([display_id])
        finally:
            stac.close()

    def _verify(self, planned: PlannedFile, path: Path) -> Check:
        digest = hashlib.sha512(path.read_bytes()).hexdigest()
        size = path.stat().st_size
        lookup = self._stac_lookup(planned.scene_display_id)
        if lookup.error:
            return Check(
                "download",
                WARN,
                f"{planned.file_name} ({size} bytes) downloaded; no STAC checksum for it:"
                f" {lookup.error}",
                "checksums cannot be looked up now; try again later",
            )
        expected = lookup.checksums.get(planned.file_name)
        if expected is None:
            return Check(
                "download",
                OK,
                f"{planned.file_name} ({size} bytes) downloaded; STAC publishes no checksum"
                " for it (size and content checked)",
            )
        if expected != digest:
            return Check(
                "download",
                FAIL,
                f"{planned.file_name}: SHA-512 differs from the STAC checksum",
                "something between USGS and this machine altered the file (proxy, antivirus);"
                " attach the ${report} to a bug report",
                int(ExitCode.INCOMPLETE),
            )
        return Check(
            "download",
            OK,
            f"{planned.file_name} ({size} bytes) matches its STAC SHA-512; order removed",
        )


ATTACH = (
    "Attach this file to a bug report. The token, session keys, URL signatures, username,"
    " contact id and IP address are masked as ***; read it before sending anyway."
)
FIXTURES = (
    "Each M2M exchange's response.body is the envelope as sent, the shape of"
    " tests/data/m2m-real/: save it under the suggested fixture_name (see that folder's README)."
)


def build_report(doctor: Doctor) -> JsonObject:
    """The ``--report`` document: context, checks and every exchange, secrets masked."""
    settings = doctor.ctx.settings
    exchanges = doctor.recorder.redacted()
    day = dt.datetime.now(dt.timezone.utc).date().isoformat()
    for exchange in exchanges:
        request = exchange.get("request")
        endpoint = endpoint_of(str(request.get("url")), settings.api_url) if request else None
        if endpoint:
            exchange["endpoint"] = endpoint
            exchange["fixture_name"] = f"doctor-{day}-{endpoint}.json"
    return envelope(
        "doctor-report",
        {
            "m2mdl_version": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "settings": doctor.recorder.mask(
                {
                    "api_url": settings.api_url,
                    "stac_url": settings.stac_url,
                    "dataset": settings.dataset,
                    "out_dir": str(doctor.options.out_dir),
                    "verify_tls": settings.verify_tls,
                    "timeout": settings.timeout,
                    "credential_store": doctor.ctx.store.description,
                }
            ),
            "exit_code": doctor.result.exit_code,
            "checks": doctor.recorder.mask([c.to_json() for c in doctor.result.checks]),
            "attach": ATTACH,
            "fixtures": FIXTURES,
            "exchanges": exchanges,
        },
    )
