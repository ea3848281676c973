"""A tiny M2M client for the sandbox tests (real HTTP with requests)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import requests

from m2mdl.sandbox import Sandbox

ANCHORAGE: dict[str, Any] = {
    "datasetName": "landsat_ot_c2_l2",
    "sceneFilter": {
        "spatialFilter": {
            "filterType": "mbr",
            "lowerLeft": {"latitude": 61.0031, "longitude": -150.9495},
            "upperRight": {"latitude": 61.4834, "longitude": -148.9555},
        },
        "acquisitionFilter": {"start": "2020-03-01", "end": "2020-03-15"},
        "cloudCoverFilter": {"min": 0, "max": 60},
    },
}
ANCHORAGE_IDS = {
    "LC08_L2SP_068017_20200310_20200822_02_T1": ("LC80680172020070LGN00", 9),
    "LC08_L2SP_068018_20200310_20200822_02_T1": ("LC80680182020070LGN00", 5),
    "LC08_L2SP_067018_20200303_20200822_02_T1": ("LC80670182020063LGN00", 54),
}
SCENE_068017 = "LC08_L2SP_068017_20200310_20200822_02_T1"


@dataclass
class Client:
    """Posts JSON bodies to the sandbox API and returns envelopes."""

    sandbox: Sandbox
    session: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def login(cls, sb: Sandbox, username: str = "demo", token: str = "demo-token") -> Client:
        """A client holding a fresh API key."""
        c = cls(sb)
        env = c.call("login-token", {"username": username, "token": token})
        assert env["errorCode"] is None, env
        c.session.headers["X-Auth-Token"] = env["data"]
        return c

    def raw(self, endpoint: str, body: Any = None) -> requests.Response:
        """POST ``body`` (JSON text, like the official notebook) and return the response."""
        return self.session.post(self.sandbox.api_url + endpoint, data=json.dumps(body), timeout=30)

    def call(self, endpoint: str, body: Any = None) -> dict[str, Any]:
        """The envelope of one call."""
        resp = self.raw(endpoint, body)
        env: dict[str, Any] = resp.json()
        return env

    def data(self, endpoint: str, body: Any = None) -> Any:
        """``data`` of a call that must succeed."""
        env = self.call(endpoint, body)
        assert env["errorCode"] is None, env
        return env["data"]

    def anchorage_list(self, list_id: str = "anc") -> list[str]:
        """Search Anchorage, put the scenes in a list, return their entityIds."""
        hits = self.data("scene-search", ANCHORAGE)["results"]
        ids = [h["entityId"] for h in hits]
        self.data(
            "scene-list-add",
            {"listId": list_id, "datasetName": "landsat_ot_c2_l2", "entityIds": ids},
        )
        return ids

    def bundle_urls(self, label: str = "bundles") -> dict[str, str]:
        """Request the Anchorage bundles; {downloadId: url}."""
        self.anchorage_list()
        opts = self.data("download-options", {"listId": "anc", "datasetName": "landsat_ot_c2_l2"})
        downloads = [
            {"entityId": o["entityId"], "productId": o["id"]}
            for o in opts
            if o["available"] and o["downloadSystem"] != "folder"
        ]
        data = self.data("download-request", {"downloads": downloads, "label": label})
        return {str(a["downloadId"]): a["url"] for a in data["availableDownloads"]}

    def file_url(self, suffix: str = "SR_B4.TIF", display: str = SCENE_068017) -> str:
        """A signed URL for one file of a scene."""
        prefix = "L2SR" if suffix.startswith(("SR", "QA")) else "L2ST"
        entity = f"{prefix}_{display}_{suffix.replace('.', '_').upper()}"
        data = self.data(
            "download-request",
            {"downloads": [{"entityId": entity, "productId": "5f85f041a2ea6695"}]},
        )
        url: str = data["availableDownloads"][0]["url"]
        return url
