"""pytest fixtures: ``sandbox`` (one per test, data_scale 0.001) and ``sandbox_factory``.

The project's ``tests/conftest.py`` imports them::

    from m2mdl.sandbox.testing import sandbox, sandbox_factory  # noqa: F401

``sandbox_factory(**kwargs)`` accepts SandboxConfig fields and Faults fields mixed
(``sandbox_factory(rate=100_000, key_idle_seconds=1)``), or ``config=SandboxConfig(...)``;
every sandbox it started is stopped at teardown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from m2mdl.sandbox.config import Faults, SandboxConfig
from m2mdl.sandbox.core import Sandbox

_FAULT_FIELDS = {f.name for f in dataclasses.fields(Faults)}
TEST_SCALE = 0.001


def make_config(**kwargs: Any) -> SandboxConfig:  # Any: SandboxConfig/Faults fields, typed there
    """A SandboxConfig from mixed SandboxConfig/Faults keyword arguments."""
    fault_args = {k: kwargs.pop(k) for k in list(kwargs) if k in _FAULT_FIELDS}
    faults = kwargs.pop("faults", None) or Faults()
    faults = dataclasses.replace(faults, **fault_args)
    kwargs.setdefault("data_scale", TEST_SCALE)
    return SandboxConfig(faults=faults, **kwargs)


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    """A callable that starts sandboxes; all of them stop at teardown."""
    started: list[Sandbox] = []

    def factory(  # Any: passed on to make_config
        config: SandboxConfig | None = None, **kwargs: Any
    ) -> Sandbox:
        sb = Sandbox(config if config is not None else make_config(**kwargs)).start()
        started.append(sb)
        return sb

    yield factory
    for sb in started:
        sb.stop()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox with the default config at data_scale 0.001."""
    with Sandbox(make_config()) as sb:
        yield sb
