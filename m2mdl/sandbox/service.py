"""Options of the simulated M2M service itself (notices, quotas), as opposed to faults.

Each field becomes a ``python -m m2mdl.sandbox`` flag (``--field-name``), described by
:data:`HELP`, the same way :class:`~m2mdl.sandbox.config.Faults` fields do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ServiceOptions:
    """How the simulated service presents itself. ``None`` means the default behaviour."""

    notice: str | None = None  # an extra USGS notification (e.g. a maintenance window)


HELP: dict[str, str] = {
    "notice": "announce this text through the notifications endpoint",
}
