"""Time text outside a filter: ``when("now - 30d")``, ``when("2024-01-31")``.

One value, read with the filter language's own rules (the parser reads it as the
right-hand side of a comparison), so the CLI's ``--since`` and the builder's
``Q.created >= when("now - 30d")`` mean exactly what ``created >= now - 30d``
means. Anything but one date, time or relative time is refused: the text never
becomes part of a filter.

>>> from qwhere import Q, when
>>> str(Q.created >= when("now - 30d"))
'created >= now - 30d'
>>> when("2024-12-01")
datetime.date(2024, 12, 1)
"""

from __future__ import annotations

from datetime import date

from .errors import ArgumentError, FilterError
from .values import RelativeTime

__all__ = ["TIME_FORMS", "when"]

#: The spellings a time takes, for messages.
TIME_FORMS = "YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z], now, today or now - 7d (units s, m, h, d, w)"


def when(text: str) -> date | RelativeTime:
    """A date, an aware or naive date and time, or a relative time, from its text.

    Raises :class:`~qwhere.errors.ArgumentError` ("expected YYYY-MM-DD, ...") for
    anything else, including text that would add conditions (``2030-01-01 or true``).
    """
    if not isinstance(text, str):
        raise ArgumentError(f"when() takes text, not {type(text).__name__}")
    from .parser import parse
    from .tree import Compare

    stripped = text.strip()
    if stripped and "\n" not in stripped:
        try:
            tree = parse(f"t == {stripped}")
        except FilterError:
            tree = None
        if (
            isinstance(tree, Compare)
            and tree.field == ("t",)
            and isinstance(tree.value, date | RelativeTime)
        ):
            return tree.value
    raise ArgumentError(f"expected {TIME_FORMS}, not {text!r}")
