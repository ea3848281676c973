"""The command line: ``m2mdl login|logout|aoi|search|options|download|cleanup|doctor``.

Each command module parses its options, calls a use case in :mod:`m2mdl.workflow` and hands the
result to :mod:`m2mdl.ui`; :mod:`m2mdl.cli._app` holds the app, the global options and error
handling.
"""

from . import account, aoi, download, search, verify  # noqa: F401  (register the commands)
from ._app import app

# isort: off
from . import doctor  # noqa: F401  (registered after the others: listed last in --help)
# isort: on

__all__ = ["app"]
