"""The generated reference (docs/cli.md) and shell completions match the app, and completion works.

Regenerate with ``python -m m2mdl.cli.reference`` after changing a command or an option.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from m2mdl.cli import reference
from m2mdl.cli.reference import (
    COMPLETION_FILES,
    cli_reference,
    generated_files,
    root_command,
    subcommands,
)

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [
    "login",
    "logout",
    "aoi",
    "search",
    "options",
    "download",
    "cleanup",
    "verify",
    "doctor",
]
TIMEOUT = 60
REGENERATE = "stale: run `python -m m2mdl.cli.reference` and commit the result"


def _commands() -> dict[str, object]:
    root = root_command()
    ctx = typer.Context(root, info_name="m2mdl")
    return dict(subcommands(root, ctx))


def _subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("_M2MDL_")}
    env.update(extra)
    return env


@pytest.mark.parametrize("rel", sorted(generated_files()))
def test_generated_file_is_current(rel: str) -> None:
    path = ROOT / rel
    assert path.is_file(), f"{rel} is missing; {REGENERATE}"
    assert path.read_text(encoding="utf-8") == generated_files()[rel], f"{rel} is {REGENERATE}"


def test_check_mode_passes_here_and_names_stale_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert reference.main(["--check"]) == 0
    assert reference.main(["--root", str(tmp_path)]) == 0
    assert reference.stale_files(tmp_path) == []
    (tmp_path / "docs" / "cli.md").write_text("old\n", encoding="utf-8")
    (tmp_path / COMPLETION_FILES["fish"]).unlink()
    capsys.readouterr()
    assert reference.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "docs/cli.md" in err and COMPLETION_FILES["fish"] in err
    assert COMPLETION_FILES["bash"] not in err


def test_generation_ignores_terminal_width_and_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = generated_files()
    for columns, colour in (("20", "FORCE_COLOR"), ("300", "NO_COLOR")):
        monkeypatch.setenv("COLUMNS", columns)
        monkeypatch.setenv(colour, "1")
        assert generated_files() == expected
    assert not any("\x1b" in text for text in expected.values())


def test_the_app_has_exactly_the_documented_commands() -> None:
    assert list(_commands()) == COMMANDS


def test_every_command_and_parameter_has_help() -> None:
    root = root_command()
    assert root.help and root.help.strip()
    missing = [f"--{p.name}" for p in root.params if not getattr(p, "help", None)]
    for name, command in _commands().items():
        assert getattr(command, "help", None), f"m2mdl {name} has no help text"
        for param in getattr(command, "params", []):
            if not getattr(param, "hidden", False) and not getattr(param, "help", None):
                missing.append(f"m2mdl {name} {param.name}")
    assert not missing, f"parameters without help: {missing}"


def test_reference_documents_every_command_and_option() -> None:
    text = cli_reference()
    for name, command in _commands().items():
        assert f"## `m2mdl {name}`" in text
        assert f"(#m2mdl-{name})" in text
        for param in getattr(command, "params", []):
            for opt in param.opts:
                if opt.startswith("-"):
                    assert f"{opt}" in text, f"{opt} of {name} missing from docs/cli.md"
    for opt in (
        "--api-url",
        "--sandbox",
        "--config",
        "--quiet",
        "--verbose",
        "--debug",
        "--no-color",
        "--version",
    ):
        assert f"`{opt}`" in text or f", {opt}`" in text, opt


def test_readme_names_every_command() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    if not re.search(r"\bm2mdl (?:--\S+ )*(" + "|".join(COMMANDS) + r")\b", text):
        pytest.skip("README.md has no command list yet (the lead is writing it)")
    missing = [c for c in COMMANDS if not re.search(rf"\bm2mdl (?:--\S+ )*{c}\b|`{c}`", text)]
    assert not missing, f"README.md does not mention: {missing}"


@pytest.mark.parametrize("shell", sorted(COMPLETION_FILES))
def test_completion_script_is_what_the_app_emits(shell: str) -> None:
    """The committed script equals ``_M2MDL_COMPLETE=source_SHELL m2mdl`` (modulo blank ends)."""
    result = subprocess.run(
        [sys.executable, "-m", "m2mdl"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_subprocess_env(_M2MDL_COMPLETE=f"source_{shell}"),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    committed = (ROOT / COMPLETION_FILES[shell]).read_text(encoding="utf-8")
    assert result.stdout.strip() == committed.strip()
    assert "_M2MDL_COMPLETE" in committed


def test_zsh_script_starts_with_compdef() -> None:
    assert (ROOT / COMPLETION_FILES["zsh"]).read_text().startswith("#compdef m2mdl\n")


def test_app_completes_command_names() -> None:
    """The protocol the scripts use: Typer's ``complete_bash`` instruction."""
    result = subprocess.run(
        [sys.executable, "-m", "m2mdl"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_subprocess_env(
            _M2MDL_COMPLETE="complete_bash", COMP_WORDS="m2mdl dow", COMP_CWORD="1"
        ),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["download"]


def _env_with_m2mdl(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH finds ``m2mdl`` (this interpreter's) first: scripts run it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "m2mdl"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m m2mdl "$@"\n')
    wrapper.chmod(0o755)
    return _subprocess_env(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


def _bash_complete(tmp_path: Path, words: list[str]) -> list[str]:
    """COMPREPLY after sourcing completions/m2mdl.bash, completing the last of ``words``."""
    script = ROOT / COMPLETION_FILES["bash"]
    quoted = " ".join(f"'{w}'" for w in words)
    program = (
        f"source '{script}' && complete -p m2mdl >/dev/null && "
        f"COMP_WORDS=({quoted}) && COMP_CWORD={len(words) - 1} && "
        'COMP_LINE="${COMP_WORDS[*]}" && _m2mdl_completion m2mdl && '
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env_with_m2mdl(tmp_path),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_script_completes_commands_and_options(tmp_path: Path) -> None:
    assert _bash_complete(tmp_path, ["m2mdl", "dow"]) == ["download"]
    assert set(_bash_complete(tmp_path, ["m2mdl", ""])) >= set(COMMANDS)
    assert _bash_complete(tmp_path, ["m2mdl", "download", "--filet"]) == ["--filetype"]
    assert "--cloud-max" in _bash_complete(tmp_path, ["m2mdl", "search", "--cloud"])


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_script_completes_commands_and_options(tmp_path: Path) -> None:
    script = ROOT / COMPLETION_FILES["fish"]
    program = f"source '{script}'; complete -C 'm2mdl dow'; complete -C 'm2mdl download --filet'"
    result = subprocess.run(
        ["fish", "--no-config", "-c", program],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env_with_m2mdl(tmp_path),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    offered = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert offered == ["download", "--filetype"]


def test_app_answers_the_zsh_protocol() -> None:
    """What completions/_m2mdl evals: Typer's ``complete_zsh`` with _TYPER_COMPLETE_ARGS."""
    result = subprocess.run(
        [sys.executable, "-m", "m2mdl"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_subprocess_env(_M2MDL_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="m2mdl dow"),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"download":' in result.stdout and "login" not in result.stdout


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_scripts_parse(shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    path = ROOT / COMPLETION_FILES[shell]
    result = subprocess.run(
        [shell, "-n", str(path)], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, result.stderr


def test_importing_the_generator_has_no_side_effects(tmp_path: Path) -> None:
    before = {rel: (ROOT / rel).stat().st_mtime_ns for rel in generated_files()}
    result = subprocess.run(
        [sys.executable, "-c", "import m2mdl.cli.reference"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=tmp_path,
        env=_subprocess_env(),
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert list(tmp_path.iterdir()) == []
    assert {rel: (ROOT / rel).stat().st_mtime_ns for rel in generated_files()} == before


# --- help text: plain types and defaults, one meaning of -o ---------------------------------------


def _help(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "m2mdl", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_subprocess_env(COLUMNS="100"),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_reference_shows_plain_defaults_and_metavars() -> None:
    text = cli_reference()
    assert not re.search(r"`[A-Z][A-Za-z]+\.\w+`", text), "an Enum repr leaked into docs/cli.md"
    assert "| `--filetype` | band\\|bundle\\|band_group | `band` |" in text
    assert "| `--bbox` | W S E N |" in text
    assert "list[" not in text and "SCENE......" not in text


@pytest.mark.parametrize("command", ["search", "aoi", "download"])
def test_help_shows_w_s_e_n_for_bbox(command: str) -> None:
    text = _help(command)
    assert re.search(r"^\s+--bbox W S E N\s", text, re.M), text
    assert "--bbox <float" not in text and "--point <float" not in text


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_has_no_python_types(command: str) -> None:
    text = _help(command)
    assert not re.search(r"<list\[|list\[str\]|<tuple", text), text


def test_o_always_means_an_output_file() -> None:
    """Where a command has ``-o`` it takes a FILE, and its help says so."""
    with_o = {}
    for name, command in _commands().items():
        for param in getattr(command, "params", []):
            if "-o" in param.opts:
                with_o[name] = param
    assert {"search", "aoi"} <= set(with_o)
    for name, param in with_o.items():
        assert param.metavar == "FILE", name
        assert "-o is always an output file" in param.help, name
