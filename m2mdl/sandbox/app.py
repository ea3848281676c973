"""The sandbox application object shared by API handlers and the download host."""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass

from m2mdl.sandbox import datasets
from m2mdl.sandbox.checksums import Checksums
from m2mdl.sandbox.config import STAC_PREFIX, SandboxConfig
from m2mdl.sandbox.content import Source
from m2mdl.sandbox.filesdir import StaticWriter
from m2mdl.sandbox.products import Catalog, ServedFile
from m2mdl.sandbox.search import HitCache
from m2mdl.sandbox.stac import StacApi
from m2mdl.sandbox.stac_docs import StacDocs
from m2mdl.sandbox.state import ApiKey, State

from .jsontypes import JSON, JsonValue


class ApiError(Exception):
    """An error envelope: errorCode, errorMessage and the HTTP status it travels with."""

    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def require(body: JSON, name: str) -> JsonValue:
    """A required request field, or INPUT_FORMAT with the old API's message (docs/design.md §M2M
    API: error codes)."""
    value = body.get(name)
    if value is None or value == "":
        raise ApiError(
            "INPUT_FORMAT", f"A required field '{name}' was not found in the request object"
        )
    return value


#: Collection 1 aliases: retired, so every account is refused them.
RETIRED_C1 = re.compile(r"landsat_[a-z0-9]+_c1(?:_l[12])?")


def require_dataset(body: JSON) -> datasets.DatasetDef:
    """The dataset named by ``datasetName``; DATASET_INVALID when unknown (UNCERTAIN code).

    A retired Collection 1 alias (``landsat_8_c1``...) answers DATASET_AUTH, as the real
    service does (docs/design.md, "datasets").
    """
    name = require(body, "datasetName")
    found = datasets.find(name=str(name))
    if found is None and RETIRED_C1.fullmatch(str(name).lower()):
        raise ApiError("DATASET_AUTH", "Dataset status is unavailable to this user")
    if found is None:
        raise ApiError("DATASET_INVALID", f"Invalid dataset name: {name}")
    return found


def id_list(value: object) -> list[str]:
    """entityIds given as a list or as a comma-separated string (REF download-options)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ApiError("INPUT_PARAMETER_INVALID", "entityIds must be a list or a string")


class App:
    """Catalog + state + config of one running sandbox."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.catalog = Catalog(config.data_scale, config.now)
        self.state = State(config.users, config.now)
        self.hits = HitCache()
        self.static = StaticWriter(config.files_dir) if config.files_dir else None
        self.base_url = ""
        self.checksums = Checksums(self._source)
        self.stac_docs = StacDocs(
            self.catalog,
            self.checksums,
            config.faults,
            self.url_base,
            lambda: self.base_url + STAC_PREFIX,
        )
        self.catalog.documents = self._document
        self.stac = StacApi(self.stac_docs, lambda: self.base_url + STAC_PREFIX)
        self._request_ids = itertools.count(1_073_282_034)  # recorded magnitude (LX#93)
        self._ids_lock = threading.Lock()

    def _source(self, name: str) -> Source | None:
        served = self.catalog.served_file(name)
        return served.source if served is not None else None

    def _document(self, name: str) -> bytes:
        """Content of a ``*_stac.json`` sidecar (compact JSON, hrefs on the download host)."""
        found = self.stac_docs.lookup(name.removesuffix("_stac.json"))
        if found is None:
            raise KeyError(name)
        doc = self.stac_docs.sidecar(*found)
        return json.dumps(doc, separators=(",", ":")).encode()

    def next_request_id(self) -> int:
        """Increasing requestId of the envelope."""
        with self._ids_lock:
            return next(self._request_ids)

    def write_static(self, served: ServedFile) -> None:
        """Copy a file into ``files_dir`` (when configured) before its URL is handed out."""
        if self.static is not None:
            self.static.ensure(served)

    def url_base(self) -> str:
        """Where download URLs point: ``files_url`` when set, else the sandbox itself."""
        return (self.config.files_url or self.base_url).rstrip("/")


@dataclass
class Ctx:
    """One API call: the app, the caller's key (None for login-token) and address."""

    app: App
    key: ApiKey | None
    ip: str
    request_id: int

    @property
    def username(self) -> str:
        """The caller's username (only valid for authenticated endpoints)."""
        assert self.key is not None
        return self.key.user.username
