"""Stream a large job listing with ``iter_jobs``: every match, in order, in bounded memory.

``provider.jobs(limit=None)`` builds a list; ``provider.iter_jobs(...)`` yields the jobs one by
one while it pages through the service, so a listing of any length runs in the same memory.
This script starts a demo service with 10,000 jobs whose server returns at most 100 records per
request, streams every completed job through a few running totals, and prints:

* progress while it streams, and the totals at the end;
* what the listing cost (``iterator.stats``: requests, pages, whether it fetched date ranges
  concurrently);
* the peak memory (``tracemalloc``) of streaming 2,000 jobs and of streaming all of them: it does
  not grow with the number of jobs (the service runs in the same process and is counted too).

It checks that the stream is complete and in order (newest first, no job twice) against
``count_jobs`` and the service's own data.

Run it from anywhere: ``python examples/streaming_large_listing.py``.
"""

from __future__ import annotations

import tracemalloc
from collections import Counter
from datetime import datetime

import qwhere
from qwhere.testing import serve

JOBS = 10_000
PAGE_CAP = 100
WHERE = "status == DONE"


def stream(provider: qwhere.Provider, limit: int | None, *, report: bool) -> tuple[int, int]:
    """Stream the matching jobs; return (how many, peak traced memory in bytes)."""
    per_backend: Counter[str] = Counter()
    per_year: Counter[int] = Counter()
    count = 0
    previous: tuple[datetime, str] | None = None
    tracemalloc.start()
    jobs = provider.iter_jobs(limit=limit, where=WHERE)
    for job in jobs:
        count += 1
        assert job.creation_date is not None
        per_backend[job.backend_name or "-"] += 1
        per_year[job.creation_date.year] += 1
        # newest first, ties broken by id: strictly decreasing, so no job comes twice
        key = (job.creation_date, job.id)
        assert previous is None or key < previous
        previous = key
        if report and count % 2_000 == 0:
            print(f"  ... {count:>6} jobs, {jobs.stats.requests} requests so far")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if report:
        stats = jobs.stats
        print(f"streamed {count} jobs matching {WHERE!r}")
        print(f"  per year:    {dict(sorted(per_year.items()))}")
        print(f"  per backend: {dict(per_backend.most_common(4))} ...")
        print(
            f"  cost: {stats.requests} requests ({stats.pages} pages, {stats.probes} probes), "
            f"{stats.records_received} records received, largest page {stats.largest_page}"
        )
        print(
            f"  concurrent: {stats.concurrent} ({stats.segments} date ranges); a sequential "
            f"walk needs at least {stats.sequential_bound()} requests"
        )
    return count, peak


def main() -> None:
    with serve(jobs=JOBS, page_cap=PAGE_CAP) as url:
        print(f"demo service: {JOBS} jobs, at most {PAGE_CAP} records per answer\n")
        # the demo service answers like LoopBack's memory connector: say so, and the whole
        # filter runs on the server (connector=None would check status on the client too)
        with qwhere.connect(url, connector="memory", page_size=PAGE_CAP) as provider:
            total, _ = stream(provider, None, report=True)
            # measured after that first walk, so one-time costs (threads, caches) are paid
            some, peak_some = stream(provider, 2_000, report=False)
            again, peak_all = stream(provider, None, report=False)

            print("\npeak memory while streaming (tracemalloc, service included):")
            print(f"  first {some:>6} jobs: {peak_some / 1e6:5.1f} MB")
            print(f"  all   {total:>6} jobs: {peak_all / 1e6:5.1f} MB")

            expected = sum(1 for r in url.service.snapshot() if r["status"] == "COMPLETED")
            assert total == again == expected == provider.count_jobs(where=WHERE)
            assert some == 2_000
            # bounded: many times the jobs, about the same memory
            assert peak_all < 2 * peak_some
            print(f"\ncomplete: {total} of {total} completed jobs, in order, none twice")


if __name__ == "__main__":
    main()
