"""A listing: keyset segments (``pagination``) driven over a transport, in order.

:class:`Lister` sends what each segment asks for, yields the records strictly in
order, applies ``limit``, ``skip`` and the client-side part of a filter, and hands
large listings to the concurrent range walk (``ranges``). :class:`JobIterator` is
what ``iter_jobs`` returns: the jobs, the ``where`` clause the listing sent and
what it cost (``stats``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs

from ..models import Job
from .pagination import CountRequest, Keyset, PageRequest, Record, Request, Segment
from .ranges import Ranges
from .wire import TransportLike, get_count, get_list

__all__ = ["JobIterator", "Lister", "ListingStats"]

T = TypeVar("T")


@attrs.define
class ListingStats:
    """What one listing cost. ``requests`` counts listing requests (pages and probes)."""

    requests: int = 0
    pages: int = 0
    #: counts and far-end probes (concurrency, a skip past the dated part, ties)
    probes: int = 0
    records_received: int = 0
    records_yielded: int = 0
    segments: int = 1
    concurrent: bool = False
    #: the largest page the server returned (its page cap, when it has one)
    largest_page: int = 0

    def sequential_bound(self, cap: int | None = None) -> int:
        """⌈N / cap⌉ + 1 for the N records yielded: what a sequential walk of one part may
        spend (a listing with an undated part may spend one request more)."""
        size = cap or self.largest_page or 1
        return math.ceil(self.records_yielded / size) + 1

    def extra_requests(self, cap: int | None = None) -> int:
        """Requests spent beyond the sequential bound (concurrency's price; may be < 0)."""
        return self.requests - self.sequential_bound(cap)


class Lister(Generic[T]):
    """Walks one listing in order; see ``docs/pagination.md``."""

    def __init__(
        self,
        transport: TransportLike,
        keyset: Keyset,
        build: Callable[[Record], T],
        accept: Callable[[T], bool] | None,
        *,
        limit: int | None,
        skip: int,
        page_size: int,
        workers: int,
        undated: bool = True,
        stats: ListingStats | None = None,
    ) -> None:
        self.transport = transport
        self.keyset = keyset
        self.build = build
        self.accept = accept
        self.limit = limit
        self.page_size = page_size
        self.workers = workers
        self.undated = undated
        self.stats = stats or ListingStats()
        self.exact = accept is None
        self.server_skip = skip if self.exact else 0
        self.client_skip = 0 if self.exact else skip
        self.taken = 0
        self.segments: list[Segment] = []
        self.ranges: Ranges | None = None
        self.tried_concurrency = False

    @property
    def where(self) -> Mapping[str, Any]:
        return self.keyset.where

    # -- requests -------------------------------------------------------------------------------

    def fetch(self, request: Request) -> list[Record] | int:
        """Send one request (any thread): a page's records or a count."""
        path = self.keyset.path
        if isinstance(request, PageRequest):
            return get_list(self.transport, path, request.filter)
        return get_count(self.transport, path, request.where)

    def absorb(self, seg: Segment, request: Request, answer: list[Record] | int) -> None:
        """Give ``seg`` the answer to ``request`` (the listing's thread only)."""
        stats = self.stats
        if isinstance(request, PageRequest):
            assert isinstance(answer, list)
            stats.pages += 1
            stats.records_received += len(answer)
            seg.absorb(answer, request.ask, stats.largest_page)
            stats.largest_page = max(stats.largest_page, len(answer))
        else:
            assert isinstance(answer, int) and isinstance(request, CountRequest)
            stats.probes += 1
            seg.absorb_count(answer)

    def request(self, seg: Segment, need: int | None) -> Request:
        self.stats.requests += 1
        return seg.request(need, self.page_size, self.stats.largest_page)

    # -- the walk -------------------------------------------------------------------------------

    def need(self) -> int | None:
        """Records the walk still needs from the server (None: all of them)."""
        if self.limit is None:
            return None
        return self.limit - self.taken + self.client_skip

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

    def _first_segments(self) -> list[Segment]:
        ks = self.keyset
        dated = Segment(ks, "dated", tail=True)
        order = [dated]
        if self.undated:
            undated = Segment(ks, "undated")
            order = [dated, undated] if ks.descending else [undated, dated]
        order[0].skip = self.server_skip
        return order

    def __iter__(self) -> Iterator[T]:
        if self.limit == 0:
            return
        self.segments = self._first_segments()
        segments = self.segments
        limit = self.limit
        try:
            while segments:
                head = segments[0]
                while head.pages:
                    for record in head.pages.popleft():
                        item = self._take(record)
                        if item is not None:
                            yield item
                            if limit is not None and self.taken >= limit:
                                return
                if head.done:
                    segments.pop(0)
                    if head.carry and segments:
                        segments[0].skip = head.carry
                    continue
                if self.ranges is None and not self.tried_concurrency and self._worth(head):
                    self.tried_concurrency = True
                    self.ranges = Ranges.start(self, head)
                if self.ranges is None:
                    need = self.need() if self.exact else None
                    request = self.request(head, need)
                    self.absorb(head, request, self.fetch(request))
                else:
                    self.ranges.step()
        finally:
            if self.ranges is not None:
                self.ranges.close()
                self.ranges = None

    def _worth(self, head: Segment) -> bool:
        if (
            self.workers <= 1
            or head.phase != "dated"
            or head.cursor is None
            or not head.tail
            or head.pending is not None
        ):
            return False
        need = self.need()
        page = self.stats.largest_page or self.page_size
        if need is not None and not self.exact:
            return False  # how far `limit` reaches is unknown when the client filters too
        return need is None or need > 4 * page


class JobIterator(Iterator[Job]):
    """Jobs, lazily, in order.

    ``where`` is the condition the listing sends (every request ANDs its position to
    it); ``exact`` says whether the server applies the whole filter; ``stats`` says
    what the listing cost so far.
    """

    def __init__(self, lister: Lister[Job]) -> None:
        self.stats = lister.stats
        self.where: Mapping[str, Any] = lister.where
        self.exact = lister.exact
        self.connector = lister.keyset.ids.name
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
