"""Listing 100,000 jobs from a real LoopBack 3 app on PostgreSQL: keyset against skip/limit.

    python benchmarks/bench_listing_pg.py [--jobs 100000] [--cap 100] [--check]

A LoopBack 3 app (tests/lb3: ``loopback-connector-postgresql`` on a private
PostgreSQL 15) holds ``--jobs`` jobs, with the index on ``(creationDate, id)`` a
real deployment has (created here), and a page cap of ``--cap``. In the same run,
one after another:

* ``skip/limit loop`` - the plain way: ``order=creationDate DESC, id DESC``,
  ``limit=cap`` and a growing ``skip``, one request after another, until a short page;
* ``jobs(limit=None), workers=1`` - qwhere's keyset walk, sequential;
* ``jobs(limit=None)`` - qwhere's default: keyset walk, date ranges fetched concurrently.

All three must return the same ids in the same order (checked). For each walk it
reports the median time of the first 10 and of the last 10 page requests (keyset
pages stay flat; a skip page reads and drops every record before it) and the total.
Targets: last/first page-time ratio <= 1.5 for qwhere; qwhere's total <= 0.5x the
skip loop's. ``EXPLAIN`` of a deep keyset page shows the index scan that keeps it flat.

Not a test: timings depend on the machine; ``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

import qwhere
from qwhere.testing.data import job_records
from qwhere.transport import Transport

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from lb3.lab import Lab  # noqa: E402  (the test servers: tests/lb3)


class TimedTransport:
    """The HTTP transport, timing every request (``connect(transport=...)``)."""

    def __init__(self, url: str) -> None:
        self.inner = Transport(url, pool_size=16)
        self.url = self.inner.url
        self.times: list[tuple[str, float]] = []

    def get(self, path: str, params: Mapping[str, str] | None = None, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.get(path, params, **kw)
        finally:
            kind = (
                "page"
                if path == "/Jobs" and 'limit":1,' not in (params or {}).get("filter", "")
                else "probe"
            )
            self.times.append((kind, time.perf_counter() - started))

    def close(self) -> None:
        self.inner.close()


def skip_limit_loop(url: str, cap: int) -> tuple[list[str], list[float]]:
    ids: list[str] = []
    times: list[float] = []
    with requests.Session() as session:
        while True:
            query = {"order": "creationDate DESC, id DESC", "limit": cap, "skip": len(ids)}
            started = time.perf_counter()
            answer = session.get(f"{url}/Jobs", params={"filter": json.dumps(query)}, timeout=120)
            answer.raise_for_status()
            page = answer.json()
            times.append(time.perf_counter() - started)
            ids.extend(record["id"] for record in page)
            if len(page) < cap:
                return ids, times


def keyset(url: str, workers: int) -> tuple[list[str], list[float], int]:
    transport = TimedTransport(url)
    provider = qwhere.connect(url, connector="postgresql", transport=transport, workers=workers)
    listing = provider.iter_jobs(limit=None)
    ids = [job.id for job in listing]
    pages = [t for kind, t in transport.times if kind == "page"]
    return ids, pages, listing.stats.requests


def psql(lab: Lab, sql: str) -> str:
    pg = lab.postgres()
    command = [str(pg.bindir / "psql"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres"]
    result = subprocess.run(
        [*command, "-d", pg.database, "-X", "-q", "-c", sql],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--cap", type=int, default=100)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, qwhere {qwhere.__version__}")
    with Lab() as lab:
        app = lab.app("postgresql", page_cap=args.cap)
        print(f"{lab.postgres().version}; LoopBack 3 app, page cap {args.cap}")
        started = time.perf_counter()
        app.load("Job", job_records(args.jobs, seed=7))
        psql(lab, "CREATE INDEX job_created_id ON job (creationdate DESC, id DESC); ANALYZE job;")
        print(
            f"loaded {args.jobs} jobs and indexed (creationDate, id) in "
            f"{time.perf_counter() - started:.1f} s\n"
        )
        for depth in (500, args.jobs - 500):  # what PostgreSQL does with a keyset page
            row = app.find("Jobs", order="creationDate DESC, id DESC", skip=depth, limit=1)[0]
            at, ident = row["creationDate"], row["id"]
            plan = psql(
                lab,
                "EXPLAIN SELECT * FROM job WHERE creationdate IS NOT NULL AND creationdate <= "
                f"'{at}' AND (creationdate < '{at}' OR (creationdate = '{at}' AND id < '{ident}'))"
                f" ORDER BY creationdate DESC, id DESC LIMIT {args.cap}",
            )
            scans = [line.strip().lstrip("-> ") for line in plan.splitlines() if "Scan" in line]
            print(f"a keyset page {depth} records deep: {scans[0].split('  (')[0]}")
        print()

        url = app.url
        runs: dict[str, tuple[list[str], list[float], int, float]] = {}
        started = time.perf_counter()
        ids, times = skip_limit_loop(url, args.cap)
        runs["skip/limit loop"] = (ids, times, len(times), time.perf_counter() - started)
        for name, workers in (("jobs(limit=None), workers=1", 1), ("jobs(limit=None)", 8)):
            started = time.perf_counter()
            ids, times, made = keyset(url, workers)
            runs[name] = (ids, times, made, time.perf_counter() - started)

    reference = runs["skip/limit loop"][0]
    identical = all(r[0] == reference for r in runs.values()) and len(reference) == args.jobs
    print(
        f"| {'method':<28} | {'requests':>8} | {'first 10 pages':>14} | {'last 10 pages':>13} "
        f"| {'last/first':>10} | {'total s':>8} | {'vs loop':>7} |"
    )
    print(f"|{'-' * 30}|{'-' * 10}|{'-' * 16}|{'-' * 15}|{'-' * 12}|{'-' * 10}|{'-' * 9}|")
    base = runs["skip/limit loop"][3]
    ratios: dict[str, float] = {}
    for name, (_, times, made, total) in runs.items():
        first, last = statistics.median(times[:10]), statistics.median(times[-10:])
        ratios[name] = last / first
        print(
            f"| {name:<28} | {made:>8} | {first * 1000:>11.1f} ms | {last * 1000:>10.1f} ms "
            f"| {last / first:>9.2f}x | {total:>8.2f} | {total / base:>6.2f}x |"
        )
    keyset_ratio = max(ratios["jobs(limit=None), workers=1"], ratios["jobs(limit=None)"])
    total_ratio = runs["jobs(limit=None)"][3] / base
    print(f"\nidentical ids: {'yes' if identical else 'NO'} ({len(reference)} jobs)")
    print(
        f"target last/first <= 1.5 for qwhere: {'met' if keyset_ratio <= 1.5 else 'MISSED'} "
        f"({keyset_ratio:.2f}x)"
    )
    print(
        f"target total <= 0.5x the skip loop: {'met' if total_ratio <= 0.5 else 'MISSED'} "
        f"({total_ratio:.2f}x)"
    )
    ok = identical and keyset_ratio <= 1.5 and total_ratio <= 0.5
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
