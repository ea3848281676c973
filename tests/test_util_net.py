"""m2mdl.util.net: the one copy of URL redaction, Retry-After parsing and jittered backoff."""

from __future__ import annotations

import email.utils

import pytest

from m2mdl.util.net import backoff_delay, one_line, parse_retry_after, redact_url, strip_query


def test_strip_query_drops_query_fragment_and_user_info() -> None:
    url = "https://user:pw@dds.cr.usgs.gov:8443/dl/LC08.tar?token=SECRET#frag"
    assert strip_query(url) == "https://dds.cr.usgs.gov:8443/dl/LC08.tar"
    assert strip_query("http://[::1]:9/x?y=1") == "http://[::1]:9/x"
    assert strip_query("https://h/p") == "https://h/p"
    # a malformed port cannot make a message fail: the query is still cut
    assert strip_query("https://h:notaport/p?sig=S") == "https://h:notaport/p"


def test_redact_url_hides_user_info_queries_and_signature_values() -> None:
    text = "GET https://u:pw@h.example/dl/f.tar?requestSignature=SIG&x=1 failed"
    out = redact_url(text)
    assert out == "GET https://h.example/dl/f.tar?… failed"
    requests_style = (
        "HTTPConnectionPool(host='h', port=1): Max retries exceeded with url: /f?t=X (C)"
    )
    assert "t=X" not in redact_url(requests_style) and "/f?…" in redact_url(requests_style)
    # outside a URL, a signature-like parameter keeps its name and loses its value
    assert redact_url("body: token=abc&apiKey=k signature=s") == (
        "body: token=***&apiKey=*** signature=***"
    )
    assert redact_url("nothing secret here") == "nothing secret here"


def test_redact_url_for_a_report_keeps_query_names() -> None:
    text = "https://u:pw@h.example/f.tar?requestSignature=SIG&id=7"
    assert redact_url(text, keep_query=True) == "https://h.example/f.tar?requestSignature=***&id=7"


def test_redact_url_with_a_limit_is_one_short_line() -> None:
    out = redact_url("line one\nhttps://h/x?sig=S\n" + "y" * 500, limit=40)
    assert "\n" not in out and "sig=S" not in out and len(out) == 40 and out.endswith("…")
    assert one_line("a\n  b\tc", 10) == "a b c"


def test_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 120 ") == 120.0
    now = 1_700_000_000.0
    later = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(30.0)
    earlier = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0
    for bad in (None, "", "-1", "soon", "1.5", "Mon, 30 Nov 2026 06:00:00"):
        assert parse_retry_after(bad) is None


def test_backoff_is_jittered_bounded_and_respects_retry_after() -> None:
    assert backoff_delay(1, base=1.0, cap=30.0, rng=lambda: 1.0) == 1.0
    assert backoff_delay(4, base=1.0, cap=30.0, rng=lambda: 1.0) == 8.0
    assert backoff_delay(100, base=1.0, cap=30.0, rng=lambda: 1.0) == 30.0
    assert backoff_delay(3, base=1.0, cap=30.0, rng=lambda: 0.0) == 0.0
    # a floor: never less than it, never more than the cap
    assert backoff_delay(1, base=0.25, cap=3.0, floor=0.25, rng=lambda: 0.0) == 0.25
    assert backoff_delay(9, base=0.25, cap=3.0, floor=0.25, rng=lambda: 1.0) == 3.0
    # Retry-After wins, capped by its own cap or else by cap
    assert backoff_delay(1, base=1.0, cap=30.0, retry_after=100.0) == 30.0
    assert backoff_delay(1, base=1.0, cap=30.0, retry_after=100.0, retry_after_cap=300.0) == 100.0
    assert backoff_delay(1, base=1.0, cap=30.0, retry_after=5.0) == 5.0
