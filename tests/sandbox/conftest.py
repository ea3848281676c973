"""Fixtures for the sandbox's own tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from m2mdl.sandbox import Sandbox
from m2mdl.sandbox.testing import sandbox, sandbox_factory  # noqa: F401 (fixtures)
from tests.sandbox.sandbox_helpers import Client


@pytest.fixture
def client(sandbox: Sandbox) -> Client:  # noqa: F811 (fixture parameter)
    """A logged-in API client for the default sandbox."""
    login: Callable[[Sandbox], Client] = Client.login
    return login(sandbox)


@pytest.fixture
def client_factory() -> Callable[[Sandbox], Client]:
    """Log in to any sandbox."""
    return Client.login
