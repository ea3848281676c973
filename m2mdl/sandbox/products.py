"""The catalog at one data scale and clock: scene facts, product files and their sources.

:class:`Catalog` is the one object the API and the download host share; it holds no
mutable state besides caches.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from m2mdl.sandbox import catalog, datasets, grid, layout
from m2mdl.sandbox.catalog import SceneKey
from m2mdl.sandbox.content import DocumentSource, MemberSource, PlainSource, Source, TarSource
from m2mdl.sandbox.geotiff import GeoTiffSource
from m2mdl.sandbox.layout import FileDef, Layout

CONTENT_TYPES = {
    "tif": "image/tiff",
    "tar": "application/x-tar",
    "txt": "text/plain",
    "xml": "application/xml",
    "json": "application/json",
    "jpeg": "image/jpeg",
}


@dataclass(frozen=True)
class ServedFile:
    """A file the download host can serve: name, source, where it lives, what it is."""

    name: str
    key: SceneKey
    level: int
    display_id: str
    source: Source
    rel_path: str  # URL path (without the leading slash) under the host
    static_path: str  # path under files_dir / files_url

    @property
    def content_type(self) -> str:
        """MIME type from the extension."""
        return CONTENT_TYPES.get(self.name.rsplit(".", 1)[-1].lower(), "application/octet-stream")

    @property
    def is_bundle(self) -> bool:
        """Whether this is a ``<displayId>.tar`` bundle."""
        return self.name.endswith(".tar")


class Catalog:
    """Scene facts at the sandbox's data scale, with "today" taken from its clock."""

    def __init__(self, scale: float, clock: Callable[[], float]) -> None:
        self.scale = scale
        self._clock = clock
        #: renders ``*_stac.json`` sidecars (set by the App); None serves filler bytes
        self.documents: Callable[[str], bytes] | None = None

    def member_source(self, key: SceneKey, lay: Layout, name: str, size: int) -> MemberSource:
        """The source of one product file: a GeoTIFF, a sidecar document or synthetic bytes."""
        render = self.documents
        if render is not None and name.endswith("_stac.json"):
            return DocumentSource(name, size, lambda: render(name))
        if name.endswith(".TIF"):
            sizes = dict(lay.members)
            return GeoTiffSource(name, size, grid.grid(key.path, key.row, name, sizes))
        return PlainSource(name, size)

    @property
    def today(self) -> int:
        """Newest acquisition day in the catalog: yesterday (UTC) by the sandbox clock."""
        now = dt.datetime.fromtimestamp(self._clock(), dt.timezone.utc).date()
        return now.toordinal() - 1

    def scene(self, entity_id: str) -> SceneKey | None:
        """The scene an entityId names, if it exists."""
        return catalog.parse_entity_id(entity_id, self.today)

    def display_id(self, key: SceneKey, level: int) -> str:
        """Product identifier of ``key`` at ``level``."""
        return catalog.display_id(key, level, self.today)

    def layout(self, key: SceneKey, level: int) -> Layout:
        """Member files and bundle size at this scale."""
        base = catalog.bundle_base_size(key, level)
        return layout.layout(self.display_id(key, level), level, base, self.scale)

    def is_recent(self, key: SceneKey) -> bool:
        """Acquired within the last 30 days: the dds_ms bundle is available, ls_zip not yet."""
        return self.today - key.day < 30

    def served_file(self, name: str) -> ServedFile | None:
        """Resolve a served file name (``<displayId>_SR_B4.TIF`` or ``<displayId>.tar``)."""
        parsed = catalog.parse_display_id(name[:40], self.today)
        if parsed is None:
            return None
        key, level = parsed
        lay = self.layout(key, level)
        display = name[:40]
        if name == display + ".tar":
            return ServedFile(
                name,
                key,
                level,
                display,
                TarSource(name, lay, functools.partial(self.member_source, key, lay)),
                f"gen-bundle?landsat_product_id={display}",
                f"gen-bundle/{display}.tar",
            )
        sizes = dict(lay.members)
        if name not in sizes:
            return None
        path = self.folder(key, level, display) + "/" + name
        source = self.member_source(key, lay, name, sizes[name])
        return ServedFile(name, key, level, display, source, path, path)

    @staticmethod
    def folder(key: SceneKey, level: int, display: str) -> str:
        """``data/collection02/level-2/standard/oli-tirs/2020/068/017/<displayId>`` (NB25)."""
        year = dt.date.fromordinal(key.day).year
        return (
            f"data/collection02/level-{level}/standard/oli-tirs/{year}/"
            f"{key.path:03d}/{key.row:03d}/{display}"
        )

    def secondary_file(self, entity: str, level: int) -> tuple[SceneKey, FileDef] | None:
        """(scene, file) for a secondary entityId like ``L2SR_<displayId>_SR_B4_TIF``."""
        parsed = layout.parse_secondary(entity)
        if parsed is None:
            return None
        display, suffix = parsed
        found = catalog.parse_display_id(display, self.today)
        if found is None or found[1] != level:
            return None
        return found[0], layout.BY_SUFFIX[level][suffix]

    def file_size(self, key: SceneKey, level: int, suffix: str) -> int:
        """Size of one member file at this scale."""
        name = f"{self.display_id(key, level)}_{suffix}"
        return dict(self.layout(key, level).members)[name]


def level_of(alias: str) -> int | None:
    """1 or 2 for the OT datasets and their band-file companions, else None."""
    return {datasets.L1: 1, datasets.BAND_L1: 1, datasets.L2: 2, datasets.BAND_L2: 2}.get(alias)
