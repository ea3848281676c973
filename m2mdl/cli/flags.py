"""How the command line spells the parameters of the workflow and the Python API."""

from __future__ import annotations

from collections.abc import Mapping

#: Parameter names of the workflow and the Python API -> how the command line spells them.
#: A :class:`m2mdl.errors.ParameterError` names parameters; ``cli._app.handle`` re-spells
#: them with this table, in one place, so that a CLI user reads flags and a Python caller
#: reads parameter names.
FLAG_NAMES: Mapping[str, str] = {
    "start": "--start",
    "end": "--end",
    "cloud_min": "--cloud-min",
    "cloud_max": "--cloud-max",
    "months": "--months",
    "path": "--path",
    "row": "--row",
    "limit": "--limit",
    "sort": "--sort",
    "aoi": "--aoi, --bbox or --point",
    "dataset": "--dataset",
    "tier": "--tier",
    "max_size": "--max-size",
    "limit_rate": "--limit-rate",
    "yes": "--yes",
    "dry_run": "--dry-run",
    "out_dir": "--out",
    "download": "--download",
    "report": "--report",
    "directory": "--dir",
    # the flag with its value: "use --from FILE" to a CLI user, "use from_file" in Python
    "from_file": "--from FILE",
    # a Point is no area: the CLI user is told the command that makes one around it
    "aoi_from_point": "m2mdl aoi --point LON LAT --radius-km R",
}
