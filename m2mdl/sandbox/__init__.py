"""A faithful local stand-in for the USGS M2M JSON API and its download hosts.

Stdlib only. Start it with ``python -m m2mdl.sandbox``, with the Python API::

    from m2mdl.sandbox import Sandbox, SandboxConfig, Faults
    with Sandbox(SandboxConfig(data_scale=0.001, faults=Faults(rate=1_000_000))) as sb:
        print(sb.api_url)

or with the pytest fixtures of :mod:`m2mdl.sandbox.testing`. Accounts: ``demo`` /
``demo-token`` (full access) and ``noaccess`` / ``noaccess-token`` (no download role).
"""

from m2mdl.sandbox.config import Faults, SandboxConfig, UserSpec
from m2mdl.sandbox.core import Sandbox

__all__ = ["Faults", "Sandbox", "SandboxConfig", "UserSpec"]
