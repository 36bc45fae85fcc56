"""The values a filter can hold, and the rules that keep them honest.

A value in the tree is one of ``str``, ``int``, ``float``, ``bool``, ``None``,
``datetime.date``, ``datetime.datetime`` (naive = local time) or a
:class:`RelativeTime` (``now - 7d``, ``today``), which stays relative in the tree
and is resolved only when a plan or a predicate is built.

Equality in the tree compares types too (:func:`value_key`): in Python
``1 == 1.0 == True``, but ``x == 1`` and ``x == true`` are different filters.
"""

from __future__ import annotations

import enum
import math
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TypeAlias

import attrs

from .errors import ArgumentError, clip

__all__ = [
    "UNIT_SECONDS",
    "RelativeTime",
    "Scalar",
    "check_scalar",
    "coerce_value",
    "local_timezone",
    "resolve",
    "to_utc",
    "value_key",
]

#: How far ``now``/``today`` may be moved (about 273 years): the result stays a date.
MAX_OFFSET_DAYS = 100_000
UNIT_SECONDS: dict[str, int] = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_RENDER_UNITS = ("d", "h", "m", "s")  # weeks parse, but `now - 14d` reads better than `- 2w`


@attrs.frozen
class RelativeTime:
    """``now`` or ``today`` shifted by a whole number of seconds.

    ``today`` names a calendar day (local midnight, with the day-interval meaning
    of a date value), so it only moves in whole days; ``now`` is an instant.
    """

    anchor: str = attrs.field()
    seconds: int = 0

    def __attrs_post_init__(self) -> None:
        if self.anchor not in ("now", "today"):
            raise ArgumentError(f"a relative time is anchored at now or today, not {self.anchor!r}")
        if type(self.seconds) is not int:
            raise ArgumentError("RelativeTime.seconds must be an int")
        if abs(self.seconds) > MAX_OFFSET_DAYS * UNIT_SECONDS["d"]:
            raise ArgumentError(
                f"a relative time moves at most {MAX_OFFSET_DAYS} days from {self.anchor}"
            )
        if self.anchor == "today" and self.seconds % UNIT_SECONDS["d"]:
            raise ArgumentError("'today' moves in whole days or weeks (d, w), not hours")

    @classmethod
    def of(cls, anchor: str, amount: int, unit: str) -> RelativeTime:
        return cls(anchor, amount * UNIT_SECONDS[unit])

    def offset_text(self) -> tuple[str, int, str] | None:
        """(sign, amount, unit) with the largest unit that divides the offset, or None."""
        if not self.seconds:
            return None
        size = abs(self.seconds)
        for unit in _RENDER_UNITS:
            span = UNIT_SECONDS[unit]
            if size % span == 0:
                return ("-" if self.seconds < 0 else "+", size // span, unit)
        raise AssertionError("unreachable: 's' divides everything")  # pragma: no cover

    def __str__(self) -> str:
        parts = self.offset_text()
        return self.anchor if parts is None else f"{self.anchor} {parts[0]} {parts[1]}{parts[2]}"


Scalar: TypeAlias = str | int | float | bool | date | datetime | RelativeTime | None


def value_key(value: object) -> object:
    """An equality/hash key that tells ``1``, ``1.0`` and ``True`` apart.

    Aware datetimes also keep their offset, so a tree remembers how it was written.
    """
    if isinstance(value, tuple):
        return tuple(value_key(v) for v in value)
    if isinstance(value, datetime):
        return (datetime, value.replace(tzinfo=None), value.utcoffset())
    return (type(value), value)


#: The dates a filter may hold: a day's end and any time zone's offset stay representable.
FIRST_DAY, LAST_DAY = date(1, 1, 2), date(9999, 12, 30)
#: Integers beyond this are beyond every JavaScript (double) number.
_LARGEST_INT = 2**1024
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_scalar(value: object) -> Scalar:
    """Accept a value already in tree form; reject what cannot be one."""
    if value is None or isinstance(value, bool | RelativeTime):
        return value
    if isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            raise ArgumentError(f"{clip(repr(value))} holds a lone surrogate, which is not text")
        return value
    if isinstance(value, int):
        if not -_LARGEST_INT < value < _LARGEST_INT:
            raise ArgumentError("an integer beyond ±2**1024 is beyond every JavaScript number")
        return value
    if isinstance(value, date):
        day = value.date() if isinstance(value, datetime) else value
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ArgumentError(
                f"{value.isoformat()} is out of range: dates run from {FIRST_DAY} to {LAST_DAY}"
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ArgumentError(f"a filter value must be a finite number, not {value!r}")
        return value
    raise ArgumentError(
        f"a filter value must be a str, number, bool, None or date, not {clip(repr(value))}"
    )


def coerce_value(value: object) -> Scalar:
    """Turn a Python value a user wrote into a tree value.

    Enum members: members of ``str``/``int`` enums (``StrEnum``, ``IntEnum``) stand
    for their value; members of plain enums stand for their *name*, so
    ``JobStatus.ERROR`` means ``"ERROR"`` whatever its description says.
    """
    if isinstance(value, enum.Enum):
        if isinstance(value, str | int):
            return check_scalar(value.value)
        return value.name
    return check_scalar(value)


def local_timezone() -> tzinfo:
    """The machine's local time zone (as the seed's ``start_datetime``)."""
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None
    return tz


def to_utc(moment: datetime) -> datetime:
    """An aware UTC datetime: naive values are local time, aware values are *converted*."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.astimezone()  # interprets a naive value as local time
    return moment.astimezone(UTC)


def day_start(day: date) -> datetime:
    """Local midnight starting ``day``, as an aware UTC datetime."""
    return to_utc(datetime.combine(day, time()))


def resolve(value: Scalar, now: datetime | None = None) -> Scalar:
    """Resolve a relative time against ``now`` (default: the clock); others pass through."""
    if not isinstance(value, RelativeTime):
        return value
    current = to_utc(now) if now is not None else datetime.now(UTC)
    current = current.replace(microsecond=current.microsecond // 1000 * 1000)  # JavaScript: ms
    if value.anchor == "now":
        return current + timedelta(seconds=value.seconds)
    today = current.astimezone(local_timezone()).date()
    return today + timedelta(seconds=value.seconds)
