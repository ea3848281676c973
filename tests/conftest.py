"""Test isolation: no real config, state, keyring or network; the sandbox fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from m2mdl.sandbox.testing import sandbox, sandbox_factory  # noqa: F401  (fixtures)

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _isolate(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Each test gets empty config/state dirs, no M2MDL_* variables and no OS keyring."""
    for name in list(os.environ):
        if name.startswith("M2MDL_") or name in {"NO_COLOR", "FORCE_COLOR"}:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("M2MDL_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("M2MDL_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("M2MDL_NO_KEYRING", "1")
    # Nothing reaches the real STAC API: a closed loopback port unless a test names a sandbox.
    monkeypatch.setenv("M2MDL_STAC_URL", "http://127.0.0.1:9/stac-server")
    monkeypatch.setenv("COLUMNS", "200")
    yield


@pytest.fixture
def umask() -> Iterator[int]:
    """The process umask (as it was), restored after a test that changes it."""
    old = os.umask(0o022)
    os.umask(old)
    yield old
    os.umask(old)
