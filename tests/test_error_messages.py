"""Error messages are built once: code that adds to one raises a copy, never edits the original."""

from __future__ import annotations

from m2mdl.envelope import Transient
from m2mdl.errors import ApiError, ExitCode, RateLimited


def test_with_message_copies_class_attributes_and_hint() -> None:
    original = ApiError("boom", endpoint="scene-search", code="X", status=500, hint="wait")
    copy = original.with_message("boom (again)")
    assert type(copy) is ApiError and copy is not original
    assert (copy.endpoint, copy.code, copy.status, copy.hint) == ("scene-search", "X", 500, "wait")
    assert str(copy) == copy.message == "boom (again)" and copy.args == ("boom (again)",)
    assert str(original) == original.message == "boom"
    assert copy.exit_code == ExitCode.API


def test_spent_retries_are_said_on_a_copy() -> None:
    error = RateLimited("busy", endpoint="permissions", code="RATE_LIMIT")
    final = Transient("RATE_LIMIT", error).final()
    assert str(final) == "busy (still refused after retries with backoff)"
    assert isinstance(final, RateLimited)
    assert str(error) == "busy", "the error built by the client was changed"
    assert str(Transient("RATE_LIMIT", error).final()) == str(final), "the suffix piled up"
