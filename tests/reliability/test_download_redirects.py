"""Downloads follow redirects only to https (or loopback to loopback), never with the key.

The sandbox writes the requested files under ``files_dir`` and hands out URLs under
``files_url``, which points at a loopback trap that answers every file with a redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from m2mdl.sandbox import Sandbox

from .helpers import BUNDLES, assert_complete, cli_env, download_args, inspect_out, run_cli
from .trap import Answer, Seen, redirect, self_signed, trap

pytestmark = pytest.mark.reliability


def _static(root: Path) -> Callable[[Seen], Answer]:
    def answer(seen: Seen) -> Answer:
        path = root / unquote(urlsplit(seen.path).path.lstrip("/"))
        if not path.is_file():
            return 404, {"Content-Type": "text/plain"}, b"not found"
        return 200, {"Content-Type": "application/x-tar"}, path.read_bytes()

    return answer


def test_redirect_to_https_is_followed_without_the_session_key(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    pem = self_signed(tmp_path)
    files = tmp_path / "files"
    with trap(_static(files), cert=pem) as secure:

        def to_https(seen: Seen) -> Answer:
            return redirect(302, secure.url.rstrip("/") + seen.path)

        with trap(to_https) as start:
            sb = sandbox_factory(files_dir=files, files_url=start.url.rstrip("/"))
            out = tmp_path / "out"
            env = cli_env(sb, REQUESTS_CA_BUNDLE=str(pem))
            result = run_cli(download_args(out, "bundle"), env, timeout=90)
    assert result.code == 0, result.explain()
    assert_complete(out, sb, BUNDLES)
    assert start.seen and secure.seen
    for seen in [*start.seen, *secure.seen]:
        assert "X-Auth-Token" not in seen.headers and "Authorization" not in seen.headers


def test_redirect_to_plain_http_elsewhere_is_refused(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    def to_http(seen: Seen) -> Answer:
        return redirect(302, "http://downloads.example.invalid" + seen.path)

    with trap(to_http) as start:
        sb = sandbox_factory(files_dir=tmp_path / "files", files_url=start.url.rstrip("/"))
        out = tmp_path / "out"
        result = run_cli(download_args(out, "bundle"), cli_env(sb), timeout=90)
    assert result.code == 6, result.explain()
    assert "Traceback" not in result.stderr
    assert "plain http" in result.stderr, result.explain()
    state = inspect_out(out, sb)
    assert not state.finals
    errors = [i.get("last_error") or "" for i in state.newest_manifest()["items"]]
    assert all("downloads.example.invalid" in e for e in errors), errors
    # one request per file: a refused redirect is not retried
    assert len(start.seen) == len(BUNDLES), [s.path for s in start.seen]
