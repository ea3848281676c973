"""Human-facing formatting helpers."""

from __future__ import annotations

from m2mdl.ui import short_name


def test_short_names_keep_what_tells_files_apart() -> None:
    assert (
        short_name("LC08_L2SP_068018_20200310_20200822_02_T1_SR_B5.TIF")
        == "068018 2020-03-10 SR_B5.TIF"
    )
    assert (
        short_name("LC08_L2SP_068018_20200310_20200822_02_T1.tar") == "068018 2020-03-10 bundle.tar"
    )
    assert short_name("other.bin") == "other.bin"
    assert short_name("x" * 60) == "…" + "x" * 39
