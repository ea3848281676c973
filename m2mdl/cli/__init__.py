"""The command line: ``m2mdl login|logout|aoi|search|options|download|cleanup|verify|doctor``.

Each command module parses its options, calls a use case in :mod:`m2mdl.workflow` and hands the
result to :mod:`m2mdl.ui`; :mod:`m2mdl.cli._app` holds the app, the global options and error
handling.

``m2mdl.cli.app`` is the app with every command registered (the first use of the name imports
the command modules). The ``m2mdl`` program itself registers only the command it runs
(:func:`m2mdl.cli._app.run`): a command's start-up does not pay for the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import app as app

__all__ = ["app"]


def __getattr__(name: str) -> Any:  # Any: PEP 562 hook; mypy types app by the import above
    if name == "app":
        from ._app import app, register

        register()
        globals()["app"] = app  # later look-ups skip this function
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
