"""The client's own cost: CPU seconds per job of ``iter_jobs()``, beside the same pages
fetched with ``requests`` and ``json`` alone.

    python benchmarks/bench_client_cpu.py [--jobs 100000] [--cap 500] [--rounds 3] [--check]

A demo service with ``--jobs`` jobs and a page cap of ``--cap`` runs in its own
process, so ``time.process_time()`` in this one counts the client alone. In the same
run, interleaved, ``--rounds`` times:

* ``requests + json`` - the very pages ``iter_jobs()`` asks for (their filters are
  recorded once, beforehand), fetched with one ``requests.Session`` and decoded with
  ``json.loads``, each record's id read: the floor any HTTP client pays;
* ``iter_jobs()`` - qwhere's sequential keyset walk (``workers=1``), every record
  checked, placed and built into a ``Job``;
* ``iter_jobs(), workers=8`` - the default, concurrent walk (threads cost CPU too).

Each row is the median over the rounds, in µs of CPU per job. Target: ``iter_jobs()``
at most 2x ``requests + json``. Not a test: ``--check`` exits 1 when it is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests

import qwhere
from qwhere.transport import Transport

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_service import service  # a demo service in a child process


class Recording:
    """A transport that keeps the parameters of every listing request."""

    def __init__(self, url: str) -> None:
        self.inner = Transport(url)
        self.url = self.inner.url
        self.sent: list[tuple[str, dict[str, str]]] = []

    def get(self, path: str, params: Mapping[str, str] | None = None, **kw: Any) -> Any:
        self.sent.append((path, dict(params or {})))
        return self.inner.get(path, params, **kw)

    def close(self) -> None:
        self.inner.close()


def plain(url: str, sent: list[tuple[str, dict[str, str]]]) -> Callable[[], int]:
    import json

    def run() -> int:
        seen = 0
        with requests.Session() as session:
            for path, params in sent:
                answer = session.get(url + path, params=params, timeout=60)
                answer.raise_for_status()
                body = json.loads(answer.content)
                if isinstance(body, list):
                    for record in body:
                        seen += record["id"] is not None
        return seen

    return run


def qwhere_walk(url: str, workers: int) -> Callable[[], int]:
    def run() -> int:
        with qwhere.connect(url, connector="memory", workers=workers) as provider:
            return sum(1 for _ in provider.iter_jobs())

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--cap", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, qwhere {qwhere.__version__}")
    print(f"\n## CPU per job, {args.jobs} jobs, page cap {args.cap} (client process only)\n")
    with service(args.jobs, args.cap, 0.0) as url:
        recording = Recording(url)
        provider = qwhere.connect(
            url, connector="memory", transport=recording, workers=1, page_size=args.cap
        )
        listed = sum(1 for _ in provider.iter_jobs())
        assert listed == args.jobs, listed
        runs = {
            "requests + json": plain(url, recording.sent),
            "iter_jobs()": qwhere_walk(url, 1),
            "iter_jobs(), workers=8": qwhere_walk(url, 8),
        }
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        wall: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, run in runs.items():
                started, clock = time.process_time(), time.perf_counter()
                count = run()
                cpu[name].append((time.process_time() - started) / count * 1e6)
                wall[name].append(time.perf_counter() - clock)
                assert count == args.jobs, (name, count)
    base = statistics.median(cpu["requests + json"])
    heads = ("method", "requests", "µs CPU / job", "vs plain", "wall s")
    print("| {:<24} | {:>8} | {:>12} | {:>8} | {:>6} |".format(*heads))
    print(f"|{'-' * 26}|{'-' * 10}|{'-' * 14}|{'-' * 10}|{'-' * 8}|")
    for name in runs:
        made = len(recording.sent) if name != "iter_jobs(), workers=8" else 0
        shown = str(made) if made else "-"
        median = statistics.median(cpu[name])
        print(
            f"| {name:<24} | {shown:>8} | {median:>12.1f} | {median / base:>7.2f}x "
            f"| {statistics.median(wall[name]):>6.2f} |"
        )
    ratio = statistics.median(cpu["iter_jobs()"]) / base
    print(
        f"\ntarget iter_jobs() <= 2.0x requests + json: {'met' if ratio <= 2 else 'MISSED'} "
        f"({ratio:.2f}x)"
    )
    return 1 if args.check and ratio > 2 else 0


if __name__ == "__main__":
    raise SystemExit(main())
