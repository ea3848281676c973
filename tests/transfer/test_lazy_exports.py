"""``m2mdl.transfer`` loads its submodules on first use (PEP 562): every public name must be
in its table and resolve to the object the defining submodule holds. (That the engine stays
unloaded before a download's first API call is ``tests/test_startup.py``'s.)"""

from __future__ import annotations

import importlib

import pytest

import m2mdl.transfer as transfer


def test_every_public_name_is_in_the_lazy_table_and_resolves_to_its_submodule() -> None:
    where = transfer._WHERE
    assert sorted(transfer.__all__) == sorted(where)
    for name, module in where.items():
        defining = importlib.import_module(f"m2mdl.transfer.{module}")
        assert getattr(transfer, name) is getattr(defining, name), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    name = "no_such_name"
    with pytest.raises(AttributeError, match=name):
        getattr(transfer, name)
