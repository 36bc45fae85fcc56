"""Parse time of the six example filters, beside ``jmespath.compile``, in one run.

    python benchmarks/bench_parse.py [--rounds 41] [--batch 0.01]

For each example it reports, in µs per call:

* ``cold``   - a parse that misses qwhere's result cache (the cache-free function behind
  ``parse``, ``qwhere.parser._parse_cached.__wrapped__``);
* ``fresh``  - ``qwhere.parse`` of a string it has never seen (each call gets a new text:
  the example followed by a different number of trailing spaces), so the cache look-up and
  insertion are included;
* ``cached`` - ``qwhere.parse`` of the same string again (a cache hit);
* ``jmes``   - ``jmespath.compile`` of an expression with the same meaning, with jmespath's
  own compile cache cleared before every call (so it really compiles);
* ``ratio``  - cold / jmes (the target is <= 2.0; the cached parse must stay under 1 µs).

Timing is paired: each round times a short batch of every variant back to back (in a
rotating order), so qwhere and jmespath see the same machine load; a figure is the median
over ``--rounds`` rounds of the per-call mean of its batch, and ``ratio`` is the median of
the per-round ratios. ``overall`` compares the sums over the six examples. Not a test:
timings depend on the machine, so nothing here fails a build (``--check`` exits 1 when a
target is missed).
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable

import jmespath
import jmespath.parser
import lark

import qwhere
import qwhere.parser
from qwhere import parse

#: (qwhere filter, a jmespath expression with the same meaning)
EXAMPLES: list[tuple[str, str]] = [
    (
        "status in [RUNNING, ERROR] and tags all [a,b]",
        "(status == 'RUNNING' || status == 'ERROR') && contains(tags, 'a') && contains(tags, 'b')",
    ),
    (
        'not (name ~ "bell.*" or backend == ibmq_qasm_simulator) and created >= 2024-01-01T00:00Z',
        # jmespath has no regular expressions: starts_with is the closest call
        "!(starts_with(name, 'bell') || backend == 'ibmq_qasm_simulator')"
        " && created >= '2024-01-01T00:00Z'",
    ),
    (
        "created > now - 7d and created between 2024-01-01 and 2024-02-01",
        # jmespath has no clock: the relative time is a literal here
        "created > '2024-01-25T00:00Z' && created >= '2024-01-01' && created <= '2024-02-01'",
    ),
    (
        "n_qubits >= 5 and operational and not simulator",
        "n_qubits >= `5` && operational && !simulator",
    ),
    (
        "name ~ /^bell/i or experiment_id exists",
        "starts_with(name, 'bell') || experiment_id != `null`",
    ),
    (
        "status in [RUNNING, ERROR] and tags all [a, b7] and name ~ /^job-7-x/",
        "(status == 'RUNNING' || status == 'ERROR') && contains(tags, 'a')"
        " && contains(tags, 'b7') && starts_with(name, 'job-7-x')",
    ),
]


def _batch(fn: Callable[[], object], seconds: float) -> int:
    """How many calls of ``fn`` fill about ``seconds``."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 4:
            return max(1, int(n * seconds / elapsed))
        n *= 2


def _time(fn: Callable[[], object], n: int) -> float:
    """Mean µs per call of ``fn`` over ``n`` calls (garbage collector off, as timeit)."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - start) / n * 1e6
    finally:
        if gc_was:
            gc.enable()


def _time_fresh(text: str, n: int) -> float:
    """Mean µs of ``parse`` on ``n`` texts it has not seen (made before the clock starts)."""
    texts = [text + " " * (i + 1) for i in range(n)]
    qwhere.parser._parse_cached.cache_clear()
    gc_was = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for t in texts:
            parse(t)
        return (time.perf_counter() - start) / n * 1e6
    finally:
        if gc_was:
            gc.enable()


def _paired(
    text: str,
    cold_fn: Callable[[], object],
    jmes_fn: Callable[[], object],
    cached_fn: Callable[[], object],
    rounds: int,
    batch: float,
) -> dict[str, list[float]]:
    """Per-call µs of each variant, one short batch of each per round, in rotating order."""
    n_cold = _batch(cold_fn, batch)
    n_jmes = _batch(jmes_fn, batch)
    n_cached = _batch(cached_fn, batch)
    n_fresh = min(n_cold, qwhere.parser._PARSE_CACHE_SIZE)

    def cached() -> float:
        parse(text)
        return _time(cached_fn, n_cached)

    runs: dict[str, Callable[[], float]] = {
        "jmes": lambda: _time(jmes_fn, n_jmes),
        "cold": lambda: _time(cold_fn, n_cold),
        "fresh": lambda: _time_fresh(text, n_fresh),
        "cached": cached,
    }
    results: dict[str, list[float]] = {k: [] for k in runs}
    order = list(runs)
    for i in range(rounds):
        for name in order[i % 4 :] + order[: i % 4]:
            results[name].append(runs[name]())
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=41, help="paired rounds per example (median)")
    ap.add_argument("--batch", type=float, default=0.01, help="seconds per timed batch")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args()

    cold_parse = qwhere.parser._parse_cached.__wrapped__
    jp_cache = jmespath.parser.Parser._CACHE

    def jmes(expr: str) -> Callable[[], object]:
        def run() -> object:
            jp_cache.clear()
            return jmespath.compile(expr)

        return run

    # Warm up: build the parser, check every example parses, and let the interpreter
    # specialise the hot paths.
    for text, expr in EXAMPLES:
        parse(text)
        jmespath.compile(expr)
        for _ in range(200):
            cold_parse(text, None)
            jmes(expr)()

    print(
        f"python {platform.python_version()} ({platform.machine()}), lark {lark.__version__}, "
        f"jmespath {jmespath.__version__}, qwhere {qwhere.__version__}"
    )
    print(f"{args.rounds} paired rounds, ~{args.batch * 1000:g} ms batches; µs per call (median)\n")
    header = f"{'filter':<50} {'cold':>7} {'fresh':>7} {'cached':>7} {'jmes':>7} {'ratio':>6}"
    print(header)
    print("-" * len(header))

    totals = {"cold": 0.0, "fresh": 0.0, "jmes": 0.0}
    worst_ratio = 0.0
    worst_cached = 0.0
    all_ratios: list[list[float]] = []
    for text, expr in EXAMPLES:
        cold_fn = lambda text=text: cold_parse(text, None)  # noqa: E731
        jmes_fn = jmes(expr)
        cached_fn = lambda text=text: parse(text)  # noqa: E731
        rounds = _paired(text, cold_fn, jmes_fn, cached_fn, args.rounds, args.batch)
        ratios = [c / j for c, j in zip(rounds["cold"], rounds["jmes"], strict=True)]
        all_ratios.append(ratios)
        med = {k: statistics.median(v) for k, v in rounds.items()}
        ratio = statistics.median(ratios)
        worst_ratio = max(worst_ratio, ratio)
        worst_cached = max(worst_cached, med["cached"])
        for k in totals:
            totals[k] += med[k]
        shown = text if len(text) <= 50 else text[:47] + "..."
        print(
            f"{shown:<50} {med['cold']:7.1f} {med['fresh']:7.1f} {med['cached']:7.2f} "
            f"{med['jmes']:7.1f} {ratio:5.2f}x"
        )
    overall = totals["cold"] / totals["jmes"]
    print("-" * len(header))
    print(
        f"{'overall (sum of the six)':<50} {totals['cold']:7.1f} {totals['fresh']:7.1f} "
        f"{'':>7} {totals['jmes']:7.1f} {overall:5.2f}x"
    )
    spread = ", ".join(
        f"{statistics.quantiles(r, n=10)[0]:.2f}-{statistics.quantiles(r, n=10)[-1]:.2f}"
        for r in all_ratios
    )
    print(f"per-round ratio, 10th-90th percentile: {spread}")
    ok = worst_ratio <= 2.0 and overall <= 2.0 and worst_cached < 1.0
    print(
        f"\ntarget: cold <= 2.0x jmespath.compile (worst {worst_ratio:.2f}x, overall "
        f"{overall:.2f}x); cached < 1 µs (worst {worst_cached:.2f} µs): "
        + ("met" if ok else "NOT met")
    )
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
