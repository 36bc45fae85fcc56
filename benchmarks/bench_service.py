"""Listing speed and memory of the service client against the demo service.

    python benchmarks/bench_service.py [--jobs 5000] [--cap 50] [--latency 0.02] [--rounds 3]
                                       [--memory 10000,30000,100000]

1. Speed: a demo service (in its own process, so the client's timings and memory
   are its own) with ``--jobs`` jobs, all matching, a page cap of ``--cap`` and
   ``--latency`` seconds added to every request. In the same run, interleaved:

   * ``skip/limit loop`` - the plain way: one request after another with a growing
     ``skip`` (``limit=cap``), until a short page;
   * ``jobs(limit=None), workers=1`` - qwhere's keyset walk, sequential;
   * ``jobs(limit=None)`` - qwhere's default: keyset walk with concurrent date ranges.

   Each row is the median of ``--rounds`` rounds; every run must return the same
   ids in the same order as the loop (checked). Target: the default at most 0.5x the
   loop's time.

2. Memory: peak traced memory (``tracemalloc``) of ``iter_jobs()`` consumed one job
   at a time, for each job count in ``--memory`` (cap 500, no latency). Flat means
   the peak does not grow with the number of jobs.

Not a test: timings depend on the machine; ``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

import qwhere


@contextmanager
def service(jobs: int, cap: int, latency: float) -> Iterator[str]:
    """A demo service in a child process; yields its base URL."""
    command = [
        sys.executable,
        "-m",
        "qwhere.testing",
        "--jobs",
        str(jobs),
        "--page-cap",
        str(cap),
        "--latency",
        str(latency * 1000),  # the command takes milliseconds
        "--port",
        "0",
        "--until-stdin-closes",
    ]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the demo service did not start: {url!r}")
        yield url
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def skip_limit_loop(url: str, cap: int) -> tuple[list[str], int]:
    """The plain sequential loop: growing skip, one request at a time."""
    ids: list[str] = []
    requests_made = 0
    with requests.Session() as session:
        while True:
            query = {"order": "creationDate DESC, id DESC", "limit": cap, "skip": len(ids)}
            answer = session.get(f"{url}/Jobs", params={"filter": json.dumps(query)}, timeout=30)
            answer.raise_for_status()
            requests_made += 1
            page = answer.json()
            ids.extend(record["id"] for record in page)
            if len(page) < cap:
                return ids, requests_made


def qwhere_listing(url: str, workers: int) -> Callable[[], tuple[list[str], int]]:
    def run() -> tuple[list[str], int]:
        provider = qwhere.connect(url, workers=workers)
        try:
            listing = provider.iter_jobs(limit=None)
            ids = [job.id for job in listing]
            return ids, listing.stats.requests
        finally:
            provider.close()

    return run


def speed(jobs: int, cap: int, latency: float, rounds: int) -> tuple[float, bool]:
    print(f"\n## Listing {jobs} matching jobs, page cap {cap}, {latency * 1000:.0f} ms latency\n")
    with service(jobs, cap, latency) as url:
        runs: dict[str, Callable[[], tuple[list[str], int]]] = {
            "skip/limit loop": lambda: skip_limit_loop(url, cap),
            "jobs(limit=None), workers=1": qwhere_listing(url, 1),
            "jobs(limit=None)": qwhere_listing(url, 8),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        counts: dict[str, int] = {}
        reference: list[str] | None = None
        identical = True
        for _ in range(rounds):
            for name, run in runs.items():
                started = time.perf_counter()
                ids, made = run()
                times[name].append(time.perf_counter() - started)
                counts[name] = made
                if reference is None:
                    reference = ids
                identical = identical and ids == reference and len(ids) == jobs
        base = statistics.median(times["skip/limit loop"])
        print(f"| {'method':<30} | {'requests':>8} | {'seconds':>8} | {'vs loop':>7} |")
        print(f"|{'-' * 32}|{'-' * 10}|{'-' * 10}|{'-' * 9}|")
        for name in runs:
            median = statistics.median(times[name])
            print(f"| {name:<30} | {counts[name]:>8} | {median:>8.3f} | {median / base:>6.2f}x |")
        ratio = statistics.median(times["jobs(limit=None)"]) / base
        print(
            f"\nidentical results: {'yes' if identical else 'NO'}; target <= 0.50x: "
            f"{'met' if ratio <= 0.5 else 'MISSED'} ({ratio:.2f}x)"
        )
        return ratio, identical


def memory(sizes: list[int]) -> list[int]:
    print("\n## Peak traced memory of iter_jobs(), one job at a time (cap 500)\n")
    print(f"| {'jobs':>8} | {'seconds':>8} | {'peak KiB':>9} |")
    print(f"|{'-' * 10}|{'-' * 10}|{'-' * 11}|")
    peaks: list[int] = []
    for size in sizes:
        with service(size, 500, 0.0) as url:
            provider = qwhere.connect(url)
            qwhere.Job  # noqa: B018 - import the models before tracing
            tracemalloc.start()
            started = time.perf_counter()
            seen = 0
            for _job in provider.iter_jobs(limit=None):
                seen += 1
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            provider.close()
            if seen != size:
                raise SystemExit(f"iter_jobs returned {seen} jobs, not {size}")
            peaks.append(peak)
            print(f"| {size:>8} | {elapsed:>8.2f} | {peak / 1024:>9.0f} |")
    growth = peaks[-1] / peaks[0] if peaks and peaks[0] else 1.0
    print(f"\npeak at {sizes[-1]} jobs / peak at {sizes[0]} jobs: {growth:.2f}")
    return peaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--cap", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory", default="10000,30000,100000")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, qwhere {qwhere.__version__}")
    ratio, identical = speed(args.jobs, args.cap, args.latency, args.rounds)
    sizes = [int(s) for s in args.memory.split(",") if s]
    peaks = memory(sizes) if sizes else []
    flat = not peaks or peaks[-1] <= 1.5 * peaks[0]
    ok = identical and ratio <= 0.5 and flat
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
