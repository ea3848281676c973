"""m2mdl: a resumable, verified downloader for Landsat data through the USGS M2M API.

The Python API is :class:`m2mdl.M2M` (see :mod:`m2mdl.library`); it is imported lazily so that
``m2mdl --version`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["M2M", "__version__"]

if TYPE_CHECKING:
    from .library import M2M


def __getattr__(name: str) -> Any:  # Any: PEP 562 hook; mypy types M2M by the import above
    if name == "M2M":
        from .library import M2M

        return M2M
    raise AttributeError(f"module 'm2mdl' has no attribute {name!r}")
