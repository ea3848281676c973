"""The M2M JSON API client: one method per endpoint m2mdl uses.

Every call goes through :meth:`M2MClient.call`, which
- serializes calls: the service allows one request in flight per IP (``RATE_LIMIT_USER``);
- unwraps the envelope ``{requestId, version, data, errorCode, errorMessage}`` whatever the HTTP
  status (errors have arrived with 200, 403 and 500 alike; docs/design.md, "M2M API");
- maps every ``errorCode`` to a typed error (:data:`m2mdl.envelope.ERRORS`);
- backs off and retries, a bounded number of times, on rate limits, 5xx and dropped
  connections;
- logs in again once, with the stored token, when the session key expired;
- never follows a redirect: a 3xx is an API error that names the target, since following it
  would send the token or the session key to another host (or in clear).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import requests

from .envelope import (
    BUSY_CODE,
    ERRORS,
    RELOGIN_CODES,
    RETRY_CODES,
    RETRY_STATUSES,
    RetryPolicy,
    Transient,
    exc_code,
    json_envelope,
    parsed,
    redirect_error,
    retry_after,
    snippet,
)
from .errors import (
    ApiError,
    DatasetNotFound,
    M2mdlError,
    NetworkError,
    NotLoggedIn,
    UnexpectedResponse,
)
from .http import TLS_HINT, tls_reason
from .m2m_requests import (
    DataGroup,
    DownloadItem,
    DownloadOptions,
    DownloadRequest,
    Grid2ll,
    SceneFilter,
    SceneListAdd,
    SceneSearch,
)
from .models import (
    Dataset,
    FileGroup,
    OrderLabel,
    Product,
    RequestResult,
    RetrieveResult,
    Scene,
    SearchPage,
)
from .util.jsontypes import JsonMapping, JsonValue
from .util.net import redact_url

log = logging.getLogger("m2mdl.api")


class M2MClient:
    """A client for the M2M JSON API.

    Args:
        base_url: the service root ending in ``/stable/``.
        session: a requests session (see :func:`m2mdl.http.make_session`).
        api_key: a session key from an earlier login, or None.
        credentials: returns (username, token) for a login when the key is missing or
            expired; None when no credentials exist.
        on_new_key: called with every new session key, to persist it.
        retry: the backoff policy for rate limits and transient failures.
        sleep: injectable for tests.
    """

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        *,
        api_key: str | None = None,
        credentials: Callable[[], tuple[str, str] | None] | None = None,
        on_new_key: Callable[[str], None] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.session = session
        self.api_key = api_key
        self._credentials = credentials
        self._on_new_key = on_new_key
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}

    # --- transport ------------------------------------------------------------------------

    def call(
        self, endpoint: str, payload: JsonMapping | None = None, *, auth: bool = True
    ) -> JsonValue:
        """POST ``payload`` to ``endpoint`` and return the envelope's ``data``.

        Raises:
            ApiError: M2M answered an errorCode (a subclass per code, see ERRORS).
            AuthError: no usable session key and no credentials to get one.
            NetworkError: the service could not be reached after the retries.
        """
        with self._lock:  # one request in flight per client (RATE_LIMIT_USER otherwise)
            if auth and self.api_key is None:
                self._login_from_credentials()
            try:
                return self._call_with_retries(endpoint, payload, auth=auth)
            except NotLoggedIn as exc:
                if not auth or self._credentials is None or exc_code(exc) not in RELOGIN_CODES:
                    raise
                log.info("session key expired (%s); logging in again", exc_code(exc))
                self._login_from_credentials()
                return self._call_with_retries(endpoint, payload, auth=auth)

    def _call_with_retries(
        self, endpoint: str, payload: JsonMapping | None, *, auth: bool
    ) -> JsonValue:
        policy = self._retry
        failures = busy = 0
        waited_busy = 0.0
        while True:
            try:
                return self._send(endpoint, payload, auth=auth)
            except Transient as exc:
                if exc_code(exc.error) == BUSY_CODE:
                    busy += 1
                    delay = policy.busy_delay(busy)
                    if busy >= policy.busy_attempts or waited_busy + delay > policy.busy_budget:
                        raise exc.final() from exc
                    waited_busy += delay
                    log.info("%s: %s; retrying in %.1f s", endpoint, exc.reason, delay)
                else:
                    failures += 1
                    if failures >= policy.attempts:
                        raise exc.final() from exc
                    delay = policy.delay(failures, exc.retry_after)
                    log.warning(
                        "%s: %s; retrying in %.1f s (%d/%d)",
                        endpoint,
                        exc.reason,
                        delay,
                        failures,
                        policy.attempts - 1,
                    )
                self._sleep(delay)

    def _send(self, endpoint: str, payload: JsonMapping | None, *, auth: bool) -> JsonValue:
        headers = {"Content-Type": "application/json"}
        if auth and self.api_key:
            headers["X-Auth-Token"] = self.api_key
        self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
        log.debug("POST %s", endpoint)  # never the headers or body: they hold secrets
        try:
            # Never follow a redirect: it would carry the token (login-token's body) or the
            # session key (X-Auth-Token) to wherever the Location points.
            response = self.session.post(
                self.base_url + endpoint, json=payload, headers=headers, allow_redirects=False
            )
        except requests.exceptions.SSLError as exc:
            # A certificate that does not verify: the next attempt would be refused the same way.
            raise NetworkError(
                f"{endpoint}: TLS failed for {redact_url(self.base_url)}: {tls_reason(exc)}",
                hint=TLS_HINT,
            ) from exc
        except requests.RequestException as exc:
            # ConnectionError, Timeout, and a body cut off mid-stream (ChunkedEncodingError,
            # ContentDecodingError): all transport failures, worth a retry.
            raise Transient(
                f"cannot reach {redact_url(self.base_url)}: {type(exc).__name__}",
                NetworkError(
                    f"{endpoint}: cannot reach the M2M service at "
                    f"{self.base_url} ({type(exc).__name__})"
                ),
            ) from exc
        return self._unwrap(endpoint, response)

    def _unwrap(self, endpoint: str, response: requests.Response) -> JsonValue:
        if 300 <= response.status_code < 400:
            raise redirect_error(endpoint, response)
        envelope = json_envelope(response)
        if envelope is None:
            error = UnexpectedResponse(
                f"{endpoint}: HTTP {response.status_code}, not an M2M JSON answer"
                f" ({snippet(response)})",
                endpoint=endpoint,
                status=response.status_code,
            )
            if response.status_code in RETRY_STATUSES or response.status_code == 200:
                # The body's start (often an HTML error page) is a detail for -v; the retry
                # notice a user sees by default stays one short line.
                log.info("%s: HTTP %d body: %s", endpoint, response.status_code, snippet(response))
                raise Transient(
                    f"HTTP {response.status_code}, not an M2M JSON answer",
                    error,
                    retry_after=retry_after(response),
                )
            raise error
        code = envelope.get("errorCode")
        if code:
            raise self._error(endpoint, str(code), envelope, response)
        if response.status_code >= 400:
            error = UnexpectedResponse(
                f"{endpoint}: HTTP {response.status_code} without an errorCode",
                endpoint=endpoint,
                status=response.status_code,
            )
            if response.status_code in RETRY_STATUSES:
                raise Transient(
                    f"HTTP {response.status_code}", error, retry_after=retry_after(response)
                )
            raise error
        return envelope.get("data")

    def _error(
        self, endpoint: str, code: str, envelope: JsonMapping, response: requests.Response
    ) -> Exception:
        message = str(envelope.get("errorMessage") or "").strip() or "no message"
        cls = ERRORS.get(code, ApiError)
        text = f"{endpoint}: {code}: {message}"
        if issubclass(cls, ApiError):
            error: M2mdlError = cls(text, endpoint=endpoint, code=code, status=response.status_code)
        else:
            error = cls(text, code=code)
        if code in RETRY_CODES:
            return Transient(f"{code}", error, retry_after=retry_after(response))
        return error

    # --- login ----------------------------------------------------------------------------

    def _login_from_credentials(self) -> None:
        creds = self._credentials() if self._credentials else None
        if creds is None:
            raise NotLoggedIn("not logged in")
        self._login(*creds)

    def _login(self, username: str, token: str) -> None:
        self.api_key = None
        key = self._call_with_retries(
            "login-token", {"username": username, "token": token}, auth=False
        )
        if not isinstance(key, str) or not key:
            raise UnexpectedResponse(
                "login-token: the answer holds no session key", endpoint="login-token"
            )
        self.api_key = key
        if self._on_new_key:
            self._on_new_key(key)

    def login(self, username: str, token: str) -> str:
        """Log in with an application token (``login-token``) and return the session key."""
        with self._lock:
            self._login(username, token)
        assert self.api_key is not None
        return self.api_key

    def logout(self) -> None:
        """End the session (``logout``); an already expired key counts as logged out."""
        if self.api_key is None:
            return
        try:
            with self._lock:
                self._send("logout", None, auth=True)
        except (NotLoggedIn, Transient):
            pass
        finally:
            self.api_key = None

    # --- endpoints ------------------------------------------------------------------------

    @parsed
    def permissions(self) -> list[str]:
        """The account's permissions, e.g. ``["user", "download", "order"]``."""
        data = self.call("permissions")
        return [str(p) for p in data] if isinstance(data, list) else []

    @parsed
    def dataset(self, name: str | None = None, *, dataset_id: str | None = None) -> Dataset:
        """One dataset by alias or by id."""
        payload = {"datasetName": name} if name else {"datasetId": dataset_id}
        data = self.call("dataset", payload)
        if not isinstance(data, Mapping):
            raise DatasetNotFound(f"dataset {name or dataset_id!r} not found", endpoint="dataset")
        return Dataset.from_json(data)

    @parsed
    def dataset_search(self, text: str | None = None) -> list[Dataset]:
        """Datasets whose public name matches ``text`` (implicit wildcards)."""
        data = self.call("dataset-search", {"datasetName": text} if text else {})
        return [Dataset.from_json(d) for d in data or [] if isinstance(d, Mapping)]

    @parsed
    def dataset_filter_ids(self, dataset: str) -> dict[str, str]:
        """Metadata filter ids by lower-case field label (``"wrs path"`` -> ``"5e83..."``)."""
        data = self.call("dataset-filters", {"datasetName": dataset})
        return {
            str(f.get("fieldLabel", "")).strip().lower(): str(f.get("id"))
            for f in data or []
            if isinstance(f, Mapping) and f.get("id")
        }

    @parsed
    def dataset_file_groups(self, dataset: str) -> list[FileGroup]:
        """The band groups of a dataset's secondary (band files) dataset."""
        data = self.call("dataset-file-groups", {"datasetName": dataset})
        groups: list[FileGroup] = []
        secondary = data.get("secondary") if isinstance(data, Mapping) else None
        for dataset_id, by_group in (secondary or {}).items():
            if isinstance(by_group, Mapping):
                groups.extend(
                    FileGroup.from_json(gid, str(dataset_id), raw)
                    for gid, raw in by_group.items()
                    if isinstance(raw, Mapping)
                )
        return groups

    @parsed
    def scene_search(
        self,
        dataset: str,
        scene_filter: SceneFilter | JsonMapping,
        *,
        starting_number: int = 1,
        max_results: int = 100,
        sort_field: str | None = None,
        sort_direction: str | None = None,
    ) -> SearchPage:
        """One page of scene-search (``scene_filter``: typed, or the ``sceneFilter`` JSON)."""
        request = SceneSearch(
            dataset,
            scene_filter if isinstance(scene_filter, SceneFilter) else dict(scene_filter),
            starting_number=starting_number,
            max_results=max_results,
            sort_field=sort_field,
            sort_direction=sort_direction,
        )
        data = self.call("scene-search", request.to_json())
        if not isinstance(data, Mapping):
            raise UnexpectedResponse(
                "scene-search: the answer holds no results", endpoint="scene-search"
            )
        return SearchPage.from_json(data, dataset)

    def iter_search_pages(
        self,
        dataset: str,
        scene_filter: SceneFilter | JsonMapping,
        *,
        limit: int | None = None,
        page_size: int = 1000,
        sort_field: str | None = None,
        sort_direction: str | None = None,
    ) -> Iterator[SearchPage]:
        """Every page of a search, following the real ``nextRecord`` rules; never a silent cap.

        M2M's ``nextRecord`` is ``startingNumber + recordsReturned`` while results remain, but
        it stops *at* ``totalHits`` (not past it) when the set is exhausted (a recorded
        response has ``totalHits 1, nextRecord 1``). Paging therefore stops on an empty or
        short page, once ``totalHits`` records were read, or if ``nextRecord`` fails to move.
        """
        start, seen = 1, 0
        while limit is None or seen < limit:
            size = page_size if limit is None else min(page_size, limit - seen)
            page = self.scene_search(
                dataset,
                scene_filter,
                starting_number=start,
                max_results=size,
                sort_field=sort_field,
                sort_direction=sort_direction,
            )
            yield page
            seen += page.records_returned
            following = page.next_record
            if (
                page.records_returned < size
                or seen >= page.total_hits
                or following is None
                or following <= start
            ):
                return
            start = following

    @parsed
    def scene_metadata(self, dataset: str, entity_id: str) -> Scene:
        """One scene's metadata (the same shape as a search hit)."""
        data = self.call(
            "scene-metadata",
            {"datasetName": dataset, "entityId": entity_id, "metadataType": "summary"},
        )
        if not isinstance(data, Mapping):
            raise UnexpectedResponse(
                f"scene-metadata: no scene {entity_id}", endpoint="scene-metadata"
            )
        return Scene.from_json(data, dataset)

    @parsed
    def dataset_download_options(self, dataset: str) -> list[Product]:
        """The products a dataset offers (without scenes)."""
        data = self.call("dataset-download-options", {"datasetName": dataset})
        return [Product.from_json(p) for p in data or [] if isinstance(p, Mapping)]

    @parsed
    def scene_list_add(
        self, list_id: str, dataset: str, entity_ids: Sequence[str], *, ttl: str = "P1D"
    ) -> int:
        """Add scenes to a server-side list; returns the list's size as M2M reports it."""
        data = self.call(
            "scene-list-add", SceneListAdd(list_id, dataset, entity_ids, ttl).to_json()
        )
        return int(data) if isinstance(data, int) else len(entity_ids)

    @parsed
    def scene_list_get(self, list_id: str) -> list[str]:
        """The entity ids in a scene list."""
        data = self.call("scene-list-get", {"listId": list_id})
        return [str(d.get("entityId")) for d in data or [] if isinstance(d, Mapping)]

    def scene_list_remove(self, list_id: str) -> None:
        """Remove a whole scene list (lists persist across sessions until removed)."""
        self.call("scene-list-remove", {"listId": list_id})

    @parsed
    def download_options(
        self,
        dataset: str,
        *,
        list_id: str | None = None,
        entity_ids: Sequence[str] | None = None,
        file_groups: bool = False,
    ) -> list[Product]:
        """What each scene can be downloaded as (by scene list or by entity ids)."""
        request = DownloadOptions(dataset, list_id, tuple(entity_ids or ()), file_groups)
        data = self.call("download-options", request.to_json())
        return [Product.from_json(p) for p in data or [] if isinstance(p, Mapping)]

    @parsed
    def download_request(
        self,
        label: str,
        *,
        downloads: Sequence[DownloadItem | Mapping[str, str]] = (),
        data_groups: Sequence[DataGroup | JsonMapping] = (),
    ) -> RequestResult:
        """Queue downloads (by product) and/or data groups (by band group) under ``label``.

        Items are typed (:class:`m2mdl.m2m_requests.DownloadItem`, ``DataGroup``) or, as
        before, their camelCase JSON (``{"entityId", "productId"}``,
        ``{"datasetName", "fileGroups", "listId"}``).
        """
        request = DownloadRequest(
            label,
            [d if isinstance(d, DownloadItem) else DownloadItem.from_json(d) for d in downloads],
            [g if isinstance(g, DataGroup) else DataGroup.from_json(g) for g in data_groups],
        )
        data = self.call("download-request", request.to_json())
        return RequestResult.from_json(data if isinstance(data, Mapping) else {})

    @parsed
    def download_retrieve(self, label: str) -> RetrieveResult:
        """The state of the downloads under ``label`` (URLs of the available ones)."""
        data = self.call("download-retrieve", {"label": label})
        return RetrieveResult.from_json(data if isinstance(data, Mapping) else {})

    @parsed
    def download_labels(self) -> list[OrderLabel]:
        """Every download label (order) of the account."""
        data = self.call("download-labels", {})
        return [OrderLabel.from_json(d) for d in data or [] if isinstance(d, Mapping)]

    def download_order_remove(self, label: str) -> None:
        """Remove the download order ``label`` from the account's queue."""
        self.call("download-order-remove", {"label": label})

    @parsed
    def grid2ll(self, path: int, row: int) -> list[tuple[float, float]]:
        """The corner coordinates (lon, lat) of a WRS-2 path/row."""
        data = self.call("grid2ll", Grid2ll(path, row).to_json())
        coords = data.get("coordinates") if isinstance(data, Mapping) else None
        return [
            (float(c["longitude"]), float(c["latitude"]))
            for c in coords or []
            if isinstance(c, Mapping)
        ]
