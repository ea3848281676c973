"""Ctrl-C and Ctrl-D at m2mdl's prompts: one clear line and a documented exit code, never a bug.

Ctrl-C at any prompt is an interruption (exit 130). Ctrl-D ends the input: at the ``--max-size``
question it is a "no" (the plan is refused as if the user had typed n, exit 2); at the login
prompts nothing was given (exit 2). The end-to-end tests type on a real pseudo-terminal, as a
user does: the terminal turns ``\\x03`` into SIGINT and ``\\x04`` into the end of input.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from m2mdl.cli._app import ask, confirm, handle
from m2mdl.errors import ExitCode, InputError

from .cli_helpers import NOTEBOOK_QUERY
from .terminal import on_a_terminal

CTRL_C = b"\x03"
CTRL_D = b"\x04"
#: A download whose plan is over --max-size: m2mdl asks before it starts.
OVER_LIMIT = [
    "--sandbox",
    "download",
    *NOTEBOOK_QUERY,
    "--filetype",
    "band",
    "--bands",
    "red",
    "--max-size",
    "1",
]
QUESTION = b"[y/N]: "


def _on_a_terminal(args: list[str], prompt: bytes, keys: bytes) -> tuple[int, str]:
    """``m2mdl ARGS`` on a pseudo-terminal, ``keys`` typed at ``prompt``, not logged in."""
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    for name in ("M2MDL_USERNAME", "M2MDL_TOKEN"):
        env.pop(name, None)
    return on_a_terminal(args, env, answer=(prompt, keys))


def _no_bug(text: str) -> None:
    assert "internal error" not in text and "Traceback" not in text, text
    assert text.count("error:") == 1, text


# --- the --max-size question --------------------------------------------------------------------


def test_ctrl_d_at_the_size_question_is_a_no(tmp_path: Path) -> None:
    no_out, eof_out = tmp_path / "no", tmp_path / "eof"
    no_code, no_text = _on_a_terminal([*OVER_LIMIT, "--out", str(no_out)], QUESTION, b"n\n")
    code, text = _on_a_terminal([*OVER_LIMIT, "--out", str(eof_out)], QUESTION, CTRL_D)
    assert no_code == code == ExitCode.INPUT, text
    _no_bug(text)
    refused = "not started without confirmation"
    assert refused in no_text and refused in text, text
    # A refused plan leaves no trace under --out, whichever way it was refused.
    for out in (no_out, eof_out):
        assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())


def test_ctrl_c_at_the_size_question_is_an_interruption(tmp_path: Path) -> None:
    code, text = _on_a_terminal([*OVER_LIMIT, "--out", str(tmp_path / "out")], QUESTION, CTRL_C)
    assert code == ExitCode.INTERRUPTED, text
    _no_bug(text)
    assert "error: interrupted" in text, text
    # The message starts a line of its own, not the end of the question's line.
    assert "\nerror: interrupted" in text, text


# --- the login prompts --------------------------------------------------------------------------

LOGIN_PROMPTS = {
    "username": (["--sandbox", "login"], b"ERS username: "),
    "token": (["--sandbox", "login", "--username", "demo"], b"application token: "),
}


@pytest.mark.parametrize("what", sorted(LOGIN_PROMPTS))
def test_ctrl_d_at_a_login_prompt_means_nothing_was_given(what: str) -> None:
    args, prompt = LOGIN_PROMPTS[what]
    code, text = _on_a_terminal(args, prompt, CTRL_D)
    assert code == ExitCode.INPUT, text
    _no_bug(text)
    assert f"\nerror: no {what} given" in text, text  # on a line of its own


@pytest.mark.parametrize("what", sorted(LOGIN_PROMPTS))
def test_ctrl_c_at_a_login_prompt_is_an_interruption(what: str) -> None:
    args, prompt = LOGIN_PROMPTS[what]
    code, text = _on_a_terminal(args, prompt, CTRL_C)
    assert code == ExitCode.INTERRUPTED, text
    _no_bug(text)
    assert "error: interrupted" in text, text


# --- the prompt functions themselves ------------------------------------------------------------


def _raising(error: type[BaseException]) -> object:
    def read(*args: object) -> str:
        raise error

    return read


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Lines ``input()`` returns, in order (then the end of input)."""
    lines: list[str] = []

    def read(*args: object) -> str:
        if not lines:
            raise EOFError
        return lines.pop(0)

    monkeypatch.setattr("builtins.input", read)
    yield lines


@pytest.mark.parametrize(
    ("typed", "expected"),
    [(["y"], True), (["YES"], True), (["n"], False), ([""], False), (["maybe", "y"], True)],
)
def test_confirm_reads_yes_or_no(answers: list[str], typed: list[str], expected: bool) -> None:
    answers.extend(typed)
    assert confirm("Download?") is expected


def test_confirm_at_the_end_of_input_is_no(
    answers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert confirm("Download?") is False
    assert capsys.readouterr().err == "Download? [y/N]: \n"


def test_confirm_lets_ctrl_c_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("builtins.input", _raising(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        confirm("Download?")


@pytest.mark.parametrize("secret", [False, True])
def test_ask_at_the_end_of_input_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, secret: bool
) -> None:
    monkeypatch.setattr("builtins.input", _raising(EOFError))
    monkeypatch.setattr("getpass.getpass", _raising(EOFError))
    with pytest.raises(InputError, match="no token given") as caught:
        ask("token: ", what="token", hint="use --token-stdin", secret=secret)
    assert caught.value.exit_code == ExitCode.INPUT and caught.value.hint == "use --token-stdin"


# --- handle(): by type, and only at a prompt ----------------------------------------------------


def _command_raising(error: BaseException) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @handle
    def fail() -> None:
        raise error

    return app


def _invoke(app: typer.Typer) -> tuple[int, str]:
    result = CliRunner().invoke(app, [], catch_exceptions=False)
    return result.exit_code, result.stderr


def test_a_click_abort_is_an_interruption_not_a_bug() -> None:
    code, stderr = _invoke(_command_raising(typer.Abort()))
    assert code == ExitCode.INTERRUPTED, stderr
    _no_bug(stderr)
    assert stderr.startswith("error: interrupted"), stderr


def test_an_end_of_file_away_from_a_prompt_is_still_a_bug() -> None:
    """Only the prompts turn EOFError into an answer: elsewhere it is m2mdl's own fault."""
    code, stderr = _invoke(_command_raising(EOFError("ran out of bytes")))
    assert code == ExitCode.BUG, stderr
    assert "internal error: EOFError: ran out of bytes" in stderr, stderr
