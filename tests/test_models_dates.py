"""Dates as a LoopBack server sends them, read by ``qwhere.models``.

LoopBack serialises a ``Date`` with ``Date.prototype.toJSON``: ISO 8601 in UTC with
milliseconds and ``Z``. Other writers behind a LoopBack app (a database column read
back as text, a proxy, hand-made fixtures) send the other ISO forms: without
milliseconds, with microseconds, with an offset, or naive, which LoopBack means as UTC.
Every form must give the same instant whatever the machine's local time zone is: the
tests below run under UTC and under Asia/Kolkata (+05:30) and America/St_Johns (-03:30)
by setting ``TZ`` in the process; .ci/run also runs this file with ``TZ=Asia/Kolkata``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from qwhere.errors import ProtocolError
from qwhere.models import Job, parse_datetime

MOMENT = datetime(2024, 3, 31, 22, 45, 10, 123000, tzinfo=UTC)

FORMS = [
    ("2024-03-31T22:45:10.123Z", MOMENT),  # Date.prototype.toJSON
    ("2024-03-31T22:45:10Z", MOMENT.replace(microsecond=0)),
    ("2024-03-31T22:45:10.123456Z", MOMENT.replace(microsecond=123456)),
    ("2024-03-31T22:45:10.123+00:00", MOMENT),
    ("2024-04-01T04:15:10.123+05:30", MOMENT),
    ("2024-03-31T19:15:10.123-03:30", MOMENT),
    ("2024-04-01T00:45:10.123+0200", MOMENT),
    # naive: UTC on LoopBack, never the reader's local time
    ("2024-03-31T22:45:10.123", MOMENT),
    ("2024-03-31T22:45:10", MOMENT.replace(microsecond=0)),
    ("2024-03-31 22:45:10.123", MOMENT),
    ("2024-03-31", datetime(2024, 3, 31, tzinfo=UTC)),
]


@pytest.fixture(params=["UTC", "Asia/Kolkata", "America/St_Johns"])
def local_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The process's local time zone, for the length of one test."""
    if not hasattr(time, "tzset"):  # pragma: no cover - Windows
        pytest.fail("time.tzset is needed to test local time zones")
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.parametrize(("text", "instant"), FORMS)
def test_every_iso_form_gives_the_same_instant(
    local_zone: str, text: str, instant: datetime
) -> None:
    parsed = parse_datetime(text, "creationDate")
    assert parsed is not None and parsed.tzinfo is not None
    assert parsed == instant
    assert parsed.utcoffset() is not None
    if not text.endswith(("Z", "+00:00")) and "+" not in text[10:] and "-" not in text[10:]:
        assert parsed.utcoffset() == timedelta(0), "a naive date is UTC"


def test_the_environment_zone_is_reported() -> None:
    """So that a CI log shows which local zone the date tests ran under."""
    offset = datetime.now().astimezone().utcoffset()
    print(f"TZ={os.environ.get('TZ')!r}, local offset {offset}")


def test_naive_is_utc_in_the_current_zone_too() -> None:
    """Without touching TZ: under .ci/run's ``TZ=Asia/Kolkata`` step this is the check."""
    parsed = parse_datetime("2024-01-01T00:00:00", "x")
    assert parsed == datetime(2024, 1, 1, tzinfo=UTC)
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


def test_an_offset_is_kept() -> None:
    parsed = parse_datetime("2024-04-01T04:15:10.123+05:30", "x")
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=5, minutes=30)
    assert parsed.astimezone(UTC) == MOMENT


@pytest.mark.parametrize(
    "value",
    [
        1711925110123,  # epoch milliseconds: not what LoopBack sends for a Date property
        1711925110.123,
        "1711925110123",
        "yesterday",
        "2024-13-01T00:00:00Z",
        "",
        True,
        ["2024-01-01"],
    ],
)
def test_anything_else_is_refused_by_name(value: object) -> None:
    with pytest.raises(ProtocolError, match="creationDate"):
        parse_datetime(value, "creationDate")


def test_null_is_none_only_where_optional() -> None:
    assert parse_datetime(None, "creationDate") is None
    with pytest.raises(ProtocolError):
        parse_datetime(None, "endDate", optional=False)


@pytest.mark.parametrize(("text", "instant"), FORMS)
def test_a_job_record_reads_every_form(local_zone: str, text: str, instant: datetime) -> None:
    job = Job.from_record({"id": "j1", "status": "COMPLETED", "creationDate": text})
    assert job.creation_date == instant


def test_sub_millisecond_order_survives() -> None:
    a = parse_datetime("2024-03-31T22:45:10.123400Z", "x")
    b = parse_datetime("2024-03-31T22:45:10.123401Z", "x")
    assert a is not None and b is not None and a < b
    assert b - a == timedelta(microseconds=1)
    assert a.astimezone(timezone(timedelta(hours=-8))) == a
