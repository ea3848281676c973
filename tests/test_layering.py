"""The import layering the README promises, checked on every module of the package.

Layers, top to bottom: ``cli`` (and ``__main__``) → ``ui`` and ``library`` → ``workflow`` →
the core modules (api, transfer, manifest, aoi, auth, config, ...). A module may import its
own layer and the layers below it, never one above. On top of that:

* only ``m2mdl.cli`` imports typer, and only ``m2mdl.ui`` imports rich;
* the transfer engine knows nothing about M2M: from the package it imports only itself and
  the leaf modules in ``TRANSFER_MAY_USE``;
* the sandbox uses only the standard library and itself, and only the entry points that
  start it on request (``--sandbox``, ``M2M.sandbox()``) import it.

Function-level imports count too: a lazy import is still a dependency. So do
``importlib.import_module`` calls: with a literal name the name is read from the call; a name
built at run time must come from a table of the module listed in ``LAZY_TABLES`` (the CLI's
``COMMANDS``), whose entries are then checked as imports of that module.
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

#: Modules that import modules named in a table of theirs (lazy loading): the table's name and
#: how one of its values becomes a module name.
LAZY_TABLES: dict[str, tuple[str, str]] = {
    "m2mdl.cli._app": ("COMMANDS", "m2mdl.cli.{}"),
    "m2mdl.transfer": ("_WHERE", "m2mdl.transfer.{}"),
}
#: Stands for an import_module whose name the scan cannot know (built at run time, no table).
DYNAMIC = "<import_module of a name built at run time>"


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
    return _scan(name, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")


def _scan(
    name: str, source: str, *, is_package: bool, tables: dict[str, tuple[str, str]] = LAZY_TABLES
) -> set[str]:
    """The modules the source of module ``name`` imports: statements and import_module."""
    tree = ast.parse(source)
    package = name if is_package else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute("." * node.level + (node.module or ""), package)
            out.add(target)
            # ``from . import x`` may name a submodule
            out.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _is_import_module(node.func):
            out.update(_import_module_targets(node, name, package, tree, tables.get(name)))
    return out


def _absolute(target: str, anchor: str) -> str:
    """``target`` (``.x``, ``..x.y`` or absolute) as an absolute name, relative to ``anchor``."""
    level = len(target) - len(target.lstrip("."))
    if not level:
        return target
    base = anchor.split(".")
    rest = target[level:]
    return ".".join([*base[: len(base) - level + 1], *([rest] if rest else [])])


def _is_import_module(func: ast.expr) -> bool:
    """``importlib.import_module``, ``import_module`` (imported by name) or ``__import__``."""
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in ("import_module", "__import__")


def _import_module_targets(
    call: ast.Call, name: str, package: str, tree: ast.Module, table: tuple[str, str] | None
) -> set[str]:
    """What one import_module call imports: its literal name, else its module's table."""
    first = call.args[0] if call.args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        anchors = [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "package")]
        anchor = package
        if anchors and isinstance(anchors[0], ast.Name) and anchors[0].id == "__name__":
            anchor = name
        elif anchors and isinstance(anchors[0], ast.Constant):
            anchor = str(anchors[0].value)
        return {_absolute(first.value, anchor)}
    if table is None:
        return {DYNAMIC}
    return _table_modules(tree, *table)


def _table_modules(tree: ast.Module, table: str, pattern: str) -> set[str]:
    """The modules a literal dict ``table`` at the top of ``tree`` names (its values)."""
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == table for t in targets):
            assert isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None
            values = ast.literal_eval(node.value)
            assert isinstance(values, dict), f"{table} is not a literal dict"
            return {pattern.format(value) for value in values.values()}
    raise AssertionError(f"no table {table} at the top of the module")


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


def _upward(name: str, imports: set[str]) -> list[str]:
    """The modules of a higher layer than ``name`` among ``imports``."""
    return sorted(
        target
        for target in imports
        if target.startswith("m2mdl.")
        and _is_package_module(target)
        and not _within(target, ("m2mdl.sandbox",))
        and _layer(target) > _layer(name)
    )


def _ui_library_problems(name: str, imports: set[str]) -> list[str]:
    """typer or click imported outside ``m2mdl.cli``, rich outside ``m2mdl.ui``."""
    roots = {target.split(".")[0] for target in imports}
    problems = []
    if roots & {"typer", "click"} and not _within(name, ("m2mdl.cli",)):
        problems.append(f"{name} imports typer/click")
    if "rich" in roots and name != "m2mdl.ui":
        problems.append(f"{name} imports rich")
    return problems


@pytest.mark.parametrize("name,path", MODULES, ids=[n for n, _ in MODULES])
def test_imports_point_down(name: str, path: Path) -> None:
    if _within(name, ("m2mdl.sandbox",)):
        return  # checked by test_sandbox_is_stdlib_only
    upward = _upward(name, _imports(name, path))
    assert not upward, f"{name} imports a higher layer: {upward}"


@pytest.mark.parametrize("name,path", MODULES, ids=[n for n, _ in MODULES])
def test_typer_and_rich_stay_in_the_ui_layers(name: str, path: Path) -> None:
    assert _ui_library_problems(name, _imports(name, path)) == []


@pytest.mark.parametrize("name,path", MODULES, ids=[n for n, _ in MODULES])
def test_every_import_module_name_is_known(name: str, path: Path) -> None:
    """A name built at run time escapes every check above unless a table lists its values."""
    imports = _imports(name, path)
    assert DYNAMIC not in imports, f"{name}: import_module of a name not in LAZY_TABLES"


@pytest.mark.parametrize("name", sorted(LAZY_TABLES))
def test_the_lazy_tables_name_real_modules(name: str) -> None:
    path = dict(MODULES)[name]
    table, pattern = LAZY_TABLES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    missing = sorted(m for m in _table_modules(tree, table, pattern) if not _is_package_module(m))
    assert not missing, f"{name}.{table} names modules that do not exist: {missing}"


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
    # The commands the CLI loads by name, from its COMMANDS table, as the app has them.
    from m2mdl.cli._app import COMMANDS

    assert {f"m2mdl.cli.{module}" for module in COMMANDS.values()} <= imports


#: A core module (layer 0) that breaks the rules only inside functions and through
#: import_module: every one of these must be caught.
_FORBIDDEN = """
import importlib
from importlib import import_module

def later():
    from .cli import _app
    import rich.console

def by_name():
    importlib.import_module("m2mdl.workflow.download")
    import_module(".ui", __package__)
    importlib.import_module("..library", package="m2mdl.workflow")

def from_a_table(key):
    importlib.import_module(f"m2mdl.{_LAZY[key]}")

_LAZY = {"plan": "workflow.plan", "commands": "cli.download"}
"""


def test_the_checker_catches_imports_in_functions_and_through_import_module() -> None:
    imports = _scan("m2mdl.api", _FORBIDDEN, is_package=False)
    assert _upward("m2mdl.api", imports) == [
        "m2mdl.cli",  # a relative import inside a function: the package ...
        "m2mdl.cli._app",  # ... and the module it names
        "m2mdl.library",  # import_module, relative to a literal package
        "m2mdl.ui",  # import_module, relative to __package__
        "m2mdl.workflow.download",  # import_module with an absolute literal name
    ]
    assert _ui_library_problems("m2mdl.api", imports) == ["m2mdl.api imports rich"]
    # A name built at run time, from a module without a table: flagged as unknowable.
    assert DYNAMIC in imports
    # With its table declared, the table's modules are checked instead.
    tables = {"m2mdl.api": ("_LAZY", "m2mdl.{}")}
    with_table = _scan("m2mdl.api", _FORBIDDEN, is_package=False, tables=tables)
    assert DYNAMIC not in with_table
    assert {"m2mdl.workflow.plan", "m2mdl.cli.download"} <= set(_upward("m2mdl.api", with_table))


def test_rich_is_refused_in_the_cli_too() -> None:
    source = "def show():\n    from rich.markup import escape\n"
    assert _ui_library_problems(
        "m2mdl.cli.doctor", _scan("m2mdl.cli.doctor", source, is_package=False)
    ) == ["m2mdl.cli.doctor imports rich"]
