"""``python -m m2mdl`` and the ``m2mdl`` console script."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with its code.

    ``--version`` answers before typer, rich and even m2mdl's error classes are imported
    (start-up time matters in shell loops): it returns, which is exit code 0 (``ExitCode.OK``);
    everything else is :func:`m2mdl.cli._app.run`.
    """
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from . import __version__

        print(f"m2mdl {__version__}")
        return
    from .cli._app import run  # registers the command that runs (m2mdl.cli.app has all)

    sys.exit(run(args))


if __name__ == "__main__":
    main()
