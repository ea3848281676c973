"""``python -m m2mdl`` and the ``m2mdl`` console script."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with its code.

    ``--version`` answers before typer and rich are imported (start-up time matters in shell
    loops). Usage errors are shortened to one line, like every other m2mdl error: Click's
    default is a usage block plus the error.
    """
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from . import __version__

        print(f"m2mdl {__version__}")
        sys.exit(0)
    from .cli import app

    try:
        code = app(args=args, prog_name="m2mdl", standalone_mode=False)
    except Exception as exc:
        # typer vendors click and exports no usage-error class; recognise it by its shape.
        exit_code = getattr(exc, "exit_code", None)
        if not (hasattr(exc, "format_message") and isinstance(exit_code, int)):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `m2mdl`: the help, not an error
            print(exc.format_message(), file=sys.stderr)
            sys.exit(exit_code)
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "m2mdl"
        print(f"error: {exc.format_message()} (see '{where} --help')", file=sys.stderr)
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
