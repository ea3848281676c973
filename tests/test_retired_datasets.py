"""A retired Collection 1 dataset, or one the account may not use, is named as such: not as
missing M2M access (docs/design.md, "datasets")."""

from __future__ import annotations

import pytest

from m2mdl.errors import AccessDenied, DatasetUnavailable, ExitCode
from m2mdl.sandbox import Sandbox
from m2mdl.workflow.search import collection2_successor

from .cli_helpers import NOTEBOOK_QUERY, calls, env_for, run


@pytest.mark.parametrize(
    ("name", "successor"),
    [
        ("landsat_8_c1", "landsat_ot_c2_l2"),
        ("LANDSAT_8_C1", "landsat_ot_c2_l2"),
        ("landsat_etm_c1", "landsat_etm_c2_l2"),
        ("landsat_tm_c1", "landsat_tm_c2_l2"),
        ("landsat_mss_c1", "landsat_mss_c2_l1"),
        ("landsat_ot_c2_l2", None),
        ("landsat_8_c12", None),
        ("sentinel_2a", None),
    ],
)
def test_collection2_successor(name: str, successor: str | None) -> None:
    assert collection2_successor(name) == successor


def test_dataset_auth_is_not_the_machine_access_hint() -> None:
    assert issubclass(DatasetUnavailable, AccessDenied)
    hint = DatasetUnavailable("scene-search: DATASET_AUTH: no").hint or ""
    assert "Collection 1" in hint and "landsat_ot_c2_l2" in hint
    assert hint != AccessDenied.default_hint and "MACHINE" not in hint


def test_a_retired_dataset_names_its_successor(sandbox: Sandbox) -> None:
    result = run(["search", *NOTEBOOK_QUERY, "--dataset", "landsat_8_c1"], env_for(sandbox))
    assert result.exit_code == ExitCode.INPUT, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "error: landsat_8_c1 is a retired Collection 1 dataset (DATASET_AUTH)"
    assert (
        lines[1]
        == "hint: use its Collection 2 successor landsat_ot_c2_l2 (Level-2; _l1 for Level-1)"
    )
    assert [c["endpoint"] for c in calls(sandbox)].count("scene-search") == 1
