"""Predicate throughput: qwhere's generated predicate beside hand-written and library matchers.

Filters 200,000 job records (as a LoopBack server returns them) with the design card's
filter ``status in [RUNNING, ERROR] and tags all [a, b]`` and reports the best of several
runs for each matcher, and its ratio to the hand-written lambda measured in the same run.

    python benchmarks/bench_predicate.py [--records N] [--repeat K]

tinydb and mongoquery are optional (``pip install -e '.[bench]'``); missing ones are skipped.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

from qwhere import predicate, schemas

STATUSES = ["RUNNING", "ERROR", "COMPLETED", "QUEUED", "CANCELLED", "CREATED", "VALIDATING"]
TAGS = ["a", "b", "c", "calibration", "x"]
FILTER = "status in [RUNNING, ERROR] and tags all [a, b]"


def make_jobs(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    jobs = []
    for i in range(n):
        job: dict[str, Any] = {
            "id": f"job{i:07d}",
            "name": f"bell-{i % 97}",
            "status": rnd.choice(STATUSES),
            "creationDate": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00.000Z",
            "backend": {"name": rnd.choice(["ibmq_qasm_simulator", "ibmq_lima", "ibm_perth"])},
        }
        if rnd.random() > 0.1:
            job["tags"] = rnd.sample(TAGS, rnd.randint(0, 3))
        jobs.append(job)
    return jobs


def hand_written(r: dict[str, Any]) -> bool:
    tags = r.get("tags")
    return (
        r.get("status") in ("RUNNING", "ERROR")
        and isinstance(tags, list)
        and "a" in tags
        and "b" in tags
    )


def matchers() -> dict[str, Callable[[dict[str, Any]], bool]]:
    found: dict[str, Callable[[dict[str, Any]], bool]] = {
        "hand-written lambda": hand_written,
        "qwhere.predicate": predicate(FILTER),
    }
    try:
        from tinydb import Query

        q = Query()
        tiny = q.status.one_of(["RUNNING", "ERROR"]) & q.tags.all(["a", "b"])
        found["tinydb Query"] = tiny
    except ImportError:
        print("(tinydb not installed: skipped)")
    try:
        from mongoquery import Query as MongoQuery

        mongo = MongoQuery({"status": {"$in": ["RUNNING", "ERROR"]}, "tags": {"$all": ["a", "b"]}})
        found["mongoquery"] = mongo.match
    except ImportError:
        print("(mongoquery not installed: skipped)")
    return found


def best_time(
    fn: Callable[[dict[str, Any]], bool], jobs: list[dict[str, Any]], repeat: int
) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = sum(1 for job in jobs if fn(job))
        best = min(best, time.perf_counter() - start)
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    jobs = make_jobs(args.records)
    results = {name: best_time(fn, jobs, args.repeat) for name, fn in matchers().items()}
    base, expected = results["hand-written lambda"]
    print(f"{args.records:,} job records, filter: {FILTER}")
    print(
        f"{'matcher':<22}{'best of ' + str(args.repeat):>14}{'ns/record':>11}{'ratio':>8}  matches"
    )
    for name, (seconds, count) in results.items():
        assert count == expected, f"{name} selected {count} records, expected {expected}"
        print(
            f"{name:<22}{seconds * 1e3:>11.1f} ms{seconds / args.records * 1e9:>11.0f}"
            f"{seconds / base:>7.2f}x  {count}"
        )
    # the same filter through the JOBS schema (ERROR means every ERROR_* API status)
    schema_jobs = [
        dict(j, status="ERROR_RUNNING_JOB") if j["status"] == "ERROR" else j for j in jobs
    ]
    accept = predicate(FILTER, schemas.JOBS)
    seconds, count = best_time(accept, schema_jobs, args.repeat)
    per_record = seconds / args.records * 1e9
    print(
        f"{'qwhere + JOBS schema':<22}{seconds * 1e3:>11.1f} ms{per_record:>11.0f}"
        f"{seconds / base:>7.2f}x  {count}"
    )


if __name__ == "__main__":
    main()
