"""Start-up: what a command imports before its first API call (module names, never times).

The benchmarks time ``m2mdl download --from scenes.json --filetype bundle`` from process
start to the first API request the sandbox logs. Most of that time is imports, so these tests
run the real CLI in a subprocess, stop it at its first outgoing connection and check which
modules it had loaded by then: the heavy ones that the first call does not need (rich, the
transfer engine's helpers, STAC, the area and extraction modules, the keyring) must not be
there. Speed itself is measured by the benchmarks only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from m2mdl.cli import app
from m2mdl.cli._app import COMMANDS, command_name
from m2mdl.sandbox import Sandbox

from .cli_helpers import env_for, run

#: Run in the child: at the first outgoing connection, write the address and the names of
#: the loaded modules to $STARTUP_PROBE_OUT and end the process on the spot.
PROBE = """
import json, os, socket, sys

def connect(self, address):
    with open(os.environ["STARTUP_PROBE_OUT"], "w") as fh:
        json.dump({"address": list(address), "modules": sorted(sys.modules)}, fh)
    os._exit(0)

socket.socket.connect = connect
from m2mdl.__main__ import main
main(sys.argv[1:])
"""

#: Not needed before a download's first API call (each is imported by the step that uses it).
LATER = (
    "rich",
    "keyring",
    "pystac",
    "tomllib",  # no config file here: nothing to parse
    "m2mdl.aoi",
    "m2mdl.bands",
    "m2mdl.cli.account",  # the other commands' modules: only the running one is registered
    "m2mdl.cli.aoi",
    "m2mdl.cli.doctor",
    "m2mdl.cli.search",
    "m2mdl.cli.verify",
    "m2mdl.catalog",
    "m2mdl.extract",
    "m2mdl.stac",
    "m2mdl.transfer.engine",
    "m2mdl.transfer.model",
    "m2mdl.sandbox",
    "m2mdl.workflow.checksums",
    "m2mdl.workflow.fetch",
    "m2mdl.workflow.ids",
    "m2mdl.workflow.ondisk",
    "m2mdl.workflow.plan",
    "m2mdl.workflow.present",
    "m2mdl.workflow.search",
)
#: What the first call does need: present, or the probe did not stop where it should.
NEEDED = ("requests", "m2mdl.api", "m2mdl.workflow.download", "m2mdl.manifest")


def _loaded_at_first_connection(
    args: Sequence[str], env: dict[str, str], probe_out: Path
) -> tuple[list[object], set[str]]:
    """Run ``m2mdl ARGS`` until its first connection: (address, loaded module names)."""
    env = dict(env, STARTUP_PROBE_OUT=str(probe_out))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and probe_out.exists(), proc.stderr.decode(errors="replace")
    found = json.loads(probe_out.read_text())
    return found["address"], set(found["modules"])


def _loaded(modules: set[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


@pytest.fixture
def logged_in(sandbox: Sandbox, tmp_path: Path) -> tuple[Sandbox, Path]:
    """A stored login (the 0600 credentials file) and a saved one-scene search."""
    env = {"M2MDL_API_URL": sandbox.api_url, "M2MDL_STAC_URL": sandbox.stac_url}
    login = run(["login", "-u", "demo", "--token-stdin"], env=env, input="demo-token\n")
    assert login.exit_code == 0, login.stderr
    scenes = tmp_path / "scenes.json"
    search = ["search", "--bbox", "-150.5", "61.0", "-149.5", "61.5", "--limit", "1"]
    found = run([*search, "--output", "json", "-o", str(scenes)], env=env_for(sandbox))
    assert found.exit_code == 0 and scenes.is_file(), found.stderr
    return sandbox, scenes


def _child_env(sb: Sandbox) -> dict[str, str]:
    """The test's isolated environment, pointed at ``sb``, with the stored login only.

    The keyring is not switched off: a credentials file exists, so it must not be asked.
    Should that regress, the fail backend keeps a real OS keyring out of the test.
    """
    env = {k: v for k, v in os.environ.items() if k != "M2MDL_NO_KEYRING"}
    env.update(
        M2MDL_API_URL=sb.api_url,
        M2MDL_STAC_URL=sb.stac_url,
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return env


def test_download_reaches_its_first_api_call_without_the_later_steps(
    logged_in: tuple[Sandbox, Path], tmp_path: Path
) -> None:
    sb, scenes = logged_in
    args = ["download", "--from", str(scenes), "--filetype", "bundle", "--out", str(tmp_path)]
    address, modules = _loaded_at_first_connection(args, _child_env(sb), tmp_path / "p.json")
    assert address[1] == int(sb.api_url.split(":")[2].split("/")[0])  # the sandbox's API
    assert [m for m in NEEDED if not _loaded(modules, m)] == []
    assert [m for m in LATER if _loaded(modules, m)] == []


def test_a_stored_credentials_file_keeps_the_keyring_unasked(
    logged_in: tuple[Sandbox, Path], tmp_path: Path
) -> None:
    """With a credentials file the keyring module is never imported; without one it is
    (so the first assertion can fail)."""
    sb, _ = logged_in
    code = "import sys; from m2mdl.auth import open_store; open_store(print); "
    code += "print(type(open_store(print)).__name__, 'keyring' in sys.modules)"
    env = _child_env(sb)
    with_file = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert with_file.stdout.split() == ["FileStore", "False"]
    env["M2MDL_CONFIG_DIR"] = str(tmp_path / "empty-config")
    without = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert without.stdout.split() == ["FileStore", "True"]  # the fail backend: the file


@pytest.mark.parametrize(
    "args",
    [["--version"], ["--help"], ["download", "--help"], ["search", "--help"]],
    ids=["version", "help", "download-help", "search-help"],
)
def test_help_and_version_import_no_network_or_ui_library(args: list[str]) -> None:
    """``--help`` needs typer only: not requests, rich or the keyring (nor the workflow, nor
    the file helpers, whose temporary names load ``secrets`` and OpenSSL's hashlib);
    ``--version`` not even typer or m2mdl's error classes."""
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
        "from m2mdl.__main__ import main\n"
        "main(sys.argv[1:])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    # The file helpers' temporary names load secrets and OpenSSL's hashlib.
    heavy = ("requests", "urllib3", "rich", "keyring", "m2mdl.workflow", "m2mdl.api")
    heavy_too = ("m2mdl.util.fs", "secrets", "hashlib")
    assert [m for m in heavy + heavy_too if _loaded(modules, m)] == []
    if args == ["--version"]:
        assert [m for m in ("typer", "m2mdl.errors") if _loaded(modules, m)] == []


def test_the_command_table_lists_every_command_in_help_order() -> None:
    assert [command_name(info) for info in app.registered_commands] == list(COMMANDS)
    cli = Path(__file__).resolve().parents[1] / "m2mdl" / "cli"
    defining = {p.stem for p in cli.glob("*.py") if "@app.command(" in p.read_text()}
    assert defining == set(COMMANDS.values())


#: ``m2mdl ARGS`` with every command registered first (as ``m2mdl.cli.app`` has them).
WHOLE_APP = "import sys; from m2mdl.cli import app; from m2mdl.cli._app import run; "
WHOLE_APP += "sys.exit(run(sys.argv[1:]))"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_command_registered_alone_has_the_same_help(command: str) -> None:
    """``m2mdl CMD`` registers CMD's module only; its help is the one of the whole app."""
    outputs = [
        subprocess.run([*cli, command, "--help"], capture_output=True, text=True, check=False)
        for cli in ([sys.executable, "-m", "m2mdl"], [sys.executable, "-c", WHOLE_APP])
    ]
    alone, whole = ((p.returncode, p.stdout, p.stderr) for p in outputs)
    assert alone == whole and alone[0] == 0


@pytest.mark.parametrize("tty", [False, True], ids=["pipe", "tty"])
@pytest.mark.parametrize("force_color", [None, "", "1"])
@pytest.mark.parametrize("tty_compatible", [None, "0", "1"])
def test_no_terminal_is_decided_without_rich_only_when_rich_agrees(
    tty: bool, force_color: str | None, tty_compatible: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Ui`` skips building a console (importing rich) when ``may_be_terminal`` says no;
    rich must never see a terminal there."""
    from rich.console import Console

    from m2mdl.ui import may_be_terminal

    for name, value in (("FORCE_COLOR", force_color), ("TTY_COMPATIBLE", tty_compatible)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    leader, follower = os.openpty() if tty else os.pipe()
    try:
        with open(follower, "w", closefd=False) as stream:
            may = may_be_terminal(stream)
            assert may or not Console(file=stream).is_terminal
            assert may == (tty or bool(force_color) or tty_compatible == "1")
    finally:
        os.close(leader)
        os.close(follower)
