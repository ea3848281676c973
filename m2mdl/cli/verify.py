"""``m2mdl verify``: re-hash downloaded files and compare them with the manifests and USGS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import DownloadError
from ._app import State, app, handle


@app.command()
@handle
def verify(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help="A download's output directory (with its manifests).")
    ] = Path("."),
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Re-hash the files on disk; compare with the manifests and USGS's SHA-512 (exit 0 if intact).

    Each file the manifests list as done is read once. It is compared with the checksum
    USGS publishes in STAC (bundles: member by member, against their own *_stac.json),
    else with the SHA-512 the manifest recorded. Files changed since m2mdl wrote them are
    named. Exit 6 when any file is changed, corrupt or missing.
    """
    from ..workflow.verify import OK, verify_directory

    state: State = ctx.obj
    ui = state.ui()
    with state.session(ui) as context:
        report = verify_directory(context.settings, directory, context.reporter)
    if json_out:
        ui.data(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        width = max((len(f.path) for f in report.files), default=4)
        ui.data(f"{'STATUS':<10} {'VERIFIED':<12} {'FILE':<{width}}  DETAIL\n")
        for check in report.files:
            note = check.detail
            if check.changed_since_written and "since" not in note:
                note = f"{note}; changed since m2mdl wrote it" if note else "changed since written"
            ui.data(
                f"{check.status:<10} {check.verified or '-':<12} {check.path:<{width}}  {note}\n"
            )
    bad = [f for f in report.files if f.status != OK]
    if bad:
        names = ", ".join(f.path for f in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise DownloadError(f"{len(bad)} of {len(report.files)} file(s) not intact: {names}")
    ui.info(f"{len(report.files)} file(s) intact")
