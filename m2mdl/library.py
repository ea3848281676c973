"""The Python API: search, options and download from a script or a notebook.

Example::

    from m2mdl import M2M

    m2m = M2M.sandbox()                      # or M2M("ers-user", token) / M2M.from_login()
    scenes = m2m.search("examples/anchorage.geojson", start="2020-03-01",
                        end="2020-03-15", cloud_max=60)
    outcome = m2m.download(scenes, "band", "anchorage", bands=["SR_B4", "QA_PIXEL"])
    print(outcome.counts, outcome.manifest.path if outcome.manifest else None)
    m2m.close()

Errors are the :mod:`m2mdl.errors` classes the CLI maps to exit codes. Nothing is printed;
pass a ``reporter`` to receive notes and warnings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .aoi import Aoi, aoi_from_bbox, load_aoi
from .auth import Credentials, CredentialStore, MemoryStore, StoredSession, open_store
from .config import Settings, SettingValue, resolve
from .models import Scene
from .workflow.context import Context, Reporter, SilentReporter
from .workflow.download import DownloadSpec, Outcome, ProgressFactory, run_download
from .workflow.options import OptionsResult, scene_options
from .workflow.search import SearchQuery
from .workflow.search import search as run_search
from .workflow.verify import VerifyReport, verify_directory

if TYPE_CHECKING:  # the sandbox is imported only when M2M.sandbox() starts one
    from .sandbox import Sandbox

AreaLike = Aoi | str | Path | tuple[float, float, float, float]


def _area(area: AreaLike | None) -> Aoi | None:
    if area is None or isinstance(area, Aoi):
        return area
    if isinstance(area, tuple):
        return aoi_from_bbox(*area)
    return load_aoi(area)


def _date(value: str | dt.date | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


class M2M:
    """A logged-in M2M session for scripts.

    Args:
        username: ERS username; with ``token``, used only in memory (never stored).
        token: the M2M application token.
        settings: overrides of :class:`m2mdl.config.Settings` (``api_url``, ``workers``...).
        reporter: receives notes and warnings (default: silent).
    """

    def __init__(
        self,
        username: str | None = None,
        token: str | None = None,
        *,
        reporter: Reporter | None = None,
        # Settings overrides by name (None: not given), as config.resolve() takes them.
        **settings: SettingValue | None,
    ) -> None:
        reporter = reporter or SilentReporter()
        if username and token:
            store: CredentialStore = MemoryStore()
            store.save(StoredSession(Credentials(username, token)))
        else:
            store = open_store(reporter.warn)  # what `m2mdl login` stored
        self._sandbox: Sandbox | None = None
        #: The sandbox serves files at this fraction of their real size; the plan guard
        #: compares real sizes, so a sandbox session is guarded as USGS would be.
        self._size_scale = 1.0
        self.ctx = Context(settings=resolve(settings), store=store, reporter=reporter)

    @classmethod
    def from_login(cls, **settings: Any) -> M2M:  # Any: settings for __init__, typed there
        """Use the credentials `m2mdl login` stored (keyring or file) or M2MDL_* variables."""
        return cls(**settings)

    @classmethod
    def sandbox(cls, **settings: Any) -> M2M:  # Any: settings for __init__, typed there
        """A session against a local sandbox started in-process (stopped by :meth:`close`)."""
        from .sandbox import Sandbox, SandboxConfig

        server = Sandbox(SandboxConfig()).start()
        urls = {"api_url": server.api_url, "stac_url": server.stac_url}
        try:
            m2m = cls("demo", "demo-token", **(urls | settings))
        except BaseException:
            server.stop()  # a bad setting must not leave a server thread behind
            raise
        m2m._sandbox = server
        m2m._size_scale = server.config.data_scale
        return m2m

    @property
    def settings(self) -> Settings:
        """The resolved settings."""
        return self.ctx.settings

    def search(
        self,
        area: AreaLike | None = None,
        *,
        dataset: str | None = None,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        cloud_max: float | None = None,
        cloud_min: float | None = None,
        months: Sequence[int] = (),
        path: int | None = None,
        row: int | None = None,
        limit: int | None = None,
        sort: str | None = None,
    ) -> list[Scene]:
        """Every scene matching the filters (a GeoJSON path, an Aoi or a bbox tuple)."""
        query = SearchQuery(
            dataset=dataset or self.settings.dataset,
            aoi=_area(area),
            start=_date(start),
            end=_date(end),
            cloud_min=cloud_min,
            cloud_max=cloud_max,
            months=tuple(months),
            path=path,
            row=row,
            limit=limit,
            sort=sort,
        )
        return run_search(self.ctx.client(), query).scenes

    def options(
        self, scenes: Sequence[Scene | str], *, dataset: str | None = None
    ) -> OptionsResult:
        """Bundles, single files and band groups of the scenes (Scene objects or entity ids)."""
        ids = [s.entity_id if isinstance(s, Scene) else s for s in scenes]
        return scene_options(self.ctx.client(), dataset or self.settings.dataset, ids)

    def download(
        self,
        scenes: Sequence[Scene],
        filetype: str = "band",
        out_dir: str | Path = ".",
        *,
        bands: Sequence[str] = (),
        groups: Sequence[str] = (),
        dry_run: bool = False,
        progress: ProgressFactory | None = None,
        **spec: Any,  # Any: further DownloadSpec fields by name, of several types (typed there)
    ) -> Outcome:
        """Download the scenes' files; returns the outcome with its manifest."""
        dataset = scenes[0].dataset if scenes else self.settings.dataset
        full = DownloadSpec(
            filetype=filetype,
            out_dir=Path(out_dir),
            dataset=dataset,
            bands=tuple(bands),
            groups=tuple(groups),
            dry_run=dry_run,
            wait=spec.pop("wait", self.settings.wait),
            workers=spec.pop("workers", self.settings.workers),
            segments=spec.pop("segments", self.settings.segments),
            size_scale=spec.pop("size_scale", self._size_scale),
            **spec,
        )
        return run_download(self.ctx, full, scenes, progress=progress)

    def verify(self, out_dir: str | Path = ".") -> VerifyReport:
        """Re-hash a download directory's files; compare with its manifests and USGS's SHA-512.

        Never raises for a bad file: ``report.intact`` says whether all are intact.
        """
        return verify_directory(self.settings, Path(out_dir), self.ctx.reporter)

    def close(self) -> None:
        """Remember the session key's last use; stop the sandbox if this session started one."""
        self.ctx.close()
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None

    def __enter__(self) -> M2M:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
