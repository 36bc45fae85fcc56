"""The service client: backends, jobs and reservations of a LoopBack job service.

>>> import qwhere
>>> from qwhere.testing import serve
>>> with serve(jobs=300, page_cap=50) as url:
...     provider = qwhere.connect(url)
...     done = provider.jobs(limit=None, status="DONE", job_tags=["bell"])
...     all(job.status is qwhere.JobStatus.DONE for job in done)
True

``connect(url, token)`` returns a :class:`Provider`. ``provider.backend`` is a
:class:`BackendService` (callable: ``provider.backends(...)`` calls it, and
``provider.backend.ibmq_lima`` is a backend). Every filtering argument of the
seed API keeps its meaning; ``where=`` adds a filter in qwhere's language, and
everything given is ANDed. Listings page by keyset on ``(creationDate, id)``
(see ``docs/pagination.md``) and fetch disjoint date ranges concurrently when a
listing is large.
"""

from __future__ import annotations

import json
import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import attrs

from .errors import (
    ArgumentError,
    BackendNotFoundError,
    JobNotFoundError,
    ProtocolError,
    QwhereError,
    UnknownFieldError,
)
from .models import Backend, Job, Reservation, parse_datetime
from .schemas import BACKENDS, JOBS
from .status import JobStatus
from .transport import Transport
from .tree import Compare, Expr, Match, Quantified, Test, check_text, conjoin
from .values import check_scalar, coerce_value, to_utc

__all__ = [
    "BackendService",
    "JobIterator",
    "ListingStats",
    "Provider",
    "connect",
]

log = logging.getLogger("qwhere.service")

Record = dict[str, Any]
T = TypeVar("T")

_CREDENTIALS = ("hub", "group", "project")
_MAX_COUNT = 2**53 - 1  # what a LoopBack (JavaScript) server reads exactly
_DATE = "creationDate"


# -- arguments ------------------------------------------------------------------------------------


def _type_error(name: str, expected: str, value: object) -> ArgumentError:
    return ArgumentError(f"{name} must be {expected}, not {value!r} ({type(value).__name__})")


def _opt_text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _type_error(name, "a string or None", value)
    if not value:
        raise ArgumentError(f"{name} must not be empty (pass None for no filter)")
    return _text_arg(name, value)


def _text_arg(name: str, value: str) -> str:
    return check_text(value, name)  # a lone surrogate cannot be sent


def _count_arg(name: str, value: object, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(name, "an int" + (" or None" if optional else ""), value)
    if value < 0:
        raise ArgumentError(f"{name} must be >= 0, not {value}")
    if value > _MAX_COUNT:
        raise ArgumentError(f"{name} must be at most {_MAX_COUNT} (2**53 - 1), not {value}")
    return value


def _bool_arg(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _type_error(name, "True or False", value)
    return value


def _moment(name: str, value: object, *, up: bool) -> datetime | None:
    """A UTC datetime rounded to the millisecond LoopBack keeps (up for a lower bound)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise _type_error(name, "a datetime (naive values are local time)", value)
    try:
        moment = to_utc(check_scalar(value))  # type: ignore[arg-type]
    except (ArgumentError, OverflowError, ValueError) as exc:
        raise ArgumentError(f"{name}: {value} is out of range ({exc})") from None
    extra = moment.microsecond % 1000
    if extra:
        moment = moment - timedelta(microseconds=extra)
        if up:
            moment += timedelta(milliseconds=1)
    return moment


def _strings(name: str, value: object, *, singular_ok: bool = False) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if singular_ok:
            return [value]
        raise _type_error(name, "a list of strings", value)
    if not isinstance(value, list | tuple | set | frozenset):
        raise _type_error(name, "a list of strings", value)
    items = list(value)
    if not items:
        raise ArgumentError(f"{name} must not be empty (pass None for no filter)")
    for item in items:
        if not isinstance(item, str):
            raise _type_error(f"every item of {name}", "a string", item)
        _text_arg(f"an item of {name}", item)
    return items


def _statuses(value: object) -> list[str] | None:
    if value is None:
        return None
    items: list[object] = (
        list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
    )
    if not items:
        raise ArgumentError("status must not be empty (pass None for any status)")
    names: list[str] = []
    for item in items:
        if isinstance(item, JobStatus):
            names.append(item.name)
        elif isinstance(item, str):
            names.append(item)
        else:
            raise _type_error("status", "a JobStatus, its name or a list of those", item)
    return names


def _filter_expr(value: object, schema_name: str) -> Expr | None:
    if value is None:
        return None
    if isinstance(value, str):
        from .parser import parse

        return parse(value, JOBS if schema_name == "jobs" else BACKENDS)
    if isinstance(value, Expr):
        return value
    raise _type_error("where", "filter text or a filter (Q...)", value)


@attrs.frozen
class _JobQuery:
    """A validated job filter: the server ``where`` and the client-side rest."""

    where: dict[str, Any]
    accept: Callable[[Any], bool] | None
    descending: bool

    @property
    def exact(self) -> bool:
        return self.accept is None


def job_filter(
    *,
    backend_name: object = None,
    status: object = None,
    job_name: object = None,
    start_datetime: object = None,
    end_datetime: object = None,
    job_tags: object = None,
    job_tags_operator: object = "OR",
    experiment_id: object = None,
    db_filter: object = None,
    where: object = None,
) -> Expr:
    """The seed's job arguments as one tree on server paths (everything ANDed).

    Raises a :class:`~qwhere.errors.QwhereError` for any bad argument.
    """
    from .where import from_where

    parts: list[Expr] = []
    name = _opt_text("backend_name", backend_name)
    if name is not None:
        parts.append(Compare(("backend",), "==", name))
    names = _statuses(status)
    if names is not None:
        parts.append(
            Compare(("status",), "==", names[0]) if len(names) == 1 else _in(("status",), names)
        )
    pattern = _opt_text("job_name", job_name) if job_name != "" else None
    if job_name == "":
        raise ArgumentError("job_name must not be empty (pass None for any name)")
    if pattern is not None:
        try:
            parts.append(Match(("name",), pattern))
        except ValueError as exc:
            raise ArgumentError(f"job_name is not a valid regular expression: {exc}") from None
    start = _moment("start_datetime", start_datetime, up=True)
    if start is not None:
        parts.append(Compare(("created",), ">=", start))
    end = _moment("end_datetime", end_datetime, up=False)
    if end is not None:
        parts.append(Compare(("created",), "<=", end))
    if not isinstance(job_tags_operator, str):
        raise _type_error("job_tags_operator", '"AND" or "OR"', job_tags_operator)
    operator = job_tags_operator.upper()
    if operator not in ("AND", "OR"):
        raise ArgumentError(f'job_tags_operator must be "AND" or "OR", not {job_tags_operator!r}')
    tags = _strings("job_tags", job_tags)
    if tags is not None:
        parts.append(Quantified(("tags",), "all" if operator == "AND" else "any", tags))
    experiment = _opt_text("experiment_id", experiment_id)
    if experiment is not None:
        parts.append(Compare(("experiment_id",), "==", experiment))
    extra = _filter_expr(where, "jobs")
    if extra is not None:
        parts.append(extra)
    server = JOBS.lower(conjoin(parts))
    if db_filter is not None:
        if not isinstance(db_filter, Mapping):
            raise _type_error("db_filter", "a LoopBack where clause (a dict)", db_filter)
        server = conjoin([server, from_where(db_filter, types=JOBS.server_types())])
    return server


def _in(path: tuple[str, ...], values: Sequence[str]) -> Expr:
    from .tree import In

    return In(path, values)


def _job_query(descending: object, now: datetime, **arguments: object) -> _JobQuery:
    from .planner import plan

    desc = _bool_arg("descending", descending)
    tree = job_filter(**arguments)
    types = JOBS.server_types()
    planned = plan(tree, connector="memory", types=types, now=now)
    accept = planned.matches if planned.residual is not None else None
    return _JobQuery(dict(planned.where), accept, desc)


# -- pagination -----------------------------------------------------------------------------------


@attrs.define
class ListingStats:
    """What one listing cost. ``requests`` counts listing requests (pages and probes)."""

    requests: int = 0
    pages: int = 0
    probes: int = 0
    records_received: int = 0
    records_yielded: int = 0
    segments: int = 1
    concurrent: bool = False
    restarts: int = 0
    #: the largest page the server returned (its page cap, when it has one)
    largest_page: int = 0

    def sequential_bound(self, cap: int | None = None) -> int:
        """⌈N / cap⌉ + 1 for the N records yielded: what a sequential walk may spend."""
        size = cap or self.largest_page or 1
        return math.ceil(self.records_yielded / size) + 1

    def extra_requests(self, cap: int | None = None) -> int:
        """Requests spent beyond the sequential bound (concurrency's price; may be < 0)."""
        return self.requests - self.sequential_bound(cap)


@attrs.frozen
class _Pos:
    """A record's place in the walk: its date (None: undated) and id."""

    when: datetime | None
    text: Any
    ident: str

    @property
    def key(self) -> bytes:
        return _id_key(self.ident)


def _id_key(ident: str) -> bytes:
    """Ids order as JavaScript orders strings (UTF-16 code units)."""
    return ident.encode("utf-16-be", "surrogatepass")


@attrs.frozen
class _Bound:
    when: datetime
    text: str

    @classmethod
    def at(cls, moment: datetime) -> _Bound:
        moment = moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)
        text = moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return cls(moment, text)


@attrs.define(eq=False)
class _Segment:
    """A slice of the walk: dates in ``[lo, hi)`` after ``cursor``.

    The ``tail`` segment is unbounded at the walk's end (and, descending, goes on
    into the undated records). ``phase`` is ``head`` (the first request ascending:
    undated records come first), ``dated`` or ``undated``.
    """

    lo: _Bound | None = None
    hi: _Bound | None = None
    cursor: _Pos | None = None
    tail: bool = False
    phase: str = "dated"
    undated_cursor: str | None = None
    server_skip: int = 0
    pages: deque[list[Record]] = attrs.field(factory=deque)
    done: bool = False
    busy: bool = False


class _Restart(Exception):
    """A server-side skip landed among undated records: redo the skip on the client."""


class _Lister(Generic[T]):
    """Walks one listing in order; see ``docs/pagination.md``."""

    def __init__(
        self,
        transport: Transport,
        path: str,
        where: Mapping[str, Any],
        build: Callable[[Record], T],
        accept: Callable[[T], bool] | None,
        *,
        descending: bool,
        limit: int | None,
        skip: int,
        page_size: int,
        workers: int,
        date_field: str = _DATE,
        stats: ListingStats | None = None,
    ) -> None:
        self.transport = transport
        self.path = path
        self.where = dict(where)
        self.build = build
        self.accept = accept
        self.descending = descending
        self.limit = limit
        self.page_size = page_size
        self.workers = workers
        self.field = date_field
        self.stats = stats or ListingStats()
        self.exact = accept is None
        self.server_skip = skip if self.exact else 0
        self.client_skip = 0 if self.exact else skip
        self.taken = 0
        self.far: _Pos | None = None
        self.segments: list[_Segment] = []
        self.pool: ThreadPoolExecutor | None = None
        self.inflight: dict[Future[list[Record]], tuple[_Segment, int]] = {}
        self.splits_left = 0
        self.density = 0.0  # expected records per second of creation dates (for splitting)
        self.tried_concurrency = False

    # -- requests -------------------------------------------------------------------------------

    def _direction(self) -> str:
        return "DESC" if self.descending else "ASC"

    def _query(self, seg: _Segment, ask: int) -> dict[str, Any]:
        f, desc, d = self.field, self.descending, self._direction()
        conditions: list[dict[str, Any]] = [self.where] if self.where else []
        if seg.phase == "undated":
            conditions.append({f: None})
            if seg.undated_cursor is not None:
                conditions.append({"id": {"lt" if desc else "gt": seg.undated_cursor}})
            order = f"id {d}"
        else:
            order = f"{f} {d}, id {d}"
            if seg.phase == "dated":
                start: dict[str, Any] | None = None
                if seg.cursor is not None:
                    op = "lt" if desc else "gt"
                    at = seg.cursor.text
                    start = {
                        "or": [{f: {op: at}}, {"and": [{f: at}, {"id": {op: seg.cursor.ident}}]}]
                    }
                elif desc and seg.hi is not None:
                    start = {f: {"lt": seg.hi.text}}
                elif not desc:
                    start = {f: {"gte": seg.lo.text}} if seg.lo is not None else {f: {"neq": None}}
                if desc and seg.tail and start is not None:
                    start = (
                        {"or": [*start["or"], {f: None}]}
                        if "or" in start
                        else {"or": [start, {f: None}]}
                    )
                if start is not None:
                    conditions.append(start)
                if desc and seg.lo is not None:
                    conditions.append({f: {"gte": seg.lo.text}})
                if not desc and seg.hi is not None:
                    conditions.append({f: {"lt": seg.hi.text}})
        query: dict[str, Any] = {"order": order, "limit": ask}
        if conditions:
            query["where"] = conditions[0] if len(conditions) == 1 else {"and": conditions}
        if seg.server_skip:
            query["skip"] = seg.server_skip
        return query

    def _fetch(self, query: Mapping[str, Any]) -> list[Record]:
        text = json.dumps(query, separators=(",", ":"), ensure_ascii=False)
        body = self.transport.get(self.path, {"filter": text})
        if not isinstance(body, list):
            raise ProtocolError(f"GET {self.path}: expected a JSON list, not {type(body).__name__}")
        for record in body:
            if not isinstance(record, dict):
                raise ProtocolError(f"GET {self.path}: expected JSON objects in the list")
        return body

    def _pos(self, record: Record) -> _Pos:
        ident = record.get("id")
        if not isinstance(ident, str):
            raise ProtocolError(f"GET {self.path}: a record has no string id: {ident!r}")
        raw = record.get(self.field)
        if raw is None:
            return _Pos(None, None, ident)
        when = parse_datetime(raw, f"{self.path} {ident}: {self.field}")
        return _Pos(when, raw, ident)

    def _follows(self, a: _Pos, b: _Pos | None) -> bool:
        if b is None:
            return True
        assert a.when is not None and b.when is not None
        if self.descending:
            return (a.when, a.key) < (b.when, b.key)
        return (a.when, a.key) > (b.when, b.key)

    def _out_of_order(self, what: str) -> ProtocolError:
        return ProtocolError(
            f"GET {self.path}: the server returned records out of order ({what}); "
            f"it must honour order={self.field} {self._direction()}, id {self._direction()}"
        )

    # -- one page -------------------------------------------------------------------------------

    def _absorb(self, seg: _Segment, records: list[Record], ask: int) -> None:
        """Take one page into ``seg``: emit what is in its range, move its cursor."""
        seg.busy = False
        stats = self.stats
        stats.pages += 1
        stats.records_received += len(records)
        n = len(records)
        final = n == 0 or n < min(ask, stats.largest_page)
        stats.largest_page = max(stats.largest_page, n)
        if seg.server_skip:
            if records and self._pos(records[0]).when is None:
                raise _Restart
            seg.server_skip = 0
        if seg.phase == "undated":
            self._absorb_undated(seg, records, final)
        elif seg.phase == "head":
            self._absorb_head(seg, records, final)
        else:
            self._absorb_dated(seg, records, final)

    def _absorb_undated(self, seg: _Segment, records: list[Record], final: bool) -> None:
        last = seg.undated_cursor
        for record in records:
            pos = self._pos(record)
            if pos.when is not None:
                raise self._out_of_order("a dated record among undated ones")
            if last is not None and not (
                pos.key < _id_key(last) if self.descending else pos.key > _id_key(last)
            ):
                raise self._out_of_order(f"id {pos.ident} after {last}")
            last = pos.ident
        if records:
            seg.pages.append(records)
            seg.undated_cursor = last
        if final:
            if self.descending:
                seg.done = True
            else:  # ascending: the dated records follow the undated ones
                seg.phase, seg.cursor = "dated", None

    def _sorted_undated(self, records: list[Record]) -> list[Record]:
        return sorted(records, key=lambda r: _id_key(r["id"]), reverse=self.descending)

    def _absorb_head(self, seg: _Segment, records: list[Record], final: bool) -> None:
        """The first ascending page: undated records first (in the server's order), then dated."""
        undated: list[Record] = []
        dated: list[tuple[Record, _Pos]] = []
        for record in records:
            pos = self._pos(record)
            if pos.when is None:
                if dated:
                    raise self._out_of_order("an undated record after dated ones")
                undated.append(record)
            else:
                dated.append((record, pos))
        if undated and not (dated or final):
            seg.phase, seg.undated_cursor = "undated", None  # more undated than one page
            return
        if undated:
            seg.pages.append(self._sorted_undated(undated))
        self._emit_dated(seg, dated)
        if final:
            seg.done = True
        else:
            seg.phase = "dated"

    def _emit_dated(self, seg: _Segment, dated: list[tuple[Record, _Pos]]) -> bool:
        """Emit dated records in ``seg``'s range; True when the range ended inside the page."""
        kept: list[Record] = []
        cut = False
        cursor = seg.cursor
        for record, pos in dated:
            assert pos.when is not None
            if not self._follows(pos, cursor):
                raise self._out_of_order(f"{pos.ident} does not follow {cursor and cursor.ident}")
            beyond = (
                seg.lo is not None and pos.when < seg.lo.when
                if self.descending
                else seg.hi is not None and pos.when >= seg.hi.when
            )
            if beyond:
                cut = True
                break
            kept.append(record)
            cursor = pos
        if kept:
            seg.pages.append(kept)
            seg.cursor = cursor
        return cut

    def _absorb_dated(self, seg: _Segment, records: list[Record], final: bool) -> None:
        dated: list[tuple[Record, _Pos]] = []
        undated: list[Record] = []
        for record in records:
            pos = self._pos(record)
            if pos.when is None:
                if not self.descending:
                    raise self._out_of_order("an undated record in an ascending dated range")
                undated.append(record)
            elif undated:
                raise self._out_of_order("a dated record after undated ones")
            else:
                dated.append((record, pos))
        if self._emit_dated(seg, dated):
            seg.done = True
            return
        if undated:
            if not seg.tail:  # split while in flight: the undated records are another's
                seg.done = True
            elif final:
                seg.pages.append(self._sorted_undated(undated))
                seg.done = True
            else:
                seg.phase, seg.undated_cursor = "undated", None
            return
        if final:
            seg.done = True

    # -- the walk -------------------------------------------------------------------------------

    def _need(self) -> int | None:
        if self.limit is None:
            return None
        return self.limit - self.taken + self.client_skip

    def _ask(self) -> int:
        need = self._need()
        if need is None or not self.exact or self.pool is not None:
            return self.page_size
        return max(1, min(self.page_size, need))

    def _take(self, record: Record) -> T | None:
        item = self.build(record)
        if self.accept is not None and not self.accept(item):
            return None
        if self.client_skip:
            self.client_skip -= 1
            return None
        self.taken += 1
        self.stats.records_yielded += 1
        return item

    def _first_segment(self) -> _Segment:
        return _Segment(
            tail=True,
            phase="dated" if self.descending else "head",
            server_skip=self.server_skip,
        )

    def __iter__(self) -> Iterator[T]:
        if self.limit == 0:
            return
        skip = self.server_skip
        try:
            yield from self._walk()
        except _Restart:
            if self.taken:  # pragma: no cover - a restart happens before anything is yielded
                raise
            self.stats.restarts += 1
            self.server_skip, self.client_skip = 0, skip
            yield from self._walk()

    def _walk(self) -> Iterator[T]:
        self.segments = [self._first_segment()]
        try:
            while self.segments:
                head = self.segments[0]
                while head.pages:
                    for record in head.pages.popleft():
                        item = self._take(record)
                        if item is not None:
                            yield item
                            if self.limit is not None and self.taken >= self.limit:
                                return
                if head.done:
                    self.segments.pop(0)
                    continue
                if (
                    self.pool is None
                    and not self.tried_concurrency
                    and self._worth_concurrency(head)
                ):
                    self._go_concurrent(head)
                if self.pool is None:
                    ask = self._ask()
                    query = self._query(head, ask)
                    self.stats.requests += 1
                    self._absorb(head, self._fetch(query), ask)
                else:
                    self._schedule()
                    self._wait()
        finally:
            self._shutdown()

    # -- concurrency ----------------------------------------------------------------------------

    def _worth_concurrency(self, head: _Segment) -> bool:
        if (
            self.tried_concurrency
            or self.workers <= 1
            or head.phase != "dated"
            or head.cursor is None
            or not head.tail
        ):
            return False
        need = self._need()
        page = self.stats.largest_page or self.page_size
        if need is not None and not self.exact:
            return False  # how far `limit` reaches is unknown when the client filters too
        return need is None or need > 4 * page

    def _probe_query(self, head: _Segment) -> tuple[dict[str, Any], dict[str, Any]]:
        """(far end, remaining count) queries for the dated records after ``head``'s cursor.

        With a ``limit`` (exact filters only), the far end is the last record the limit
        reaches (one request with a skip), so the concurrent walk fetches no more than needed.
        """
        assert head.cursor is not None
        f = self.field
        op = "lt" if self.descending else "gt"
        at = head.cursor.text
        after = {"or": [{f: {op: at}}, {"and": [{f: at}, {"id": {op: head.cursor.ident}}]}]}
        where = {"and": [self.where, after]} if self.where else after
        need = self._need()
        fields = {f: True, "id": True}
        if need is not None:
            d = self._direction()
            last = {"where": where, "order": f"{f} {d}, id {d}", "skip": need - 1, "limit": 1}
            return {**last, "fields": fields}, where
        back = "ASC" if self.descending else "DESC"
        far = {"where": where, "order": f"{f} {back}, id {back}", "limit": 1, "fields": fields}
        return far, where

    def _go_concurrent(self, head: _Segment) -> None:
        self.tried_concurrency = True
        far_query, remaining_where = self._probe_query(head)
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="qwhere-list")
        far_future = pool.submit(self._fetch, far_query)
        count_future = pool.submit(
            self.transport.get,
            self.path + "/count",
            {"where": json.dumps(remaining_where, separators=(",", ":"), ensure_ascii=False)},
        )
        self.stats.requests += 2
        self.stats.probes += 2
        try:
            far_records = far_future.result()
            counted = count_future.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        remaining = counted.get("count") if isinstance(counted, dict) else None
        if not isinstance(remaining, int) or isinstance(remaining, bool):
            pool.shutdown(wait=False)
            raise ProtocolError(f'GET {self.path}/count: expected {{"count": n}}, not {counted!r}')
        page = self.stats.largest_page or self.page_size
        need = self._need()
        if need is not None:
            remaining = min(remaining, need)
        if not far_records or remaining <= 4 * page:
            pool.shutdown(wait=False)
            return
        far = self._pos(far_records[0])
        assert head.cursor is not None and head.cursor.when is not None
        if far.when is None or not self._follows(far, head.cursor):
            pool.shutdown(wait=False)
            raise self._out_of_order("the far end of the listing is not after its start")
        self.far = far
        self.pool = pool
        self.stats.concurrent = True
        pages = math.ceil(remaining / page)
        slices = max(1, min(self.workers, pages // 2))
        self.splits_left = 2 * self.workers
        seconds = abs((head.cursor.when - far.when).total_seconds())
        self.density = remaining / seconds if seconds > 0 else 0.0
        start, end = head.cursor.when, far.when
        current = head
        for index in range(1, slices):
            moment = start + (end - start) * index / slices
            made = self._split(current, _Bound.at(moment))
            if made is not None:
                current = made

    def _span(self, seg: _Segment) -> tuple[datetime, datetime] | None:
        """The dates still ahead of ``seg``, as (low, high), or None if it cannot be split."""
        if seg.done or seg.phase != "dated" or self.far is None or self.far.when is None:
            return None
        low: datetime | None
        high: datetime | None
        if self.descending:
            high = seg.cursor.when if seg.cursor is not None else seg.hi.when if seg.hi else None
            low = seg.lo.when if seg.lo is not None else self.far.when
        else:
            low = seg.cursor.when if seg.cursor is not None else seg.lo.when if seg.lo else None
            high = seg.hi.when if seg.hi is not None else self.far.when
        if low is None or high is None or high - low < timedelta(milliseconds=2):
            return None
        return low, high

    def _split(self, seg: _Segment, at: _Bound) -> _Segment | None:
        """Cut ``seg`` at ``at``: it keeps the part before ``at`` in walk order."""
        span = self._span(seg)
        if span is None or not span[0] < at.when < span[1]:
            return None
        if self.descending:
            made = _Segment(lo=seg.lo, hi=at, tail=seg.tail)
            seg.lo = at
        else:
            made = _Segment(lo=at, hi=seg.hi, tail=seg.tail)
            seg.hi = at
        seg.tail = False
        self.segments.insert(self.segments.index(seg) + 1, made)
        self.stats.segments += 1
        return made

    def _split_one(self) -> bool:
        """Split the segment with the most work expected ahead, if that is worth a request."""
        if self.splits_left <= 0:
            return False
        page = self.stats.largest_page or self.page_size
        best: tuple[float, _Segment, datetime, datetime] | None = None
        for seg in self.segments:
            span = self._span(seg)
            if span is None:
                continue
            expected = (span[1] - span[0]).total_seconds() * self.density
            if expected >= 2 * page and (best is None or expected > best[0]):
                best = (expected, seg, span[0], span[1])
        if best is None:
            return False
        _, seg, low, high = best
        self.splits_left -= 1
        return self._split(seg, _Bound.at(low + (high - low) / 2)) is not None

    def _buffered(self) -> int:
        return sum(len(p) for seg in self.segments for p in seg.pages)

    def _full(self) -> bool:
        """Buffered and in-flight records reach the memory bound (2 pages per worker)."""
        room = self.workers * self.page_size * 2
        return self._buffered() + len(self.inflight) * self.page_size >= room

    def _next_fetchable(self) -> _Segment | None:
        """The first segment that may be fetched now: the head always, others while
        there is room in the buffer."""
        full = self._full()
        for index, seg in enumerate(self.segments):
            if seg.done or seg.busy:
                continue
            if index > 0 and full:
                return None
            return seg
        return None

    def _schedule(self) -> None:
        assert self.pool is not None
        while len(self.inflight) < self.workers:
            seg = self._next_fetchable()
            if seg is None:
                if self._full() or not self._split_one():
                    break
                continue
            ask = self.page_size
            query = self._query(seg, ask)
            seg.busy = True
            self.stats.requests += 1
            self.inflight[self.pool.submit(self._fetch, query)] = (seg, ask)

    def _wait(self) -> None:
        finished, _ = wait(list(self.inflight), return_when=FIRST_COMPLETED)
        for future in finished:
            seg, ask = self.inflight.pop(future)
            self._absorb(seg, future.result(), ask)

    def _shutdown(self) -> None:
        if self.pool is not None:
            for future in self.inflight:
                future.cancel()
            self.inflight.clear()
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None


class JobIterator(Iterator[Job]):
    """Jobs, lazily, in order; ``stats`` says what the listing cost so far."""

    def __init__(self, lister: _Lister[Job]) -> None:
        self.stats = lister.stats
        self._items = iter(lister)

    def __iter__(self) -> JobIterator:
        return self

    def __next__(self) -> Job:
        return next(self._items)

    def close(self) -> None:
        """Stop the listing (in-flight requests finish in the background)."""
        close = getattr(self._items, "close", None)
        if close is not None:
            close()


# -- the service ----------------------------------------------------------------------------------


class _Core:
    """What a provider and its backend service share: transport, account, options, cache."""

    def __init__(
        self,
        transport: Transport,
        credentials: Mapping[str, str | None],
        *,
        page_size: int,
        workers: int,
    ) -> None:
        self.transport = transport
        self.credentials = dict(credentials)
        self.page_size = page_size
        self.workers = workers
        self.backend_cache: dict[str, Backend] | None = None

    def fetch_backends(self, service: BackendService, timeout: float | None) -> list[Backend]:
        body = self.transport.get("/Backends", timeout=timeout)
        if not isinstance(body, list):
            raise ProtocolError(f"GET /Backends: expected a JSON list, not {type(body).__name__}")
        backends = [Backend.from_record(record, service) for record in body]
        self.backend_cache = {b.name: b for b in backends}
        return backends

    def backend_named(self, service: BackendService, name: str) -> Backend | None:
        if self.backend_cache is None or name not in self.backend_cache:
            self.fetch_backends(service, None)
        assert self.backend_cache is not None
        return self.backend_cache.get(name)


class _JobMethods:
    """The job methods of a provider and of its backend service (the seed has both)."""

    _core: _Core

    def jobs(
        self,
        limit: int | None = 10,
        skip: int = 0,
        backend_name: str | None = None,
        status: JobStatus | str | Sequence[JobStatus | str] | None = None,
        job_name: str | None = None,
        start_datetime: datetime | None = None,
        end_datetime: datetime | None = None,
        job_tags: Sequence[str] | None = None,
        job_tags_operator: str = "OR",
        experiment_id: str | None = None,
        descending: bool = True,
        db_filter: Mapping[str, Any] | None = None,
        where: str | Expr | None = None,
    ) -> list[Job]:
        """Jobs matching every argument given, newest first (``descending``).

        ``limit=None`` returns every match; ``skip`` skips that many matches.
        ``status`` is a :class:`JobStatus`, its name, or a list of those;
        ``job_name`` a regular expression searched in the name; the dates are
        inclusive (naive values are local time); ``job_tags`` must all be present
        with ``job_tags_operator="AND"``, any of them with ``"OR"``;
        ``db_filter`` is a LoopBack where clause; ``where`` is qwhere filter
        text or a ``Q`` expression. All of them are ANDed.
        """
        return list(
            self.iter_jobs(
                limit=limit,
                skip=skip,
                backend_name=backend_name,
                status=status,
                job_name=job_name,
                start_datetime=start_datetime,
                end_datetime=end_datetime,
                job_tags=job_tags,
                job_tags_operator=job_tags_operator,
                experiment_id=experiment_id,
                descending=descending,
                db_filter=db_filter,
                where=where,
            )
        )

    def iter_jobs(
        self,
        limit: int | None = None,
        skip: int = 0,
        backend_name: str | None = None,
        status: JobStatus | str | Sequence[JobStatus | str] | None = None,
        job_name: str | None = None,
        start_datetime: datetime | None = None,
        end_datetime: datetime | None = None,
        job_tags: Sequence[str] | None = None,
        job_tags_operator: str = "OR",
        experiment_id: str | None = None,
        descending: bool = True,
        db_filter: Mapping[str, Any] | None = None,
        where: str | Expr | None = None,
    ) -> JobIterator:
        """Like :meth:`jobs`, lazily (every match by default), in bounded memory.

        Arguments are checked now; the first request is sent on the first ``next()``.
        """
        count = _count_arg("limit", limit, optional=True)
        offset = _count_arg("skip", skip)
        assert offset is not None
        query = _job_query(
            descending,
            datetime.now(UTC),
            backend_name=backend_name,
            status=status,
            job_name=job_name,
            start_datetime=start_datetime,
            end_datetime=end_datetime,
            job_tags=job_tags,
            job_tags_operator=job_tags_operator,
            experiment_id=experiment_id,
            db_filter=db_filter,
            where=where,
        )
        core = self._core
        lister: _Lister[Job] = _Lister(
            core.transport,
            "/Jobs",
            query.where,
            Job.from_record,
            query.accept,
            descending=query.descending,
            limit=count,
            skip=offset,
            page_size=core.page_size,
            workers=core.workers,
        )
        return JobIterator(lister)

    def count_jobs(
        self,
        backend_name: str | None = None,
        status: JobStatus | str | Sequence[JobStatus | str] | None = None,
        job_name: str | None = None,
        start_datetime: datetime | None = None,
        end_datetime: datetime | None = None,
        job_tags: Sequence[str] | None = None,
        job_tags_operator: str = "OR",
        experiment_id: str | None = None,
        db_filter: Mapping[str, Any] | None = None,
        where: str | Expr | None = None,
    ) -> int:
        """How many jobs match (one ``/Jobs/count`` request when the server can say)."""
        arguments: dict[str, Any] = {
            "backend_name": backend_name,
            "status": status,
            "job_name": job_name,
            "start_datetime": start_datetime,
            "end_datetime": end_datetime,
            "job_tags": job_tags,
            "job_tags_operator": job_tags_operator,
            "experiment_id": experiment_id,
            "db_filter": db_filter,
            "where": where,
        }
        query = _job_query(True, datetime.now(UTC), **arguments)
        if not query.exact:
            return sum(1 for _ in self.iter_jobs(limit=None, **arguments))
        params = {}
        if query.where:
            params["where"] = json.dumps(query.where, separators=(",", ":"), ensure_ascii=False)
        body = self._core.transport.get("/Jobs/count", params)
        count = body.get("count") if isinstance(body, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ProtocolError(f'GET /Jobs/count: expected {{"count": n}}, not {body!r}')
        return count

    def retrieve_job(self, job_id: str) -> Job:
        """The job with id ``job_id`` (``JobNotFoundError`` when there is none)."""
        if not isinstance(job_id, str):
            raise _type_error("job_id", "a string", job_id)
        if not job_id or job_id in (".", ".."):
            raise ArgumentError(f"{job_id!r} is not a job id")
        _text_arg("job_id", job_id)
        body = self._core.transport.get(
            "/Jobs/" + quote(job_id, safe=""), not_found=JobNotFoundError
        )
        job = Job.from_record(body)
        if job.id != job_id:
            raise ProtocolError(f"GET /Jobs/{job_id}: the server answered with job {job.id}")
        return job

    def my_reservations(self) -> list[Reservation]:
        """Your reservations that have not ended yet, soonest first."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lister: _Lister[Reservation] = _Lister(
            self._core.transport,
            "/Reservations",
            {"endDate": {"gte": now}},
            Reservation.from_record,
            None,
            descending=False,
            limit=None,
            skip=0,
            page_size=self._core.page_size,
            workers=1,
            date_field="initialDate",
        )
        return list(lister)


class _NoSuchBackend(BackendNotFoundError, AttributeError):
    """``provider.backend.<name>`` for a name no backend has."""


class BackendService(_JobMethods):
    """The backends namespace of a provider (``provider.backend``), callable as ``backends``.

    ``service.<name>`` is the backend of that name (``dir()`` lists them); names
    never shadow the methods: ``service.get_backend(name)`` reaches any backend.
    """

    def __init__(self, core: _Core) -> None:
        object.__setattr__(self, "_core", core)

    def __repr__(self) -> str:
        return f"<BackendService of {self._core.transport.url}>"

    def __call__(
        self,
        name: str | None = None,
        filters: Callable[[Backend], object] | None = None,
        timeout: float | None = None,
        min_num_qubits: int | None = None,
        input_allowed: str | Sequence[str] | None = None,
        where: str | Expr | None = None,
        **kwargs: Any,
    ) -> list[Backend]:
        return self.backends(name, filters, timeout, min_num_qubits, input_allowed, where, **kwargs)

    def backends(
        self,
        name: str | None = None,
        filters: Callable[[Backend], object] | None = None,
        timeout: float | None = None,
        min_num_qubits: int | None = None,
        input_allowed: str | Sequence[str] | None = None,
        where: str | Expr | None = None,
        **kwargs: Any,
    ) -> list[Backend]:
        """The backends matching every argument, statuses included, in one request.

        ``kwargs`` are matched against configuration fields (``n_qubits=5``), then
        status fields (``operational=True``), then the account (``hub="ibm-q"``);
        an unknown name is an error. ``filters`` is a callable given each backend;
        ``timeout`` bounds the request (seconds).
        """
        from .evaluator import predicate

        parts: list[Expr] = []
        backend = _opt_text("name", name)
        if backend is not None:
            parts.append(Compare(("name",), "==", backend))
        if filters is not None:
            if not callable(filters):
                raise _type_error("filters", "a callable", filters)
            parts.append(Test(filters))
        seconds: float | None = None
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
                raise _type_error("timeout", "a positive number of seconds", timeout)
            seconds = float(timeout)
        qubits = _count_arg("min_num_qubits", min_num_qubits, optional=True)
        if qubits is not None:
            parts.append(Compare(("n_qubits",), ">=", qubits))
        inputs = _strings("input_allowed", input_allowed, singular_ok=True)
        if inputs is not None:
            parts.append(Quantified(("input_allowed",), "all", inputs))
        extra = _filter_expr(where, "backends")
        if extra is not None:
            parts.append(extra)
        account_ok = True
        for key, value in kwargs.items():
            if key in _CREDENTIALS:
                if not isinstance(value, str):
                    raise _type_error(key, "a string", value)
                account_ok = account_ok and self._core.credentials.get(key) == value
            elif BACKENDS.get((key,)) is not None:
                try:
                    parts.append(Compare((key,), "==", coerce_value(value)))
                except (TypeError, ValueError) as exc:
                    raise ArgumentError(f"{key}: {exc}") from None
            else:
                raise UnknownFieldError(key, [*BACKENDS.names, *_CREDENTIALS])
        accept = predicate(conjoin(parts), BACKENDS)
        if not account_ok:
            return []
        backends = self._core.fetch_backends(self, seconds)
        return [b for b in backends if accept(b)]

    def get_backend(self, name: str) -> Backend:
        """The backend called ``name`` (``BackendNotFoundError`` when there is none)."""
        found = self.backends(name=name)
        if not found:
            raise BackendNotFoundError(f"no backend named {name!r}")
        return found[0]

    def __getattr__(self, name: str) -> Backend:
        if name.startswith("_"):
            raise AttributeError(name)
        backend = self._core.backend_named(self, name)
        if backend is None:
            names = sorted(self._core.backend_cache or ())
            raise _NoSuchBackend(f"no backend named {name!r}; backends: {', '.join(names)}")
        return backend

    def __dir__(self) -> list[str]:
        names: Iterable[str] = ()
        try:
            if self._core.backend_cache is None:
                self._core.fetch_backends(self, None)
            names = (self._core.backend_cache or {}).keys()
        except QwhereError as exc:
            log.warning("could not list the backends: %s", exc)
        return sorted(set(super().__dir__()) | {n for n in names if n.isidentifier()})


class Provider(_JobMethods):
    """An account on a job service: ``backend``/``backends`` and the job methods."""

    def __init__(self, core: _Core) -> None:
        self._core = core
        #: the backend namespace: ``provider.backend.ibmq_lima``, ``provider.backend.jobs()``
        self.backend = BackendService(core)

    @property
    def backends(self) -> BackendService:
        """Call it: ``provider.backends(n_qubits=5, operational=True)``."""
        return self.backend

    def get_backend(self, name: str) -> Backend:
        """The backend called ``name`` (``BackendNotFoundError`` when there is none)."""
        return self.backend.get_backend(name)

    @property
    def credentials(self) -> Mapping[str, str | None]:
        return dict(self._core.credentials)

    def close(self) -> None:
        self._core.transport.close()

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        account = ", ".join(f"{k}={v!r}" for k, v in self._core.credentials.items() if v)
        return f"<Provider {self._core.transport.url}{' ' + account if account else ''}>"


def connect(
    url: str,
    token: str | None = None,
    *,
    hub: str | None = None,
    group: str | None = None,
    project: str | None = None,
    timeout: float | tuple[float, float] = (5.0, 30.0),
    retries: int = 5,
    backoff: float = 0.25,
    backoff_max: float = 10.0,
    max_retry_after: float = 60.0,
    page_size: int = 200,
    workers: int = 8,
    verify: bool | str = True,
    deadline: float = 120.0,
    max_response_bytes: int = 32 * 1024 * 1024,
    max_redirects: int = 5,
) -> Provider:
    """A :class:`Provider` for the LoopBack REST API at ``url`` (e.g. ``http://host/api``).

    ``token`` is sent as ``X-Access-Token``. ``timeout`` is ``(connect, read)``
    seconds (or one number for both); ``retries`` bounds the retries of a request
    (429/5xx/dropped connections/cut bodies, with exponential ``backoff`` and
    ``Retry-After`` honoured up to ``max_retry_after`` seconds). ``page_size`` is
    how many records a listing asks for per request (a server may cap it lower);
    ``workers`` bounds the concurrent requests of a large listing (1: sequential).
    ``hub``/``group``/``project`` name the account, for ``backends(hub=...)``.
    ``deadline`` bounds one request in all (attempts, redirects and pauses: seconds),
    ``max_response_bytes`` the size of an answer, ``max_redirects`` the redirects a request
    follows (only within the service's origin: the token is never sent elsewhere).
    Every bad argument is an :class:`~qwhere.errors.ArgumentError`, raised before any request.
    """
    for key, value in (("hub", hub), ("group", group), ("project", project)):
        _opt_text(key, value)
    size = _count_arg("page_size", page_size)
    if not size:
        raise ArgumentError("page_size must be >= 1")
    threads = _count_arg("workers", workers)
    if not threads:
        raise ArgumentError("workers must be >= 1")
    transport = Transport(
        url,
        token,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        backoff_max=backoff_max,
        max_retry_after=max_retry_after,
        pool_size=max(threads, 2) + 2,
        verify=verify,
        deadline=deadline,
        max_response_bytes=max_response_bytes,
        max_redirects=max_redirects,
    )
    core = _Core(
        transport,
        {"hub": hub, "group": group, "project": project},
        page_size=size,
        workers=threads,
    )
    return Provider(core)
