"""Unit and property tests of the pure helpers: header parsers, names, redaction.

Retry-After and redaction live in ``m2mdl.util.net``; these cases check them as the engine
uses them (a ``FileResult.error`` of at most ``ERROR_LIMIT`` characters).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m2mdl.transfer import (
    UnsafeFileName,
    parse_content_disposition,
    parse_content_range,
    safe_join,
)
from m2mdl.transfer.errors import HeaderError
from m2mdl.transfer.http_parse import parse_unsatisfied_range
from m2mdl.transfer.model import ERROR_LIMIT
from m2mdl.util.net import parse_retry_after, redact_url, strip_query

OUT = Path("/srv/out")

# --- Content-Range ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes 0-99/100", (0, 99, 100)),
        ("bytes 5-5/6", (5, 5, 6)),
        ("BYTES 10-19/*", (10, 19, None)),
        ("  bytes 0-0/1 ", (0, 0, 1)),
        ("bytes\t1-2/3", (1, 2, 3)),
    ],
)
def test_content_range_valid(header: str, expected: tuple[int, int, int | None]) -> None:
    assert parse_content_range(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "",
        "bytes",
        "bytes */100",
        "bytes 0-99",
        "bytes 10-5/100",
        "bytes 0-100/100",
        "bytes -1-5/10",
        "bytes 0-5/-10",
        "items 0-5/10",
        "bytes 0 -5/10",
        "bytes 0-5/10, 6-7/10",
        "bytes ０-5/10",  # noqa: RUF001 - full-width digits must not pass as digits
        "bytes 0-5/10x",
        "bytes 1-2/" + "9" * 30,
    ],
)
def test_content_range_malformed(header: str) -> None:
    with pytest.raises(HeaderError):
        parse_content_range(header)


@given(st.text(max_size=60))
def test_content_range_never_crashes(header: str) -> None:
    try:
        start, end, total = parse_content_range(header)
    except HeaderError:
        return
    assert 0 <= start <= end
    assert total is None or end < total


@given(st.integers(0, 2**62), st.integers(0, 2**62), st.integers(1, 2**62))
def test_content_range_roundtrip(a: int, b: int, extra: int) -> None:
    start, end = min(a, b), max(a, b)
    total = end + extra
    assert parse_content_range(f"bytes {start}-{end}/{total}") == (start, end, total)


def test_unsatisfied_range() -> None:
    assert parse_unsatisfied_range("bytes */1234") == 1234
    with pytest.raises(HeaderError):
        parse_unsatisfied_range("bytes 0-1/2")


# --- Content-Disposition ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="LC08_L2SP.tar"', "LC08_L2SP.tar"),
        ("attachment; filename=LC08.TIF", "LC08.TIF"),
        ("attachment; filename*=UTF-8''na%C3%AFve%20file.txt", "naïve file.txt"),
        ("attachment; filename=\"fallback.txt\"; filename*=UTF-8''real.txt", "real.txt"),
        ('attachment; filename="a \\"quoted\\" name"', 'a "quoted" name'),
        ('attachment; filename="semi;colon.tar"', "semi;colon.tar"),
        ("attachment; FILENAME=upper.tar", "upper.tar"),
        ("attachment", None),
        ("", None),
        ("attachment; filename*=bogus", None),
        ("attachment; filename*=UTF-8''%FF%FE", None),
        ('inline; name="x"', None),
    ],
)
def test_content_disposition(header: str, expected: str | None) -> None:
    assert parse_content_disposition(header) == expected


@given(st.text(max_size=120))
def test_content_disposition_never_crashes(header: str) -> None:
    result = parse_content_disposition(header)
    assert result is None or (isinstance(result, str) and result)


@given(st.text(max_size=80))
def test_content_disposition_then_safe_join(name: str) -> None:
    parsed = parse_content_disposition(f"attachment; filename*=UTF-8''{name}")
    if parsed is None:
        return
    try:
        path = safe_join(OUT, parsed)
    except UnsafeFileName:
        return
    assert path.parent == OUT


# --- safe_join -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("LC08.tar", "LC08.tar"),
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("C:\\Windows\\evil.dll", "evil.dll"),
        (".hidden", "hidden"),
        ("...dots", "dots"),
        ("a\x00b\nc.txt", "abc.txt"),
        ("  spaced.tif  ", "spaced.tif"),
        ("trailing.", "trailing"),
        ("x.part", "x.part_"),
        ("x.part.json", "x.part.json_"),
        ("dir/", "dir"),
    ],
)
def test_safe_join_examples(name: str, expected: str) -> None:
    assert safe_join(OUT, name) == OUT / expected


@pytest.mark.parametrize("name", ["", ".", "..", "/", "../..", "\x00\x01", " . ", "a/..", "...."])
def test_safe_join_rejects(name: str) -> None:
    with pytest.raises(UnsafeFileName):
        safe_join(OUT, name)


def test_safe_join_caps_length_keeping_extension() -> None:
    long = "é" * 300 + ".TIF"
    path = safe_join(OUT, long)
    assert path.suffix == ".TIF"
    assert len(path.name.encode()) <= 200
    path.name.encode().decode()  # still valid UTF-8


@given(st.text(max_size=300))
def test_safe_join_always_inside(name: str) -> None:
    try:
        path = safe_join(OUT, name)
    except UnsafeFileName:
        return
    clean = path.name
    assert path.parent == OUT
    assert clean not in ("", ".", "..")
    assert not clean.startswith(".")
    assert "/" not in clean and "\\" not in clean and "\x00" not in clean
    assert len(clean.encode()) <= 200
    assert (OUT / clean).resolve().parent == OUT.resolve()


# --- Retry-After, redaction -------------------------------------------------------------------


def test_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-3") is None
    now = 1_700_000_000.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now=now) == pytest.approx(30.0)
    assert parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now=now) == 0.0


@given(st.text(max_size=60))
def test_retry_after_never_crashes(value: str) -> None:
    result = parse_retry_after(value)
    assert result is None or result >= 0


def test_strip_query_and_redact() -> None:
    url = "https://user:pw@dds.cr.usgs.gov:8443/dl/LC08.tar?token=SECRET#frag"
    assert strip_query(url) == "https://dds.cr.usgs.gov:8443/dl/LC08.tar"
    text = f"Max retries exceeded with url: {url}\n(Caused by X)"
    out = redact_url(text, limit=ERROR_LIMIT)
    assert "SECRET" not in out and "\n" not in out
    assert "https://dds.cr.usgs.gov:8443/dl/LC08.tar?…" in out
    assert "pw" not in out
    assert len(redact_url("x" * 1000, limit=ERROR_LIMIT)) == ERROR_LIMIT == 300
    requests_style = (
        "HTTPConnectionPool(host='h', port=1): Max retries exceeded with url: /f?t=X (C)"
    )
    out = redact_url(requests_style, limit=ERROR_LIMIT)
    assert "t=X" not in out and "/f?…" in out
