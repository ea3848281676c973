"""Options of the simulated M2M service itself (notices, quotas), as opposed to faults.

Each field becomes a ``python -m m2mdl.sandbox`` flag (``--field-name``), described by
:data:`HELP`, the same way :class:`~m2mdl.sandbox.config.Faults` fields do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .jsontypes import JSON

#: The sandbox's own informational message, shaped like the reference page's sample.
SANDBOX_NOTICE: dict[str, Any] = {
    "id": 46,
    "subject": "M2M sandbox",
    "dateUpdated": "2025-04-24 09:00:00-05",
    "severityCode": "I",
    "severityText": "Informational",
    "messageContent": "You are talking to the m2mdl sandbox, not to USGS.",
    "severityCssClass": "alert-info",
}


@dataclass
class ServiceOptions:
    """How the simulated service presents itself. ``None`` means the default behaviour."""

    notice: str | None = None  # an extra USGS notification (e.g. a maintenance window)


HELP: dict[str, str] = {
    "notice": "announce this text through the notifications endpoint, as a maintenance "
    "warning (put the window's dates in the text, e.g. 'M2M will be unavailable "
    "2025-06-01 14:00 to 18:00 UTC')",
}


def notifications(options: ServiceOptions, now: float) -> list[JSON]:
    """The ``notifications`` answer: the sandbox notice, then ``options.notice`` if set.

    Real notifications carry no start/end fields (only ``dateUpdated``), so a maintenance
    window is told in the text, as USGS does. The severity of a maintenance notice ("W",
    "Warning", "alert-warning") is not recorded (UNCERTAIN; the reference shows only "I").
    """
    out = [dict(SANDBOX_NOTICE)]
    if options.notice:
        stamp = dt.datetime.fromtimestamp(now, dt.timezone(dt.timedelta(hours=-5)))
        out.append(
            {
                "id": 47,
                "subject": "Scheduled Maintenance",
                "dateUpdated": stamp.strftime("%Y-%m-%d %H:%M:%S-05"),
                "severityCode": "W",
                "severityText": "Warning",
                "messageContent": options.notice,
                "severityCssClass": "alert-warning",
            }
        )
    return out
