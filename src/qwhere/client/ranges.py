"""Concurrent listings: the dated part cut into date ranges, fetched by a thread pool.

When a listing still needs more than four pages, :meth:`Ranges.start`:

1. sends two probes at once: the far end of the listing (one record, two fields)
   and the count of what is left; with at most four pages left it stays sequential;
2. cuts the remaining dates into up to ``workers`` ranges of equal length, each a
   keyset segment of its own bounded by dates (``creationDate >= lo`` and ``< hi``),
   so no two ranges can return the same record;
3. fetches with at most ``workers`` requests in flight, the earliest unfinished
   segment first, buffering at most two pages per worker beyond it;
4. when a worker would be idle, splits the segment with the most work expected
   ahead at the middle of its remaining dates.

Segments absorb their pages on the listing's thread only; the pool only sends.
"""

from __future__ import annotations

import math
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .pagination import Bound, CountRequest, PageRequest, Position, Record, Request, Segment

if TYPE_CHECKING:
    from .listing import Lister

__all__ = ["Ranges"]


class Ranges:
    """The concurrent part of one listing (see the module's docstring)."""

    def __init__(self, lister: Lister[Any], pool: ThreadPoolExecutor, far: Position) -> None:
        self.lister = lister
        self.pool = pool
        self.far = far
        self.inflight: dict[Future[list[Record] | int], tuple[Segment, Request]] = {}
        self.splits_left = 2 * lister.workers
        self.density = 0.0  # expected records per second of creation dates

    @classmethod
    def start(cls, lister: Lister[Any], head: Segment) -> Ranges | None:
        """Probe what is left after ``head``'s cursor; a concurrent walk if it is worth it."""
        ks = lister.keyset
        cursor = head.cursor
        assert cursor is not None and cursor.when is not None
        need = lister.need()
        pool = ThreadPoolExecutor(max_workers=lister.workers, thread_name_prefix="qwhere-list")
        far_future = pool.submit(lister.fetch, PageRequest(ks.far_query(cursor, need), 1))
        count_future = pool.submit(
            lister.fetch, CountRequest(ks.remaining_where(cursor), "remaining")
        )
        lister.stats.requests += 2
        lister.stats.probes += 2
        try:
            far_records = far_future.result()
            remaining = count_future.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        assert isinstance(far_records, list) and isinstance(remaining, int)
        page = lister.stats.largest_page or lister.page_size
        if need is not None:
            remaining = min(remaining, need)
        if not far_records or remaining <= 4 * page:
            pool.shutdown(wait=False)
            return None
        far = ks.position(far_records[0])
        behind = far.when is not None and (
            far.when > cursor.when if ks.descending else far.when < cursor.when
        )
        if far.when is None or behind:
            pool.shutdown(wait=False)
            raise ks.out_of_order("the far end of the listing is not after its start")
        ranges = cls(lister, pool, far)
        lister.stats.concurrent = True
        seconds = abs((cursor.when - far.when).total_seconds())
        ranges.density = remaining / seconds if seconds > 0 else 0.0
        slices = max(1, min(lister.workers, math.ceil(remaining / page) // 2))
        start, end = cursor.when, far.when
        current = head
        for index in range(1, slices):
            made = ranges._split(current, Bound.at(start + (end - start) * index / slices))
            if made is not None:
                current = made
        return ranges

    # -- splitting ------------------------------------------------------------------------------

    def _split(self, seg: Segment, at: Bound) -> Segment | None:
        made = seg.split(at, self.far)
        if made is not None:
            segments = self.lister.segments
            segments.insert(segments.index(seg) + 1, made)
            self.lister.stats.segments += 1
        return made

    def _split_one(self) -> bool:
        """Split the segment with the most work expected ahead, if that is worth a request."""
        if self.splits_left <= 0:
            return False
        page = self.lister.stats.largest_page or self.lister.page_size
        best: tuple[float, Segment, datetime, datetime] | None = None
        for seg in self.lister.segments:
            span = seg.span(self.far)
            if span is None or seg.pending is not None:
                continue
            expected = (span[1] - span[0]).total_seconds() * self.density
            if expected >= 2 * page and (best is None or expected > best[0]):
                best = (expected, seg, span[0], span[1])
        if best is None:
            return False
        _, seg, low, high = best
        self.splits_left -= 1
        return self._split(seg, Bound.at(low + (high - low) / 2)) is not None

    # -- fetching -------------------------------------------------------------------------------

    def _buffered(self) -> int:
        return sum(len(p) for seg in self.lister.segments for p in seg.pages)

    def _full(self) -> bool:
        """Buffered and in-flight records reach the memory bound (2 pages per worker)."""
        lister = self.lister
        room = lister.workers * lister.page_size * 2
        return self._buffered() + len(self.inflight) * lister.page_size >= room

    def _next_fetchable(self) -> Segment | None:
        """The first segment that may be fetched now: the head always, others while there
        is room in the buffer."""
        full = self._full()
        for index, seg in enumerate(self.lister.segments):
            if seg.done or seg.busy:
                continue
            if index > 0 and full:
                return None
            return seg
        return None

    def step(self) -> None:
        """Fill the pool, then absorb what comes back first."""
        lister = self.lister
        while len(self.inflight) < lister.workers:
            seg = self._next_fetchable()
            if seg is None:
                if self._full() or not self._split_one():
                    break
                continue
            request = lister.request(seg, None)
            seg.busy = True
            self.inflight[self.pool.submit(lister.fetch, request)] = (seg, request)
        finished, _ = wait(list(self.inflight), return_when=FIRST_COMPLETED)
        for future in finished:
            seg, request = self.inflight.pop(future)
            lister.absorb(seg, request, future.result())

    def close(self) -> None:
        for future in self.inflight:
            future.cancel()
        self.inflight.clear()
        self.pool.shutdown(wait=False, cancel_futures=True)
