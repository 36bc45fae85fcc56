"""``when()``: time text outside a filter, read by the language's rules, never spliced."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import qwhere
from qwhere import Q, RelativeTime, parse, plan, schemas, when


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2024-12-01", date(2024, 12, 1)),
        ("2024-12-01T10:00Z", datetime(2024, 12, 1, 10, tzinfo=UTC)),
        ("now - 30d", RelativeTime("now", -30 * 86400)),
        ("  NOW-2h ", RelativeTime("now", -7200)),
        ("today", RelativeTime("today")),
        ("now", RelativeTime("now")),
    ],
)
def test_when_reads_what_the_language_reads(text: str, value: object) -> None:
    assert when(text) == value
    assert (Q.created >= when(text)) == parse(f"created >= {text.strip()}")


@pytest.mark.parametrize(
    "text",
    [
        "2030-01-01 or true",
        "now - 7d) or (true",
        "2024/12/01",
        "2024-02-30",
        "",
        "yesterday",
        "5",
        "2024-12-01\nor true",
        "created > 2024-01-01",
    ],
)
def test_when_refuses_anything_but_one_time(text: str) -> None:
    with pytest.raises(qwhere.ArgumentError, match=r"^expected YYYY-MM-DD"):
        when(text)


def test_a_quoted_time_on_a_date_field_names_the_spelling_that_works() -> None:
    with pytest.raises(qwhere.FilterTypeError) as info:
        plan(Q.created >= "now - 30d", schemas.JOBS)
    message = str(info.value)
    assert "when('now - 30d') (from qwhere import when)" in message
    assert "leave it unquoted: now - 30d" in message
    assert plan(Q.created >= when("now - 30d"), schemas.JOBS, connector="memory").exact
    with pytest.raises(qwhere.FilterTypeError) as other:
        plan(Q.created >= "soon", schemas.JOBS)
    assert "when(" not in str(other.value)
