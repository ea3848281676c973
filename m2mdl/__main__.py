"""``python -m m2mdl`` and the ``m2mdl`` console script."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the CLI. ``--version`` answers before typer and rich are imported (start-up time)."""
    if sys.argv[1:] == ["--version"]:
        from . import __version__

        print(f"m2mdl {__version__}")
        return
    from .cli import app

    app(prog_name="m2mdl")


if __name__ == "__main__":
    main()
