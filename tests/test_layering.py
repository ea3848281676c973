"""The import layering the README promises, checked on every module of the package.

Layers, top to bottom: ``cli`` (and ``__main__``) → ``ui`` and ``library`` → ``workflow`` →
the core modules (api, transfer, manifest, aoi, auth, config, ...). A module may import its
own layer and the layers below it, never one above. On top of that:

* only ``m2mdl.cli`` imports typer, and only ``m2mdl.cli`` and ``m2mdl.ui`` import rich;
* the transfer engine knows nothing about M2M: from the package it imports only itself and
  the leaf modules in ``TRANSFER_MAY_USE``;
* the sandbox uses only the standard library and itself, and only the entry points that
  start it on request (``--sandbox``, ``M2M.sandbox()``) import it.

Function-level imports count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "m2mdl"

#: Leaf modules with no M2M knowledge that the transfer engine may share with the rest.
TRANSFER_MAY_USE = ("m2mdl.errors", "m2mdl.util")
#: The sandbox's pytest fixtures may use pytest, nothing else outside the standard library.
SANDBOX_TEST_PLUGIN = "m2mdl.sandbox.testing"
#: Modules allowed to start the sandbox on request.
SANDBOX_STARTERS = ("m2mdl.cli", "m2mdl.library")

_RANK = {"cli": 3, "__main__": 3, "ui": 2, "library": 2, "workflow": 1}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append((".".join(parts), path))
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports, wherever the import statement is."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            out.add(target)
            # ``from . import x`` may name a submodule
            out.update(f"{target}.{alias.name}" for alias in node.names)
    return out


def _layer(module: str) -> int:
    if module == "m2mdl":
        return 3  # the package root re-exports the Python API (m2mdl.M2M), lazily
    parts = module.split(".")
    return _RANK.get(parts[1], 0) if len(parts) > 1 and parts[0] == "m2mdl" else 0


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


MODULES = _modules()


def _is_package_module(target: str) -> bool:
    return any(target == name for name, _ in MODULES)


@pytest.mark.parametrize("name,path", MODULES, ids=[n for n, _ in MODULES])
def test_imports_point_down(name: str, path: Path) -> None:
    if _within(name, ("m2mdl.sandbox",)):
        return  # checked by test_sandbox_is_stdlib_only
    upward = [
        target
        for target in _imports(name, path)
        if target.startswith("m2mdl.")
        and _is_package_module(target)
        and not _within(target, ("m2mdl.sandbox",))
        and _layer(target) > _layer(name)
    ]
    assert not upward, f"{name} imports a higher layer: {sorted(upward)}"


@pytest.mark.parametrize("name,path", MODULES, ids=[n for n, _ in MODULES])
def test_typer_and_rich_stay_in_the_ui_layers(name: str, path: Path) -> None:
    roots = {target.split(".")[0] for target in _imports(name, path)}
    if "typer" in roots or "click" in roots:
        assert _within(name, ("m2mdl.cli",)), f"{name} imports typer/click"
    if "rich" in roots:
        assert _within(name, ("m2mdl.cli", "m2mdl.ui")), f"{name} imports rich"


@pytest.mark.parametrize(
    "name,path",
    [(n, p) for n, p in MODULES if _within(n, ("m2mdl.transfer",))],
    ids=[n for n, _ in MODULES if _within(n, ("m2mdl.transfer",))],
)
def test_transfer_knows_nothing_of_m2m(name: str, path: Path) -> None:
    foreign = [
        target
        for target in _imports(name, path)
        if target.startswith("m2mdl")
        and _is_package_module(target)
        and not _within(target, ("m2mdl.transfer", *TRANSFER_MAY_USE))
    ]
    assert not foreign, f"{name} imports {sorted(foreign)}"


@pytest.mark.parametrize(
    "name,path",
    [(n, p) for n, p in MODULES if _within(n, ("m2mdl.sandbox",))],
    ids=[n for n, _ in MODULES if _within(n, ("m2mdl.sandbox",))],
)
def test_sandbox_is_stdlib_only(name: str, path: Path) -> None:
    bad = [
        target
        for target in _imports(name, path)
        if target
        and target.split(".")[0] not in sys.stdlib_module_names
        and not _within(target, ("m2mdl.sandbox",))
        and target != "m2mdl"
        and not (name == SANDBOX_TEST_PLUGIN and target.split(".")[0] == "pytest")
    ]
    assert not bad, f"{name} imports {sorted(bad)}"


@pytest.mark.parametrize("name,path", MODULES, ids=[n for n, _ in MODULES])
def test_only_the_entry_points_start_the_sandbox(name: str, path: Path) -> None:
    if _within(name, ("m2mdl.sandbox", *SANDBOX_STARTERS)):
        return
    uses = [t for t in _imports(name, path) if _within(t, ("m2mdl.sandbox",))]
    assert not uses, f"{name} imports the sandbox: {sorted(uses)}"


def test_the_checker_sees_lazy_and_relative_imports() -> None:
    """The scan must catch the forms the package uses, or the tests above prove nothing."""
    imports = _imports("m2mdl.cli._app", PACKAGE / "cli" / "_app.py")
    assert "typer" in imports
    assert "m2mdl.sandbox" in imports  # imported inside a method
    assert "m2mdl.workflow.context" in imports  # a relative import, also inside a method
