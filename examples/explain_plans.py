"""See how filters are split between the LoopBack server and the client, and that it is exact.

``qwhere.plan`` turns a filter into a LoopBack ``where`` clause (what the server can select
exactly) and a *residual* (what only the client can check: "no element of the list is ...",
a Python callable, a regex flag on a dotted path, ...). This script plans a handful of job
filters, prints the where clause, the residual and the reason for each part, and then proves
the split on the demo service's 2,000 job records: the server's clause selects a superset of
the matches, and the residual removes exactly the extra records.

Run it from anywhere: ``python examples/explain_plans.py``.
"""

from __future__ import annotations

import json

from qwhere import Q, from_where, plan, predicate, schemas
from qwhere.testing import serve

FILTERS = [
    "status in [RUNNING, QUEUED] and tags all [bell, nightly]",
    "not (status == DONE or name ~ /^qaoa/) and created >= 2024-06-01",
    "tags none [calibration] and backend == ibmq_lima",
    "backend ~ /LIMA/i or experiment_id == exp-003",
    (Q.status == "ERROR") & Q.test(lambda job: job["shots"] >= 4000),
]


def main() -> None:
    types = schemas.JOBS.server_types()
    with serve() as url:
        records = url.service.snapshot()
    print(f"{len(records)} demo job records\n")
    for expr in FILTERS:
        p = plan(expr, schemas.JOBS, connector="memory")
        print(f"filter:   {expr}")
        print(f"where:    {json.dumps(p.where)}")
        print(f"residual: {p.residual if p.residual is not None else '-'}")
        for part in p.parts:
            if not part.exact:
                print(f"  because {part.text}: {part.reason}")

        # the proof, record by record
        accept = predicate(expr, schemas.JOBS)
        matches = {r["id"] for r in records if accept(r)}
        server = predicate(from_where(p.where, types=types), types=types)
        sent = [r for r in records if server(r)]
        if p.residual is None:
            kept = sent
        else:
            residual = predicate(p.residual, types=types)
            kept = [r for r in sent if residual(r)]
        assert {r["id"] for r in sent} >= matches
        assert {r["id"] for r in kept} == matches
        verdict = "exact" if p.exact else f"{len(sent)} sent, {len(sent) - len(kept)} dropped"
        print(f"records:  {len(matches)} match; {verdict}\n")


if __name__ == "__main__":
    main()
