"""Keyset pagination: no duplicate, no miss, the right order, a bounded number of requests.

Caps 1, 7 and 50 with limits 0..3x the cap; equal timestamps; undated jobs (null and
missing ``creationDate``) in both directions; server-side skip landing among undated
jobs; jobs inserted during a walk; concurrent listings and what they cost.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qwhere
from qwhere import Q
from qwhere.testing import ServiceURL, serve

from .conftest import Record, by_status, created, expected_ids, js_key, tags_any

FILTERS: dict[str, tuple[dict[str, Any], Callable[[Record], bool], bool]] = {
    # name: (arguments, hand-written meaning, exact on the server)
    "everything": ({}, lambda r: True, True),
    "done or error": ({"status": ["DONE", "ERROR"]}, by_status("DONE", "ERROR"), True),
    "rare status": ({"status": "QUEUED"}, by_status("QUEUED"), True),
    "tags": ({"job_tags": ["bell", "vqe"]}, tags_any("bell", "vqe"), True),
    "residual": (
        {"where": Q.test(lambda job: job.raw["shots"] != 4000)},
        lambda r: r["shots"] != 4000,
        False,
    ),
}

_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def dated() -> Iterator[ServiceURL]:
    """500 jobs, all dated (the request bound is exact there); tests set ``page_cap``."""
    with serve(jobs=500, seed=3) as url:
        yield url


def _bound(n: int, cap: int) -> int:
    return math.ceil(n / cap) + 1


def _full_bound(dated: int, undated: int, cap: int) -> int:
    """A listing that reaches its end: each part (dated, undated) ends with a short page."""
    return math.ceil(dated / cap) + math.ceil(undated / cap) + 2


@pytest.mark.parametrize("cap", [1, 7, 50])
def test_sequential_limits_zero_to_three_caps(dated: ServiceURL, cap: int) -> None:
    """Every limit 0..3*cap: exactly the expected jobs, in at most ceil(N/cap)+1 requests."""
    service = dated.service
    records = service.snapshot()
    provider = qwhere.connect(dated, connector="memory", workers=1)
    service.page_cap = cap
    try:
        for descending in (True, False):
            for limit in range(3 * cap + 1):
                service.reset_log()
                got = [j.id for j in provider.jobs(limit=limit, descending=descending)]
                want = expected_ids(records, lambda r: True, descending=descending, limit=limit)
                assert got == want, (cap, limit, descending)
                assert service.request_count() <= _bound(len(got), cap), (cap, limit)
                if limit == 0:
                    assert service.request_count() == 0
    finally:
        service.page_cap = None


@pytest.mark.parametrize("cap", [7, 50])
@pytest.mark.parametrize("name", ["everything", "done or error", "rare status", "tags"])
def test_sequential_full_listing_request_bound(dated: ServiceURL, cap: int, name: str) -> None:
    service = dated.service
    records = service.snapshot()
    arguments, accept, _ = FILTERS[name]
    provider = qwhere.connect(dated, connector="memory", workers=1)
    service.page_cap = cap
    try:
        service.reset_log()
        listing = provider.iter_jobs(**arguments)
        got = [j.id for j in listing]
        assert got == expected_ids(records, accept)
        assert service.request_count() == listing.stats.requests
        assert listing.stats.requests <= _full_bound(len(got), 0, cap)
        assert not listing.stats.concurrent
    finally:
        service.page_cap = None


@_SETTINGS
@given(
    cap=st.sampled_from([1, 7, 50]),
    fraction=st.floats(0, 3),
    skip=st.integers(0, 12),
    descending=st.booleans(),
    name=st.sampled_from(sorted(FILTERS)),
)
def test_pagination_algebra(
    capped: ServiceURL, cap: int, fraction: float, skip: int, descending: bool, name: str
) -> None:
    """With undated jobs present too: the listing is the filter's matches, sliced, in order."""
    limit = int(fraction * cap)
    service = capped.service
    records = service.snapshot()
    by_id = {r["id"]: r for r in records}
    arguments, accept, exact = FILTERS[name]
    provider = qwhere.connect(capped, connector="memory", workers=1)
    service.page_cap = cap
    try:
        service.reset_log()
        listing = provider.iter_jobs(limit=limit, skip=skip, descending=descending, **arguments)
        got = [j.id for j in listing]
        want = expected_ids(records, accept, descending=descending, limit=limit, skip=skip)
        assert got == want
        if exact and limit:
            undated = sum(1 for i in got if created(by_id[i]) is None)
            # each part reached costs a short page at most; a skip past the first part a count
            bound = _full_bound(len(got) - undated, undated, cap) + (1 if skip else 0)
            assert service.request_count() <= bound
    finally:
        service.page_cap = 7


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("cap", [1, 7, 50])
def test_undated_jobs_are_listed_once_by_id(capped: ServiceURL, cap: int, descending: bool) -> None:
    service = capped.service
    records = service.snapshot()
    provider = qwhere.connect(capped, connector="memory", workers=1)
    service.page_cap = cap
    try:
        got = [j.id for j in provider.iter_jobs(descending=descending)]
    finally:
        service.page_cap = 7
    assert got == expected_ids(records, lambda r: True, descending=descending)
    undated = [j for j in got if created(next(r for r in records if r["id"] == j)) is None]
    assert len(undated) == 12
    assert undated == sorted(undated, key=js_key, reverse=descending)


@pytest.mark.parametrize("skip", [3, 12, 14])
def test_server_skip_within_or_past_the_undated_part(capped: ServiceURL, skip: int) -> None:
    """Ascending, the 12 undated jobs come first: a skip past them is counted, then the
    rest of it is sent with the dated part's first request."""
    records = capped.service.snapshot()
    provider = qwhere.connect(capped, connector="memory", workers=1)
    listing = provider.iter_jobs(limit=5, skip=skip, descending=False)
    got = [j.id for j in listing]
    assert got == expected_ids(records, lambda r: True, descending=False, limit=5, skip=skip)
    assert listing.stats.probes == (1 if skip >= 12 else 0)


def test_equal_timestamps_across_pages() -> None:
    with serve(jobs=20) as url:
        service = url.service
        stamp = service.jobs.records[0]["creationDate"]
        for n in range(40):
            record = dict(service.jobs.records[n % 20])
            record["id"] = f"tie{(n * 7919) % 97:05d}"
            record["creationDate"] = stamp
            service.jobs.add(record)
        records = service.snapshot()
        for cap in (1, 3, 7):
            service.page_cap = cap
            for descending in (True, False):
                got = [
                    j.id
                    for j in qwhere.connect(url, connector="memory", workers=1).iter_jobs(
                        descending=descending
                    )
                ]
                assert got == expected_ids(records, lambda r: True, descending=descending)
                assert len(set(got)) == len(got) == 60


@pytest.mark.parametrize("workers", [1, 4])
def test_inserts_during_a_walk(workers: int) -> None:
    """New jobs arrive after every page: no duplicate, no pre-existing match missed, in order."""
    with serve(jobs=300, page_cap=7, inserts=2, seed=5) as url:
        before = url.service.snapshot()
        provider = qwhere.connect(url, connector="memory", workers=workers)
        listing = provider.iter_jobs(status=["DONE", "ERROR", "RUNNING"])
        got = [j.id for j in listing]
        after = {r["id"]: r for r in url.service.snapshot()}
        assert len(after) > len(before) + 40
    assert len(got) == len(set(got)), "duplicates"
    accept = by_status("DONE", "ERROR", "RUNNING")
    missed = [r["id"] for r in before if accept(r) and r["id"] not in set(got)]
    assert missed == []
    assert all(accept(after[i]) for i in got)
    positions = [(created(after[i]), js_key(i)) for i in got]
    assert positions == sorted(positions, reverse=True)  # newest first, ids breaking ties
    inserted = [i for i in got if i not in {r["id"] for r in before}]
    assert inserted, "some inserted jobs ahead of the cursor are listed too"
    assert listing.stats.concurrent == (workers > 1)


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("descending", [True, False])
def test_deletes_and_inserts_during_a_walk(workers: int, descending: bool) -> None:
    """Jobs vanish and appear after every page: every survivor is listed once, in order."""
    with serve(jobs=300, undated=6, page_cap=7, inserts=1, deletes=2, seed=8) as url:
        before = {r["id"] for r in url.service.snapshot()}
        got = [
            j.id
            for j in qwhere.connect(url, connector="memory", workers=workers).iter_jobs(
                descending=descending
            )
        ]
        after = {r["id"]: r for r in url.service.snapshot()}
    survivors = before & set(after)
    assert len(survivors) < len(before) - 50, "jobs were deleted during the walk"
    assert len(got) == len(set(got))
    assert survivors <= set(got)
    listed = [after[i] for i in got if i in after]
    assert [r["id"] for r in listed] == [
        i
        for i in expected_ids(list(after.values()), lambda r: True, descending=descending)
        if i in {r["id"] for r in listed}
    ]


@pytest.mark.parametrize("cap", [7, 50])
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("name", ["everything", "done or error", "residual"])
def test_concurrent_listing(
    capped: ServiceURL, cap: int, descending: bool, name: str, record_property: Any
) -> None:
    """Large listings fetch date ranges concurrently: same result, and the extra cost is told."""
    service = capped.service
    records = service.snapshot()
    arguments, accept, exact = FILTERS[name]
    provider = qwhere.connect(capped, connector="memory", workers=4)
    service.page_cap = cap
    try:
        service.reset_log()
        listing = provider.iter_jobs(descending=descending, **arguments)
        got = [j.id for j in listing]
    finally:
        service.page_cap = 7
    assert got == expected_ids(records, accept, descending=descending)
    stats = listing.stats
    assert stats.requests == service.request_count()
    record_property("extra_requests", stats.extra_requests(cap))
    if cap == 7:
        assert stats.concurrent and stats.segments > 1 and stats.probes == 2
    if exact:
        # the price of concurrency: two probes, one short page per range, a few cut pages
        assert stats.extra_requests(cap) <= 2 + 3 * stats.segments
        assert stats.records_yielded == len(got)


def test_concurrent_listing_really_overlaps_requests() -> None:
    """Structural, not timed (timings belong in benchmarks/bench_service.py)."""
    with serve(jobs=600, page_cap=20, latency=0.01) as url:
        results = {}
        peaks = {}
        for workers in (1, 6):
            url.service.peak_in_flight = 0
            provider = qwhere.connect(url, connector="memory", workers=workers)
            results[workers] = [j.id for j in provider.iter_jobs()]
            peaks[workers] = url.service.peak_in_flight
    assert results[1] == results[6]
    assert peaks[1] == 1
    assert peaks[6] >= 4, peaks


def test_small_listings_stay_sequential(dated: ServiceURL) -> None:
    dated.service.page_cap = 50
    try:
        listing = qwhere.connect(dated, connector="memory", workers=8).iter_jobs(limit=120)
        assert len(list(listing)) == 120
        assert not listing.stats.concurrent and listing.stats.requests == 3
    finally:
        dated.service.page_cap = None


def test_abandoned_concurrent_listing_stops(capped: ServiceURL) -> None:
    service = capped.service
    service.page_cap = 7
    baseline = threading.active_count()
    listing = qwhere.connect(capped, connector="memory", workers=4).iter_jobs()
    first = [next(listing) for _ in range(60)]
    assert listing.stats.concurrent
    listing.close()
    sent = service.request_count()
    time.sleep(0.3)
    assert service.request_count() - sent <= 4  # only what was in flight
    deadline = time.monotonic() + 5
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= baseline
    assert len(set(j.id for j in first)) == 60


def test_lazy_iterator_sends_nothing_until_next(capped: ServiceURL) -> None:
    service = capped.service
    service.reset_log()
    listing = qwhere.connect(capped, connector="memory").iter_jobs(status="DONE")
    assert service.request_count() == 0
    next(listing)
    assert service.request_count() == 1


def test_order_violations_are_protocol_errors(capped: ServiceURL) -> None:
    """A server that ignores ``order`` is caught, not trusted into skipping records."""
    service = capped.service
    original = service.jobs.ordered

    def unordered(order: object) -> Any:
        return original("name")

    service.jobs.ordered = unordered  # type: ignore[method-assign]
    try:
        with pytest.raises(qwhere.ProtocolError, match="out of order"):
            qwhere.connect(capped, connector="memory", workers=1).jobs(limit=None)
    finally:
        service.jobs.ordered = original  # type: ignore[method-assign]


def test_datetime_fixture_sanity(demo_records: list[dict[str, Any]]) -> None:
    stamps = [created(r) for r in demo_records]
    assert all(isinstance(s, datetime) for s in stamps)
    assert len(set(stamps)) < len(stamps), "the demo data has equal timestamps"


@pytest.mark.parametrize("limit", [60, 100, 250])
def test_concurrent_listing_with_a_limit_fetches_little_more_than_it_needs(limit: int) -> None:
    with serve(jobs=300, page_cap=7) as url:
        listing = qwhere.connect(url, connector="memory").iter_jobs(limit=limit)
        concurrent = [job.id for job in listing]
        sequential = [
            job.id
            for job in qwhere.connect(url, connector="memory", workers=1).iter_jobs(limit=limit)
        ]
    assert concurrent == sequential and len(concurrent) == limit
    stats = listing.stats
    # at most one extra page per worker beyond what the limit needs
    assert stats.records_received <= limit + 8 * 7
    assert stats.requests <= math.ceil(limit / 7) + 8 + stats.probes
