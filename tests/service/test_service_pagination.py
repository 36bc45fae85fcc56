"""Keyset pagination: no duplicate, no miss, the right order, a bounded number of requests.

On every site - qwhere's demo service, and a real LoopBack 3 app on memory, PostgreSQL
and MariaDB, each through ``connect(url, connector=...)`` behind a proxy that counts
the requests - and checked against a sorted truth computed here from the loaded
records (``oracle.py``; MariaDB orders ids case-insensitively, PostgreSQL by code point):
caps 1, 7 and 50 with limits 0..3x the cap; equal timestamps; ids differing only in
case; undated jobs (null and missing ``creationDate``) in both directions; a
server-side skip past the first part; jobs inserted and deleted during a walk;
concurrent listings and what they cost.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qwhere
from qwhere import Q
from qwhere.testing import serve

from .oracle import Record, by_status, created, tags_any
from .sites import SITES, Site, demo_jobs, iso
from .sites import settings as configured

FILTERS: dict[str, tuple[dict[str, Any], Callable[[Record], bool]]] = {
    # name: (arguments, hand-written meaning)
    "everything": ({}, lambda r: True),
    "done or error": ({"status": ["DONE", "ERROR"]}, by_status("DONE", "ERROR")),
    "rare status": ({"status": "QUEUED"}, by_status("QUEUED")),
    "tags": ({"job_tags": ["bell", "vqe"]}, tags_any("bell", "vqe")),
    "residual": (
        {"where": Q.test(lambda job: job.raw["shots"] != 4000)},
        lambda r: r["shots"] != 4000,
    ),
}

DATA: dict[str, Callable[[], list[dict[str, Any]]]] = {
    # 500 jobs, all dated (the request bound is exact there)
    "dated": lambda: demo_jobs(500, seed=3),
    # 240 dated jobs and 12 undated ones (half null, half missing)
    "undated": lambda: demo_jobs(240, undated=12),
}


@pytest.fixture(scope="module", params=SITES)
def site(request: pytest.FixtureRequest, sites: Any) -> Iterator[Site]:
    found: Site = sites(request.param)
    yield found
    found.service.page_cap = None


def use(site: Site, name: str) -> list[dict[str, Any]]:
    """Load data set ``name`` on ``site`` (unless it is loaded); the records as stored."""
    return site.load(DATA[name](), key=name)


# -- request bounds ------------------------------------------------------------------------------
#
# A page holds `cap` new records, or `cap - 1` where the tie-break is inclusive (MariaDB:
# the cursor comes back); with a cap of 1 there, every boundary is a page and a count.


def _per_page(site: Site, cap: int) -> float:
    if site.exact_ids:
        return cap
    return 0.5 if cap == 1 else cap - 1


def _bound(site: Site, n: int, cap: int) -> int:
    """A listing that stops at its limit."""
    return math.ceil(n / _per_page(site, cap)) + 1


def _full_bound(site: Site, dated: int, undated: int, cap: int) -> int:
    """A listing that reaches its end: each part (dated, undated) ends with a short page."""
    per = _per_page(site, cap)
    return math.ceil(dated / per) + math.ceil(undated / per) + 2


def _limits(site: Site, cap: int) -> list[int]:
    """0..3*cap: every one of them on the demo service and for small caps; on a real
    server with a cap of 50, every limit next to a multiple of the cap and every 7th."""
    if not site.real or cap < 10:
        return list(range(3 * cap + 1))
    edges = {k * cap + d for k in range(4) for d in (-1, 0, 1)} | set(range(0, 3 * cap, 7))
    return sorted(n for n in edges | {0, 1, 2, 3} if 0 <= n <= 3 * cap)


@pytest.mark.parametrize("cap", [1, 7, 50])
def test_sequential_limits_zero_to_three_caps(site: Site, cap: int) -> None:
    """Limits 0..3*cap: exactly the expected jobs, in a bounded number of requests."""
    records = use(site, "dated")
    service = site.service
    provider = site.connect(workers=1)
    with configured(service, page_cap=cap):
        for descending in (True, False):
            for limit in _limits(site, cap):
                service.reset_log()
                got = [j.id for j in provider.jobs(limit=limit, descending=descending)]
                want = site.expected(records, lambda r: True, descending=descending, limit=limit)
                assert got == want, (cap, limit, descending)
                assert service.request_count() <= _bound(site, len(got), cap), (cap, limit)
                if limit == 0:
                    assert service.request_count() == 0


@pytest.mark.parametrize("cap", [7, 50])
@pytest.mark.parametrize("name", ["everything", "done or error", "rare status", "tags"])
def test_sequential_full_listing_request_bound(site: Site, cap: int, name: str) -> None:
    records = use(site, "dated")
    service = site.service
    arguments, accept = FILTERS[name]
    provider = site.connect(workers=1)
    with configured(service, page_cap=cap):
        service.reset_log()
        listing = provider.iter_jobs(**arguments)
        got = [j.id for j in listing]
    assert got == site.expected(records, accept)
    assert service.request_count() == listing.stats.requests
    if listing.exact:  # a client-side residual reads every page of the superset
        assert listing.stats.requests <= _full_bound(site, len(got), 0, cap)
    assert not listing.stats.concurrent


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cap=st.sampled_from([1, 7, 50]),
    fraction=st.floats(0, 3),
    skip=st.integers(0, 14),
    descending=st.booleans(),
    name=st.sampled_from(sorted(FILTERS)),
)
def test_pagination_algebra(
    site: Site, cap: int, fraction: float, skip: int, descending: bool, name: str
) -> None:
    """With undated jobs present too: the listing is the filter's matches, sliced, in order."""
    limit = int(fraction * cap)
    records = use(site, "undated")
    by_id = {r["id"]: r for r in records}
    service = site.service
    arguments, accept = FILTERS[name]
    provider = site.connect(workers=1)
    with configured(service, page_cap=cap):
        service.reset_log()
        listing = provider.iter_jobs(limit=limit, skip=skip, descending=descending, **arguments)
        got = [j.id for j in listing]
    want = site.expected(records, accept, descending=descending, limit=limit, skip=skip)
    assert got == want
    if listing.exact and limit:
        undated = sum(1 for i in got if created(by_id[i]) is None)
        # each part reached costs a short page at most; a skip past the first part a count
        bound = _full_bound(site, len(got) - undated, undated, cap) + (1 if skip else 0)
        assert service.request_count() <= bound


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("cap", [1, 7, 50])
def test_undated_jobs_are_listed_once_by_id(site: Site, cap: int, descending: bool) -> None:
    records = use(site, "undated")
    with configured(site.service, page_cap=cap):
        got = [j.id for j in site.connect(workers=1).iter_jobs(descending=descending)]
    assert got == site.expected(records, lambda r: True, descending=descending)
    by_id = {r["id"]: r for r in records}
    undated = [i for i in got if created(by_id[i]) is None]
    assert len(undated) == 12
    assert undated == sorted(undated, key=site.id_key, reverse=descending)
    # undated jobs last when descending, first when ascending
    assert (got[-12:] if descending else got[:12]) == undated


@pytest.mark.parametrize("skip", [3, 12, 14])
def test_server_skip_within_or_past_the_undated_part(site: Site, skip: int) -> None:
    """Ascending, the 12 undated jobs come first: a skip past them is counted, then the
    rest of it is sent with the dated part's first request."""
    records = use(site, "undated")
    with configured(site.service, page_cap=7):
        listing = site.connect(workers=1).iter_jobs(limit=5, skip=skip, descending=False)
        got = [j.id for j in listing]
    assert got == site.expected(records, lambda r: True, descending=False, limit=5, skip=skip)
    if site.exact_ids:
        assert listing.stats.probes == (1 if skip >= 12 else 0)


def _eleven(site: Site) -> list[dict[str, Any]]:
    """The issue's data: 7 dated jobs and 4 undated ones (two null, two missing)."""
    base = datetime(2024, 5, 1, 12, tzinfo=UTC)
    jobs = demo_jobs(11)
    for n, job in enumerate(jobs):
        job["id"] = f"job-{n:02d}"
        if n < 7:
            job["creationDate"] = iso(base + timedelta(seconds=n // 2))  # pairs share a date
        elif n % 2:
            job["creationDate"] = None
        else:
            job.pop("creationDate")
    return jobs


@pytest.mark.parametrize("connector", ["site", None])
def test_a_page_cap_of_three_lists_all_eleven(site: Site, connector: str | None) -> None:
    """The issue: PostgreSQL puts null dates first when descending, and a cap of 3 made
    jobs(limit=None) return the 4 undated jobs of 11. Every site, told its connector or not."""
    records = site.load(_eleven(site), key="eleven")
    told = site.connector if connector == "site" else None
    provider = qwhere.connect(site.url, connector=told, workers=1)
    for cap in (1, 2, 3, 4):
        with configured(site.service, page_cap=cap):
            for descending in (True, False):
                got = [j.id for j in provider.jobs(limit=None, descending=descending)]
                assert len(got) == 11, (cap, descending, got)
                assert site.matches(got, records, descending=descending), (cap, got)


#: ids that differ only in case; on MariaDB only ones its collation keeps apart can be stored
CASE_IDS = {
    "distinct": ["a1", "B2", "b1", "A2", "c1", "C2", "_1", "Z9"],
    "case pairs": ["x1", "X1", "y1", "Y1", "xY", "Xy", "XY"],
}


@pytest.mark.parametrize("kind", sorted(CASE_IDS))
def test_ids_differing_in_case_at_one_timestamp(site: Site, kind: str) -> None:
    """The issue's second failure: on MariaDB `a1, B2, b1, A2` made the walk raise "b1 does not
    follow B2". Each server's own order is taken, never re-sorted or refused."""
    if kind == "case pairs" and not site.exact_ids:
        pytest.skip("MariaDB refuses ids equal under utf8mb4_general_ci as duplicate keys")
    stamp = "2024-05-01T12:00:00.000Z"
    jobs = demo_jobs(len(CASE_IDS[kind]) + 10)
    for job, ident in zip(jobs, CASE_IDS[kind], strict=False):
        job["id"], job["creationDate"] = ident, stamp
    for job in jobs[len(CASE_IDS[kind]) :][:3]:
        job["creationDate"] = None
    records = site.load(jobs, key=f"case:{kind}")
    for told in (site.connector, None):
        provider = qwhere.connect(site.url, connector=told, workers=1)
        for cap in (1, 2, 3, 7, 50):
            with configured(site.service, page_cap=cap):
                for descending in (True, False):
                    got = [j.id for j in provider.iter_jobs(descending=descending)]
                    assert site.matches(got, records, descending=descending), (told, cap, got)


def test_the_wrong_connector_is_told_not_trusted(site: Site) -> None:
    """Told the memory connector, a MariaDB server's case-insensitive order is refused
    with a typed error that names the likely cause - never a short listing."""
    if site.connector != "mysql":
        pytest.skip("only MariaDB orders ids unlike JavaScript here")
    stamp = "2024-05-01T12:00:00.000Z"
    jobs = demo_jobs(4)
    for job, ident in zip(jobs, ["a1", "B2", "b1", "A2"], strict=True):
        job["id"], job["creationDate"] = ident, stamp
    site.load(jobs, key="issue-case")
    with pytest.raises(qwhere.ListingOrderError, match="connector='memory'"):
        qwhere.connect(site.url, connector="memory").jobs(limit=None)
    assert [j.id for j in site.connect().jobs(limit=None)] == ["B2", "b1", "A2", "a1"]


def test_equal_timestamps_across_pages(site: Site) -> None:
    jobs = demo_jobs(20)
    stamp = jobs[0]["creationDate"]
    for n in range(40):
        record = dict(jobs[n % 20])
        record["id"] = f"tie{(n * 7919) % 97:05d}"
        record["creationDate"] = stamp
        jobs.append(record)
    records = site.load(jobs, key="ties")
    for cap in (1, 3, 7):
        with configured(site.service, page_cap=cap):
            for descending in (True, False):
                got = [j.id for j in site.connect(workers=1).iter_jobs(descending=descending)]
                assert got == site.expected(records, lambda r: True, descending=descending)
                assert len(set(got)) == len(got) == 60


# -- changes during a walk -----------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 4])
def test_inserts_during_a_walk(site: Site, workers: int) -> None:
    """New jobs arrive after every page: no duplicate, no pre-existing match missed, in order."""
    before = site.load(demo_jobs(300, seed=5))
    with configured(site.service, page_cap=7, inserts=2):
        listing = site.connect(workers=workers).iter_jobs(status=["DONE", "ERROR", "RUNNING"])
        got = [j.id for j in listing]
    after = {r["id"]: r for r in site.service.snapshot()}
    assert len(after) > len(before) + 40
    assert len(got) == len(set(got)), "duplicates"
    accept = by_status("DONE", "ERROR", "RUNNING")
    missed = [r["id"] for r in before if accept(r) and r["id"] not in set(got)]
    assert missed == []
    assert all(accept(after[i]) for i in got)
    positions = [(created(after[i]), site.id_key(i)) for i in got]
    assert positions == sorted(positions, reverse=True)  # newest first, ids breaking ties
    inserted = [i for i in got if i not in {r["id"] for r in before}]
    assert inserted, "some inserted jobs ahead of the cursor are listed too"
    assert listing.stats.concurrent == (workers > 1)


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("descending", [True, False])
def test_deletes_and_inserts_during_a_walk(site: Site, workers: int, descending: bool) -> None:
    """Jobs vanish and appear after every page: every survivor is listed once, in order."""
    before = {r["id"] for r in site.load(demo_jobs(300, undated=6, seed=8))}
    with configured(site.service, page_cap=7, inserts=1, deletes=2):
        got = [j.id for j in site.connect(workers=workers).iter_jobs(descending=descending)]
    after = {r["id"]: r for r in site.service.snapshot()}
    survivors = before & set(after)
    assert len(survivors) < len(before) - 50, "jobs were deleted during the walk"
    assert len(got) == len(set(got))
    assert survivors <= set(got)
    listed = [after[i] for i in got if i in after]
    assert site.matches([r["id"] for r in listed], listed, descending=descending)


# -- concurrent listings -------------------------------------------------------------------------


@pytest.mark.parametrize("cap", [7, 50])
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("name", ["everything", "done or error", "residual"])
def test_concurrent_listing(
    site: Site, cap: int, descending: bool, name: str, record_property: Any
) -> None:
    """Large listings fetch date ranges concurrently: same result, and the extra cost is told."""
    records = use(site, "undated")
    service = site.service
    arguments, accept = FILTERS[name]
    with configured(service, page_cap=cap):
        service.reset_log()
        listing = site.connect(workers=4).iter_jobs(descending=descending, **arguments)
        got = [j.id for j in listing]
    assert got == site.expected(records, accept, descending=descending)
    stats = listing.stats
    assert stats.requests == service.request_count()
    per_page = math.floor(_per_page(site, cap))
    record_property("extra_requests", stats.extra_requests(per_page))
    if cap == 7:
        assert stats.concurrent and stats.segments > 1 and stats.probes == 2
    if listing.exact:
        # the price of concurrency: two probes, one short page per range and part, cut pages
        assert stats.extra_requests(per_page) <= 3 + 3 * stats.segments
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


def test_small_listings_stay_sequential(site: Site) -> None:
    use(site, "dated")
    with configured(site.service, page_cap=50):
        listing = site.connect(workers=8).iter_jobs(limit=120)
        assert len(list(listing)) == 120
    assert not listing.stats.concurrent and listing.stats.requests == 3


def test_abandoned_concurrent_listing_stops(site: Site) -> None:
    use(site, "undated")
    service = site.service
    with configured(service, page_cap=7):
        baseline = threading.active_count()
        listing = site.connect(workers=4).iter_jobs()
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


def test_lazy_iterator_sends_nothing_until_next(site: Site) -> None:
    use(site, "undated")
    service = site.service
    service.reset_log()
    listing = site.connect().iter_jobs(status="DONE")
    assert service.request_count() == 0
    next(listing)
    assert service.request_count() == 1


@pytest.mark.parametrize("limit", [60, 100, 250])
def test_concurrent_listing_with_a_limit_fetches_little_more_than_it_needs(
    site: Site, limit: int
) -> None:
    site.load(demo_jobs(300), key="jobs:300")
    with configured(site.service, page_cap=7):
        listing = site.connect().iter_jobs(limit=limit)
        concurrent = [job.id for job in listing]
        sequential = [job.id for job in site.connect(workers=1).iter_jobs(limit=limit)]
    assert concurrent == sequential and len(concurrent) == limit
    stats = listing.stats
    # at most one extra page per worker beyond what the limit needs (and, where the
    # tie-break is inclusive, the cursor of every page once more)
    again = 0 if site.exact_ids else stats.pages
    # one short or cut page per date range (at least one per worker; splits add ranges)
    ranges = max(8, stats.segments)
    assert stats.records_received <= limit + ranges * 7 + again
    assert stats.requests <= _bound(site, limit, 7) + ranges + stats.probes + (
        0 if site.exact_ids else stats.segments
    )


# -- the demo service only: a server that breaks its order ---------------------------------------


def test_order_violations_are_protocol_errors() -> None:
    """A server that ignores ``order`` is caught, not trusted into skipping records."""
    with serve(jobs=400, undated=12, page_cap=7) as url:
        service = url.service
        original = service.jobs.ordered

        def unordered(order: object) -> Any:
            return original("name")

        service.jobs.ordered = unordered  # type: ignore[method-assign]
        with pytest.raises(qwhere.ProtocolError, match="out of order"):
            qwhere.connect(url, connector="memory", workers=1).jobs(limit=None)
        with pytest.raises(qwhere.ListingOrderError, match="out of order"):
            qwhere.connect(url, workers=1).jobs(limit=None)  # dates are checked whatever


def test_datetime_fixture_sanity(demo_records: list[dict[str, Any]]) -> None:
    stamps = [created(r) for r in demo_records]
    assert all(isinstance(s, datetime) for s in stamps)
    assert len(set(stamps)) < len(stamps), "the demo data has equal timestamps"
