"""``m2mdl doctor``: check the whole chain, print one line per check, optionally a report."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import ConfigError, ExitCode, literal, spell
from ..util.jsontypes import JsonObject
from ._app import State, app, handle
from .flags import FLAG_NAMES

if TYPE_CHECKING:
    from ..ui import Ui
    from ..workflow.doctor import Check


class _Printer:
    """Prints each check as it ends (text), or collects them (--json)."""

    def __init__(self, ui: Ui, json_out: bool) -> None:
        self.ui, self.json_out = ui, json_out

    def __call__(self, check: Check) -> None:
        if self.json_out:
            return
        fix = check.fix if check.status in ("warn", "fail") else None
        fix = spell(fix, FLAG_NAMES) if fix is not None else None
        self.ui.check_line(check.status, check.name, check.detail, fix)


@app.command()
@handle
def doctor(
    ctx: typer.Context,
    download: Annotated[
        bool,
        typer.Option(
            "--download",
            help="Also request, download and verify one small file (ANG.txt or MTL.txt);"
            " its download order is removed afterwards.",
        ),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="FILE",
            help="Write every request and response (secrets masked) as JSON to FILE,"
            " to attach to a bug report.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory to check [env: M2MDL_OUT; default: .]."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check the setup end to end and say what to fix.

    In order: configuration and credential store, DNS/TLS/reachability of the M2M API, the
    download host and the STAC API, clock skew, login-token, permissions, notifications,
    rate-limit-summary, one scene-search and one download-options, and the output directory.
    Each check prints ✔ (ok), ! (needs attention) or ✘ (failed), with a fix. Exit 0 when
    everything is fine, 1 when something needs attention, else the code of the first failed
    check (3 access/login, 4 API, 5 network, 2 configuration, 6 the test download).
    """
    from ..workflow.doctor import Check, Doctor, DoctorOptions, build_report

    state: State = ctx.obj
    ui = state.ui()
    printer = _Printer(ui, json_out)
    state.flags.update(out_dir=None if out is None else str(out))
    with contextlib.ExitStack() as stack:
        try:
            context = stack.enter_context(state.session(ui))
        except ConfigError as exc:  # doctor's job is to say this as a check, not to stop at it
            code = exc.exit_code
            check = Check(
                "configuration",
                "fail",
                str(exc),
                literal(exc.hint or "fix the config file"),
                int(code),
            )
            printer(check)
            if json_out:
                ui.data(json.dumps(_summary([check], code)) + "\n")
            raise typer.Exit(int(code)) from None
        options = DoctorOptions(
            out_dir=Path(context.settings.out_dir), download=download, wait=context.settings.wait
        )
        if download and not json_out:
            ui.info("doctor --download requests one small file; its order is removed afterwards")
        runner = Doctor(context, options, on_check=printer)
        try:
            result = runner.run()
        finally:
            if report is not None:
                _write_report(report, _spelled_report(build_report(runner)))
                ui.info(f"report written to {report}: attach it to a bug report (secrets masked)")
    code = ExitCode(result.exit_code)
    if json_out:
        ui.data(json.dumps(_summary(result.checks, code)) + "\n")
    elif code == ExitCode.OK:
        ui.info("everything looks fine")
    raise typer.Exit(int(code))


def _summary(checks: list[Check], code: ExitCode) -> JsonObject:
    from ..output import envelope

    return envelope("doctor", {"exit_code": int(code), "checks": [_spelled(c) for c in checks]})


def _spelled(check: Check) -> JsonObject:
    """The check as JSON, its fix naming the command line's flags."""
    document = check.to_json()
    if check.fix is not None:
        document["fix"] = spell(check.fix, FLAG_NAMES)
    return document


def _spelled_report(document: JsonObject) -> JsonObject:
    """The report with each check's fix naming the command line's flags, as printed."""
    checks = document.get("checks")
    for check in checks if isinstance(checks, list) else []:
        fix = check.get("fix") if isinstance(check, dict) else None
        if isinstance(fix, str) and isinstance(check, dict):
            check["fix"] = spell(fix, FLAG_NAMES)
    return document


def _write_report(path: Path, document: JsonObject) -> None:
    """Write the report atomically, readable by its owner only (it describes an account)."""
    from ..auth import write_private
    from ..errors import DiskFull, InputError

    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    try:
        write_private(path, text.encode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot write the report {path}: {exc.strerror or exc}") from None
    except DiskFull as exc:
        raise InputError(f"cannot write the report {path}: {exc.message}") from None
