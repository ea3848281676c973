"""Secrets never follow a redirect: API calls refuse every 3xx, naming its target (exit 4).

Two loopback servers per test: the "API" answers as the test says, the "elsewhere" server
only records. 127.0.0.1 and localhost are different hosts to an HTTP client, which is all
"another host" needs to mean here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..cli_helpers import NOTEBOOK_QUERY
from .helpers import cli_env, run_cli
from .trap import Seen, json_answer, redirect, self_signed, trap

pytestmark = pytest.mark.reliability

TOKEN = "trap-token-5f2a9c"
KEY = "trap-session-key-77e1d0"
SEARCH = ["search", *NOTEBOOK_QUERY]


def _env(api_url: str, **extra: str) -> dict[str, str]:
    env = cli_env(M2MDL_API_URL=api_url + "stable/", M2MDL_USERNAME="demo", M2MDL_TOKEN=TOKEN)
    env.update(extra)
    return env


def _nothing(seen: Seen) -> tuple[int, dict[str, str], bytes]:
    return json_answer(None)


def _leaks(text: str) -> list[str]:
    return [secret for secret in (TOKEN, KEY) if secret in text]


@pytest.mark.parametrize("status", [307, 308])
def test_login_token_redirected_to_another_host_is_an_api_error(status: int) -> None:
    with trap(_nothing, host="127.0.0.1") as elsewhere:
        target = elsewhere.url.replace("127.0.0.1", "localhost") + "stable/login-token"
        with trap(lambda seen: redirect(status, target)) as api:
            result = run_cli(SEARCH, _env(api.url), timeout=60)
        assert result.code == 4, result.explain()
        assert not elsewhere.seen, f"the token was re-sent elsewhere: {elsewhere.seen}"
    assert [s.path for s in api.seen] == ["/stable/login-token"], api.seen
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "redirect" in lines[0] and target in lines[0], result.explain()
    assert str(status) in lines[0]
    assert not _leaks(result.stdout + result.stderr)
    assert "Traceback" not in result.stderr


def test_a_302_on_a_later_call_does_not_carry_the_session_key() -> None:
    def api_answer(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        if seen.path.endswith("/login-token"):
            return json_answer(KEY)
        return redirect(302, elsewhere.url + "stable/steal?requestSignature=abc123")

    with trap(_nothing) as elsewhere, trap(api_answer) as api:
        result = run_cli(SEARCH, _env(api.url.replace("127.0.0.1", "localhost")), timeout=60)
    assert result.code == 4, result.explain()
    assert not elsewhere.seen, f"a request followed the redirect: {elsewhere.seen}"
    later = [s for s in api.seen if not s.path.endswith("/login-token")]
    assert len(later) == 1 and later[0].headers.get("X-Auth-Token") == KEY, api.seen
    assert elsewhere.url + "stable/steal" in result.stderr, result.explain()
    assert "abc123" not in result.stderr, "the redirect's query (a signature) was printed"
    assert not _leaks(result.stdout + result.stderr)


def test_https_api_redirecting_to_plain_http_is_refused(tmp_path: Path) -> None:
    pem = self_signed(tmp_path)
    with trap(_nothing) as plain:
        target = plain.url + "stable/login-token"
        with trap(lambda seen: redirect(307, target), cert=pem) as api:
            assert api.url.startswith("https://localhost:")
            env = _env(api.url, REQUESTS_CA_BUNDLE=str(pem))
            result = run_cli(SEARCH, env, timeout=60)
    assert result.code == 4, result.explain()
    assert len(api.seen) == 1 and json.loads(api.seen[0].body)["token"] == TOKEN
    assert not plain.seen, "the token went out in clear text"
    assert target in result.stderr and not _leaks(result.stderr), result.explain()
