"""The AOI size limits, one place for all modules of :mod:`m2mdl.aoi` to read them.

Modules read them as ``limits.NAME`` when they run, not ``from .limits import NAME``, so that
setting one on :mod:`m2mdl.aoi` (as the tests do with ``monkeypatch.setattr``) takes effect
everywhere; ``m2mdl/aoi/__init__.py`` forwards such assignments here.
"""

from __future__ import annotations

__all__ = [
    "MAX_AREA_KM2",
    "MAX_FILE_BYTES",
    "MAX_RADIUS_KM",
    "MAX_SEPARATE_SEARCHES",
    "MAX_VERTICES",
    "SELF_INTERSECTION_MAX_VERTICES",
]


MAX_VERTICES = 10_000
MAX_AREA_KM2 = 5_000_000.0
MAX_RADIUS_KM = 500.0
MAX_FILE_BYTES = 32 * 1024 * 1024
SELF_INTERSECTION_MAX_VERTICES = 5_000
#: An AOI of more polygons than this is searched once over its bounding box (two boxes when
#: it crosses the antimeridian) and the scenes are filtered client-side against the real
#: polygons, instead of one scene-search per polygon (1,000 polygons were 1,000 calls).
MAX_SEPARATE_SEARCHES = 10
