"""Real types at every boundary: no unexplained ``Any`` in a signature under ``m2mdl/``.

The code rules of docs/design.md, section "5. CLI and error model", allow ``Any`` in a
signature only with a comment saying why. Here that means: a parameter or return annotation
that mentions ``Any`` needs a comment containing ``# Any:`` on one of the signature's lines,
from the ``def`` line to the line before the body (decorators are not part of it). JSON data
uses the names in ``m2mdl.util.jsontypes``, whose docstring says once why a JSON value is
``Any``; a value that is only passed along or compared is ``object``, not ``Any``.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "m2mdl"
MARK = "# Any:"
#: ``Any`` as a name (``Any``, ``typing.Any``, ``'Any'``), not a part of one (``AnyStr``).
_ANY = re.compile(r"\bAny\b")


def _annotations(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    args = node.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    found = [p.annotation for p in params if p is not None and p.annotation is not None]
    return found + ([node.returns] if node.returns is not None else [])


def unexplained_any(source: str, name: str) -> list[str]:
    """``NAME:LINE FUNCTION`` for each signature in ``source`` that mentions ``Any`` without
    a ``# Any:`` comment on its lines, in line order."""
    # Comments only, found by the tokenizer: "# Any:" inside a string does not explain.
    marked = {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT and MARK in token.string
    }
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        annotations = _annotations(node)
        if not any(_ANY.search(ast.unparse(a)) for a in annotations):
            continue
        # node.lineno is the ``def`` line, below any decorator. The signature ends on the line
        # before the body (a docstring counts as the body), or on its last annotation's line
        # when the body shares a line with it (``def f(x: Any) -> None: ...``).
        last = max(
            node.lineno,
            node.body[0].lineno - 1,
            *(a.end_lineno or a.lineno for a in annotations),
        )
        if marked.isdisjoint(range(node.lineno, last + 1)):
            found.append((node.lineno, f"{name}:{node.lineno} {node.name}"))
    return [text for _, text in sorted(found)]


def test_every_any_in_a_signature_says_why() -> None:
    paths = sorted(PACKAGE.rglob("*.py"))
    assert len(paths) > 100, f"found only {len(paths)} modules under {PACKAGE}"
    root = PACKAGE.parent
    bad = [
        entry
        for path in paths
        for entry in unexplained_any(
            path.read_text(encoding="utf-8"), path.relative_to(root).as_posix()
        )
    ]
    assert not bad, (
        f"signatures with Any and no '{MARK}' comment saying why (use m2mdl.util.jsontypes"
        " for JSON, object for a value only passed along):\n" + "\n".join(bad)
    )


def test_the_checker_catches_an_unexplained_any() -> None:
    """The scan must see the forms the package uses, or the test above proves nothing."""
    source = textwrap.dedent(
        '''
        import typing
        from typing import Any

        def bare(x: Any) -> None:
            pass

        def in_return() -> dict[str, typing.Any]:
            return {}

        def as_string(x: "Any") -> None: ...

        def explained(x: Any) -> None:  # Any: the reason
            pass

        def explained_on_a_parameter(
            x: int,
            *args: Any,  # Any: the reason
        ) -> None:
            """A docstring."""

        @decorator  # Any: on the decorator, not on the signature
        def decorated(x: Any) -> None:
            pass

        def in_a_string(x: Any = "# Any: not a comment") -> None:
            pass

        def marked_in_the_body(x: Any) -> None:
            """The mark must be on the signature."""
            # Any: too late
            return None

        class Holder:
            async def method(self, **kwargs: Any) -> None:
                def inner(*args: Any) -> None: ...

        def fine(x: object, y: typing.AnyStr) -> int:
            return 0
        '''
    )
    lines = source.splitlines()

    def line_of(function: str) -> int:
        return next(n for n, text in enumerate(lines, 1) if f"def {function}(" in text)

    expected = [
        "bare",
        "in_return",
        "as_string",
        "decorated",
        "in_a_string",
        "marked_in_the_body",
        "method",
        "inner",
    ]
    assert unexplained_any(source, "x.py") == [f"x.py:{line_of(f)} {f}" for f in expected]
