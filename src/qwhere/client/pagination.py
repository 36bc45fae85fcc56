"""Keyset pagination without I/O: what to ask for next, and what a page means.

A listing is walked in *segments*, each a keyset walk of its own:

* the **dated** part: ``where ∧ creationDate ≠ null`` ordered by
  ``creationDate DIR, id DIR``; after the first page, the position is
  ``creationDate < d or (creationDate == d and id < i)`` (``>`` ascending), which no
  undated record satisfies on any connector. Concurrent listings cut it into date
  ranges (``creationDate >= lo`` and ``< hi``), one segment each;
* the **undated** part: ``where ∧ creationDate == null`` ordered by ``id DIR``, after
  the first page ``id < i``.

Undated records are selected by their own condition, never found by their place in
an order, so where a server puts null dates (PostgreSQL: first when descending) does
not matter. The listing's order is the documented one: undated records last when
descending, first when ascending.

The server's own comparison decides the tie-break: the client sends the condition
and takes the records in the order the server returns them, checking that order
with the connector profile's :meth:`~qwhere.loopback.Profile.id_key` only when the
profile knows it. Where the server's order may hold two distinct ids equal (MySQL's
case-insensitive collation; or a connector the client was not told), ``id < i``
could skip the records equal to the last one received, so the tie-break is
inclusive instead (``id <= i``): the records equal to the cursor come back at the
head of the next page and are dropped by id. A page cap of 1 leaves no room for
that: each boundary is then checked with a count of the records equal to the
cursor. Either way, ids equal under the server's collation that a page cannot hold
together raise :class:`~qwhere.errors.ListingOrderError`, never a short listing.

Nothing here sends a request: :meth:`Segment.request` says what to ask
(:class:`PageRequest` or :class:`CountRequest`) and ``absorb``/``absorb_count``
take the answer. ``qwhere.client.listing`` drives segments over a transport.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import attrs

from ..errors import ListingOrderError, ProtocolError
from ..loopback.profiles import Profile
from ..models import parse_datetime

__all__ = [
    "Bound",
    "CountRequest",
    "IdOrder",
    "Keyset",
    "PageRequest",
    "Position",
    "Record",
    "Request",
    "Segment",
]

Record = dict[str, Any]
Phase = Literal["dated", "undated"]
_fromisoformat = datetime.fromisoformat


class Position:
    """A record's place in the walk: its date (None: undated), as parsed and as sent, and id.

    (A plain slotted class: one is made for every record received.)
    """

    __slots__ = ("ident", "text", "when")

    def __init__(self, when: datetime | None, text: Any, ident: str) -> None:
        self.when = when
        self.text = text
        self.ident = ident

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Position):
            return NotImplemented
        return (self.when, self.text, self.ident) == (other.when, other.text, other.ident)

    def __hash__(self) -> int:
        return hash((self.when, self.ident))

    def __repr__(self) -> str:
        return f"Position({self.when!r}, {self.text!r}, {self.ident!r})"


@attrs.frozen
class Bound:
    """A date that cuts the dated part into ranges (to the millisecond LoopBack keeps)."""

    when: datetime
    text: str

    @classmethod
    def at(cls, moment: datetime) -> Bound:
        moment = moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)
        text = moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return cls(moment, text)


# -- what the client knows of the server's id order -----------------------------------------------

#: String orders (``Profile.string_order``) under which two distinct ids never compare
#: equal, so ``id < i`` skips nothing. Kept here until ``Profile`` says it itself.
_INJECTIVE_ORDERS = frozenset({"utf16", "codepoint"})


def _coarsest(text: str) -> str:
    # Two ids equal under any known connector's collation are equal here: MySQL's
    # utf8mb4_general_ci (case-insensitive, PAD SPACE) is the coarsest of them.
    return text.rstrip(" ").upper()


@attrs.frozen
class IdOrder:
    """How the server orders ids, as far as its connector profile says."""

    #: the profile's name, for messages
    name: str
    #: sort key that orders ids as the server does; None: unknown (the order is not checked)
    key: Callable[[str], Any] | None
    #: distinct ids never compare equal: the strict tie-break ``id < i`` is exact
    injective: bool
    #: may the server hold these two ids equal? (exact when the key is known, else cautious)
    may_equal: Callable[[str, str], bool]
    #: ids whose order ``key`` gives exactly (the others are not checked)
    exact_for: Callable[[str], bool] = lambda ident: True

    @property
    def known(self) -> bool:
        return self.key is not None

    @classmethod
    def of(cls, profile: Profile) -> IdOrder:
        key = profile.id_key()
        if profile.string_order in _INJECTIVE_ORDERS:
            return cls(profile.name, key, True, lambda a, b: a == b)
        if key is not None:
            known = key
            # the case-insensitive key is utf8mb4_general_ci on ASCII only (there "e" and
            # "é" are equal, and so are all emoji): other ids are not checked against it
            ascii_only = str.isascii if profile.string_order == "case_insensitive" else None
            return cls(
                profile.name,
                key,
                False,
                lambda a, b: known(a) == known(b),
                ascii_only or (lambda ident: True),
            )
        return cls(profile.name, None, False, lambda a, b: _coarsest(a) == _coarsest(b))


# -- requests -------------------------------------------------------------------------------------


@attrs.frozen
class PageRequest:
    """``GET {path}?filter=...``: the next page of a segment."""

    filter: dict[str, Any]
    ask: int


@attrs.frozen
class CountRequest:
    """``GET {path}/count?where=...``: how many records a condition selects.

    ``why`` is ``"skip"`` (how many records a server-side skip passed over),
    ``"ties"`` (how many records the server holds equal to the cursor) or
    ``"remaining"`` (what is left of a listing, before it goes concurrent).
    """

    where: dict[str, Any]
    why: Literal["skip", "ties", "remaining"]


Request = PageRequest | CountRequest


def conjoin(conditions: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"and": conditions}


# -- the listing-wide facts -----------------------------------------------------------------------


@attrs.frozen
class Keyset:
    """The facts every segment of one listing shares: its condition, field, direction, ids."""

    where: Mapping[str, Any]
    descending: bool
    ids: IdOrder
    field: str = "creationDate"
    path: str = "/Jobs"

    @property
    def direction(self) -> str:
        return "DESC" if self.descending else "ASC"

    def order(self, phase: Phase) -> str:
        d = self.direction
        return f"id {d}" if phase == "undated" else f"{self.field} {d}, id {d}"

    def after(self, inclusive: bool = False) -> str:
        """The operator for "after the cursor" in walk order."""
        if self.descending:
            return "lte" if inclusive else "lt"
        return "gte" if inclusive else "gt"

    def position(self, record: Record) -> Position:
        ident = record.get("id")
        if not isinstance(ident, str):
            raise ProtocolError(f"GET {self.path}: a record has no string id: {ident!r}")
        raw = record.get(self.field)
        if raw is None:
            return Position(None, None, ident)
        try:
            when = _fromisoformat(raw)  # LoopBack's own form: 2024-05-01T12:00:00.000Z
        except (TypeError, ValueError):
            when = None
        if when is None or when.tzinfo is None:
            when = parse_datetime(raw, f"{self.path} {ident}: {self.field}")
        return Position(when, raw, ident)

    def follows(self, a: Position, b: Position) -> bool:
        """Whether ``a`` may come after ``b`` in this walk, as far as the client can tell."""
        if a.ident == b.ident:
            return False
        if a.when != b.when:
            assert a.when is not None and b.when is not None
            return a.when < b.when if self.descending else a.when > b.when
        key = self.ids.key
        if key is None or not (self.ids.exact_for(a.ident) and self.ids.exact_for(b.ident)):
            return True  # the server's id order is unknown here: not checked
        ka, kb = key(a.ident), key(b.ident)
        if self.ids.injective:
            return bool(ka < kb) if self.descending else bool(ka > kb)
        return bool(ka <= kb) if self.descending else bool(ka >= kb)

    def out_of_order(self, what: str) -> ListingOrderError:
        how = (
            f"as connector {self.ids.name!r} orders ids"
            if self.ids.known
            else "(the id order is not checked: the connector is unknown)"
        )
        return ListingOrderError(
            f"GET {self.path}: the server returned records out of order ({what}); it must "
            f"honour order={self.field} {self.direction}, id {self.direction} {how}. "
            f"Is connector={self.ids.name!r} the server's connector?"
        )

    def ties_error(self, cursor: Position, detail: str) -> ListingOrderError:
        at = f"{self.field} {cursor.text}" if cursor.when is not None else f"no {self.field}"
        return ListingOrderError(
            f"GET {self.path}: cannot list exactly: the server holds id {cursor.ident!r} equal "
            f"to other ids ({at}) under its collation ({self.ids.name}), and {detail}; no "
            f"condition on id can tell them apart, so a walk would skip or repeat some of them"
        )

    def dated(self) -> dict[str, Any]:
        return {self.field: {"neq": None}}

    def with_where(self, *conditions: dict[str, Any]) -> dict[str, Any] | None:
        """The listing's condition ANDed with ``conditions`` (one flat ``and``)."""
        where = self.where
        if len(where) == 1 and isinstance(where.get("and"), list):
            own: list[dict[str, Any]] = list(where["and"])
        else:
            own = [dict(where)] if where else []
        return conjoin(own + list(conditions))

    def cursor_conditions(
        self, phase: Phase, cursor: Position, inclusive: bool
    ) -> list[dict[str, Any]]:
        """After ``cursor``: ``d < c or (d == c and id < i)`` (``>`` ascending), with the
        redundant ``d <= c`` beside it that lets an index on ``(d, id)`` start its scan
        at the cursor (PostgreSQL and MariaDB cannot start one from the ``or``)."""
        tie = {"id": {self.after(inclusive): cursor.ident}}
        if phase == "undated":
            return [tie]
        f, op, at = self.field, self.after(), cursor.text
        bound = {f: {self.after(True): at}}
        return [bound, {"or": [{f: {op: at}}, {"and": [{f: at}, tie]}]}]

    def ties_where(self, phase: Phase, cursor: Position) -> dict[str, Any]:
        """The records the server holds equal to ``cursor``: same date, id equal to it."""
        date = {self.field: None} if phase == "undated" else {self.field: cursor.text}
        found = self.with_where(date, {"id": cursor.ident})
        assert found is not None
        return found

    def remaining_where(self, cursor: Position) -> dict[str, Any]:
        """The dated records after ``cursor`` (for the concurrent walk's probes)."""
        found = self.with_where(*self.cursor_conditions("dated", cursor, False))
        assert found is not None
        return found

    def far_query(self, cursor: Position, need: int | None) -> dict[str, Any]:
        """One record: the last the walk reaches (``need`` records on), or the far end."""
        fields = {self.field: True, "id": True}
        where = self.remaining_where(cursor)
        if need is not None:
            order = self.order("dated")
            return {"where": where, "order": order, "skip": need - 1, "limit": 1, "fields": fields}
        back = "ASC" if self.descending else "DESC"
        order = f"{self.field} {back}, id {back}"
        return {"where": where, "order": order, "limit": 1, "fields": fields}


# -- one segment ----------------------------------------------------------------------------------


@attrs.define(eq=False)
class Segment:
    """One keyset walk: the undated records, or the dated ones in ``[lo, hi)``.

    The ``tail`` segment is unbounded at the walk's far end. ``skip`` is sent with the
    first request (a server-side skip); ``carry`` is what is left of it for the next
    segment. ``pages`` holds records ready to be yielded, in order.
    """

    keyset: Keyset
    phase: Phase
    lo: Bound | None = None
    hi: Bound | None = None
    tail: bool = False
    skip: int = 0
    carry: int = 0
    cursor: Position | None = None
    pages: deque[list[Record]] = attrs.field(factory=deque)
    done: bool = False
    busy: bool = False
    #: ids of the last page: what an inclusive tie-break may send again
    resent: frozenset[str] = frozenset()
    #: the tie-break of the request in flight was inclusive
    inclusive: bool = False
    #: a count to ask before the walk goes on, and what waits for it
    pending: CountRequest | None = None
    held: tuple[list[Record], Position | None, bool, frozenset[str], int] | None = None
    #: every record equal to the cursor has been seen: the next tie-break is strict
    strict_next: bool = False
    #: the cursor whose ties were counted (a page of one)
    probed: Position | None = None

    # -- requests -------------------------------------------------------------------------------

    def request(self, need: int | None, page_size: int, largest: int) -> Request:
        """What to ask next. ``need``: records still wanted (None: all); ``largest``: the
        largest page the server has returned so far (0: none yet)."""
        if self.pending is not None:
            return self.pending
        ks = self.keyset
        capacity = min(page_size, largest) if largest else page_size
        self.inclusive = (
            self.cursor is not None
            and not ks.ids.injective
            and capacity >= 2
            and not self.strict_next
        )
        self.strict_next = False
        if (
            self.cursor is not None
            and not ks.ids.injective
            and not self.inclusive
            and self.probed is not self.cursor
        ):
            # no room for an inclusive tie-break (a page of one): is the cursor alone?
            self.probed = self.cursor
            self.pending = CountRequest(ks.ties_where(self.phase, self.cursor), "ties")
            return self.pending
        ask = page_size if need is None else max(1, min(page_size, need))
        if self.inclusive:
            ask = min(page_size, ask + 1)  # the cursor itself comes back
        conditions: list[dict[str, Any]] = []
        f = ks.field
        if self.phase == "undated":
            conditions.append({f: None})
            if self.cursor is not None:
                conditions += ks.cursor_conditions("undated", self.cursor, self.inclusive)
        else:
            if self.cursor is not None:
                conditions += ks.cursor_conditions("dated", self.cursor, self.inclusive)
            elif ks.descending and self.hi is not None:
                conditions.append({f: {"lt": self.hi.text}})
            elif not ks.descending and self.lo is not None:
                conditions.append({f: {"gte": self.lo.text}})
            else:
                conditions.append(ks.dated())
            if ks.descending and self.lo is not None:
                conditions.append({f: {"gte": self.lo.text}})
            if not ks.descending and self.hi is not None:
                conditions.append({f: {"lt": self.hi.text}})
        query: dict[str, Any] = {"order": ks.order(self.phase), "limit": ask}
        where = ks.with_where(*conditions)
        if where is not None:
            query["where"] = where
        if self.skip:
            query["skip"] = self.skip
        return PageRequest(query, ask)

    def phase_where(self) -> dict[str, Any]:
        """The whole segment's condition, without a position (a skip counts within it)."""
        found = self.keyset.with_where(
            {self.keyset.field: None} if self.phase == "undated" else self.keyset.dated()
        )
        assert found is not None
        return found

    # -- answers --------------------------------------------------------------------------------

    def absorb(self, records: list[Record], ask: int, largest: int) -> None:
        """Take one page (``largest``: the largest page the server returned before it)."""
        self.busy = False
        n = len(records)
        final = n == 0 or n < min(ask, largest)
        if self.skip:
            skip, self.skip = self.skip, 0
            if n == 0:
                # the skip went past this segment: how far is asked, the rest carries on
                self.pending = CountRequest(self.phase_where(), "skip")
                self.carry = skip
                return
        ks = self.keyset
        previous = self.cursor
        kept: list[Record] = []
        cursor = previous
        last: Position | None = None
        cut = False
        resent = self.resent if self.inclusive else frozenset()
        equal: set[str] = set()  # ids in the page that may equal the cursor
        for record in records:
            pos = ks.position(record)
            last = pos
            if (
                previous is not None
                and pos.when == previous.when
                and ks.ids.may_equal(pos.ident, previous.ident)
            ):
                equal.add(pos.ident)
            if self.phase == "undated":
                if pos.when is not None:
                    raise ks.out_of_order(f"dated record {pos.ident} among the undated ones")
            elif pos.when is None:
                raise ks.out_of_order(f"undated record {pos.ident} among the dated ones")
            if pos.ident in resent:
                # sent again by the inclusive tie-break: it must be equal to the cursor
                assert previous is not None
                if pos.when != previous.when or not ks.ids.may_equal(pos.ident, previous.ident):
                    raise ks.out_of_order(f"{pos.ident} came back after {previous.ident}")
                continue
            if cursor is not None and not ks.follows(pos, cursor):
                raise ks.out_of_order(f"{pos.ident} does not follow {cursor.ident}")
            if self.phase == "dated" and self._beyond(pos):
                cut = True
                break
            kept.append(record)
            cursor = pos
        if not ks.ids.injective:
            self.resent = frozenset(str(r.get("id")) for r in records)
        done = final or cut
        if not done and self.inclusive and previous is not None and last is not None:
            ends_equal = last.when == previous.when and ks.ids.may_equal(last.ident, previous.ident)
            if ends_equal or not kept:
                # A full page that ends with a record equal to the cursor, or that holds only
                # records sent again, may hold nothing but records equal to it: count them.
                # All of them seen: the next request may pass them (strict); more: an error.
                self.pending = CountRequest(ks.ties_where(self.phase, previous), "ties")
                self.held = (kept, cursor, done, frozenset(equal), n)
                return
        self._commit(kept, cursor, done)

    def absorb_count(self, count: int) -> None:
        """Take the answer to :attr:`pending`."""
        self.busy = False
        asked, self.pending = self.pending, None
        assert asked is not None
        if asked.why == "skip":
            self.carry = max(0, self.carry - count)
            self.done = True
            return
        ks = self.keyset
        cursor = self.cursor
        assert cursor is not None
        if self.held is None:  # a page of one: is the cursor alone?
            if count > 1:
                raise ks.ties_error(cursor, "a page of one cannot hold two of them")
            return
        kept, last, done, equal, n = self.held
        self.held = None
        # with an unknown collation that may be exact, only the cursor equals itself
        exact = not ks.ids.known and count <= 1
        seen = (1 if cursor.ident in equal else 0) if exact else len(equal)
        if count > seen:
            raise ks.ties_error(cursor, f"a page of {n} cannot hold all {count} of them")
        self._commit(kept, last, done)
        # every record equal to the old cursor has been seen: the next request passes them
        self.strict_next = True
        self.probed = self.cursor

    def _commit(self, kept: list[Record], cursor: Position | None, done: bool) -> None:
        if kept:
            self.pages.append(kept)
        self.cursor = cursor
        if done:
            self.done = True

    def _beyond(self, pos: Position) -> bool:
        assert pos.when is not None
        if self.keyset.descending:
            return self.lo is not None and pos.when < self.lo.when
        return self.hi is not None and pos.when >= self.hi.when

    # -- ranges ---------------------------------------------------------------------------------

    def span(self, far: Position | None) -> tuple[datetime, datetime] | None:
        """The dates still ahead of this segment, as (low, high); None if it cannot be split."""
        if self.done or self.phase != "dated" or far is None or far.when is None:
            return None
        low: datetime | None
        high: datetime | None
        cursor = self.cursor.when if self.cursor is not None else None
        if self.keyset.descending:
            high = cursor if cursor is not None else self.hi.when if self.hi else None
            low = self.lo.when if self.lo is not None else far.when
        else:
            low = cursor if cursor is not None else self.lo.when if self.lo else None
            high = self.hi.when if self.hi is not None else far.when
        if low is None or high is None or high - low < timedelta(milliseconds=2):
            return None
        return low, high

    def split(self, at: Bound, far: Position | None) -> Segment | None:
        """Cut at ``at``: this segment keeps the part before it in walk order, and the
        part after is returned (None when ``at`` is not strictly inside what is left)."""
        span = self.span(far)
        if span is None or self.pending is not None or not span[0] < at.when < span[1]:
            return None
        if self.keyset.descending:
            made = Segment(self.keyset, "dated", lo=self.lo, hi=at, tail=self.tail)
            self.lo = at
        else:
            made = Segment(self.keyset, "dated", lo=at, hi=self.hi, tail=self.tail)
            self.hi = at
        self.tail = False
        return made
