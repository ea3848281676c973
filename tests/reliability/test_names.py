"""Case 6: hostile or odd names from the server never leave the output directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m2mdl.models import Product
from m2mdl.sandbox import Sandbox
from m2mdl.transfer import UnsafeFileName, safe_join
from m2mdl.workflow.plan import make_plan

from .helpers import BUNDLES, assert_complete, cli_env, download_args, run_cli

pytestmark = pytest.mark.reliability

EVIL = {
    "dotdot": "../../x",
    "absolute": "/tmp/m2mdl-evil-absolute",
    "nul": "a\x00b.tar",
    "long": "L" * 300 + ".tar",
    "backslash": "..\\..\\y",
}


def _all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("evil", list(EVIL.values()), ids=list(EVIL))
def test_hostile_content_disposition_is_ignored(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, evil: str
) -> None:
    sb = sandbox_factory(evil_filename=evil)
    out = tmp_path / "a" / "b" / "out"
    before = _all_files(tmp_path)
    result = run_cli(download_args(out, "bundle"), cli_env(sb), timeout=60)
    assert result.code == 0, result.explain()
    assert_complete(out, sb, BUNDLES)  # the planned names, verified bytes, nothing else
    outside = {p for p in _all_files(tmp_path) - before if out not in p.parents}
    assert not outside, f"files written outside the output directory: {outside}"
    assert not Path("/tmp/m2mdl-evil-absolute").exists()


def _product(display: str, entity: str = "LC80680172020070LGN00") -> Product:
    """A download-options product whose (bundle) display id and one secondary are hostile."""
    secondary = Product(
        product_id="5f85f041c828327a",
        entity_id=f"L2SR_{entity}_X",
        display_id=display,
        dataset_id="5f85f041c828327a",
        product_code="D557",
        product_name="band",
        download_system="ls_zip",
        download_name=None,
        filesize=10,
        available=True,
        bulk_available=True,
        file_groups=("ls_c2l2_sr_band",),
        secondary=(),
    )
    return Product(
        product_id="5e83d14fec7cae84",
        entity_id=entity,
        display_id=display,
        dataset_id="5e83d14fec7cae84",
        product_code="D555",
        product_name="bundle",
        download_system="ls_zip",
        download_name=None,
        filesize=100,
        available=True,
        bulk_available=True,
        file_groups=(),
        secondary=(secondary,),
    )


HOSTILE_IDS = [
    "../../etc/passwd",
    "/abs/path",
    "a\x00b",
    "x" * 300,
    "..",
    ".",
    "",
    "C:\\Windows\\x",
    "name\r\nX-Evil: 1",
    "\u202etxt.exe",
    "a/../../b",
    "LC08_L2SP_068017_20200310_20200822_02_T1.tar.part",
]


def _check_inside(out: Path, name: str) -> None:
    try:
        path = safe_join(out, name)
    except UnsafeFileName:
        return  # refused: nothing is written under that name
    assert path.parent == out, (name, path)
    clean = path.name
    assert clean and not clean.startswith("."), (name, clean)
    assert "/" not in clean and "\\" not in clean and "\x00" not in clean, (name, clean)
    assert len(clean.encode()) <= 255, (name, clean)
    assert not clean.endswith((".part", ".part.json")), (name, clean)
    assert (out / clean).resolve().parent == out.resolve(), (name, clean)


@pytest.mark.parametrize("filetype", ["bundle", "band", "band_group"])
@pytest.mark.parametrize("display", HOSTILE_IDS)
def test_plan_with_hostile_display_ids_stays_inside(
    tmp_path: Path, filetype: str, display: str
) -> None:
    plan = make_plan(filetype, [_product(display)])
    for planned in plan.files:
        _check_inside(tmp_path, planned.file_name)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=320))
def test_any_display_id_plans_inside(display: str) -> None:
    out = Path("/srv/out")
    for filetype in ("bundle", "band"):
        for planned in make_plan(filetype, [_product(display)]).files:
            _check_inside(out, planned.file_name)
