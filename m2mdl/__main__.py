"""``python -m m2mdl`` and the ``m2mdl`` console script."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with its code.

    ``--version`` answers before typer and rich are imported (start-up time matters in shell
    loops); everything else is :func:`m2mdl.cli._app.run`.
    """
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from . import __version__
        from .errors import ExitCode

        print(f"m2mdl {__version__}")
        sys.exit(ExitCode.OK)
    from .cli._app import run  # registers the command that runs (m2mdl.cli.app has all)

    sys.exit(run(args))


if __name__ == "__main__":
    main()
