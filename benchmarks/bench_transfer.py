"""Records transferred per record returned, per connector profile, on real LoopBack servers.

    python benchmarks/bench_transfer.py [--jobs 10000] [--check]

The LoopBack 3 app of tests/lb3 runs on the memory connector, on PostgreSQL 15 and on
MariaDB (tables made by automigrate), each holding the same ``--jobs`` demo jobs. For
the design-card filter and a mix of ten typical job filters, every plan's ``where`` is
sent (no page cap) and the records that come back are counted, then filtered with
``Plan.matches``; the kept ones must be exactly ``predicate``'s selection over the
stored jobs (checked: a wrong plan fails the run, it does not improve a figure).

Rows: each connector's own profile on its own server, and the default profile
(``connector=None``) on each. Target: a connector's own profile transfers at most
1.5x what the memory profile transfers on memory for the same mix.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from lb3.lab import Lab

from qwhere import plan, predicate, schemas
from qwhere.testing.data import DEFAULT_ANCHOR, job_records

DESIGN_CARD = "status in [RUNNING, ERROR] and tags all [a, b]"
MIX = [
    "status == RUNNING",
    "status in [DONE, ERROR] and created > 2024-12-01",
    "tags any [calibration]",
    "tags all [bell, nightly]",
    "backend == ibmq_lima and status == DONE",
    "name ~ /^bell/",
    "status != DONE",
    "experiment_id == exp-003",
    "created between 2024-03-01 and 2024-03-31",
    "tags none [test] and status == CANCELLED",
]
TYPES = schemas.JOBS.server_types()


def _stored(app: Any) -> list[dict[str, Any]]:
    return list(app.find("Jobs"))


def measure(
    app: Any, connector: str | None, text: str, stored: list[dict[str, Any]]
) -> tuple[int, int]:
    p = plan(text, schemas.JOBS, connector=connector, now=DEFAULT_ANCHOR)
    sent = app.find("Jobs", where=p.where)
    kept = {r["id"] for r in sent if p.matches(r)}
    truth = {r["id"] for r in stored if predicate(text, schemas.JOBS, now=DEFAULT_ANCHOR)(r)}
    if kept != truth:
        raise SystemExit(
            f"WRONG: {connector} on {app.connector}: {text}: {len(kept)} != {len(truth)}"
        )
    return len(sent), len(truth)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    records = job_records(args.jobs, anchor=DEFAULT_ANCHOR)
    rows: list[tuple[str, str, int, int, int, int]] = []
    with Lab() as lab:
        for server in ("memory", "postgresql", "mysql"):
            app = lab.app(server)
            app.load("Job", records)
            stored = _stored(app)
            for profile in (server, None):
                card = measure(app, profile, DESIGN_CARD, stored)
                mix = [measure(app, profile, text, stored) for text in MIX]
                sent = sum(s for s, _ in mix)
                returned = sum(r for _, r in mix)
                rows.append((profile or "default", server, card[0], card[1], sent, returned))
    base = next(r for r in rows if r[0] == "memory" and r[1] == "memory")[4]
    print(f"{args.jobs} jobs; mix of {len(MIX)} filters; design card: {DESIGN_CARD!r}")
    print(
        f"{'profile':<11}{'server':<12}{'card sent/kept':>16}{'mix sent':>10}{'mix kept':>10}"
        f"{'sent/kept':>11}{'vs memory':>11}"
    )
    missed = False
    for profile, server, card_sent, card_kept, sent, returned in rows:
        ratio = sent / returned if returned else float("nan")
        versus = sent / base
        print(
            f"{profile:<11}{server:<12}{f'{card_sent}/{card_kept}':>16}{sent:>10}{returned:>10}"
            f"{ratio:>11.2f}{versus:>10.2f}x"
        )
        if profile == server and versus > 1.5:
            missed = True
    print(
        "target: each connector's own profile <= 1.50x memory's transfer:",
        "MISSED" if missed else "met",
    )
    return 1 if (missed and args.check) else 0


if __name__ == "__main__":
    raise SystemExit(main())
