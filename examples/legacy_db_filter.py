"""Keep a seed-style ``db_filter`` (a raw LoopBack where clause) and add qwhere's ``where=``.

Code written for qiskit-ibmq-provider often carries hand-written LoopBack clauses in
``db_filter=``. qwhere reads them (``qwhere.from_where``) into the same filter tree as the text
language, so one call can combine the seed's arguments, a legacy clause and a new ``where=``
filter: all of them are ANDed. This script shows

* how qwhere reads a legacy clause, and the one request it sends for the combination;
* that the jobs returned satisfy every part (checked by hand on each job);
* what the seed did with the same arguments: it merged a list ``status`` into the clause's own
  ``"or"``, selecting far more jobs than asked for;
* that LoopBack's ``like``, whose meaning only the server knows, is sent unchanged (server-only);
* that a clause qwhere cannot read exactly (two operators in one object) is refused with a
  reason, never sent half-understood.

Run it from anywhere: ``python examples/legacy_db_filter.py``.
"""

from __future__ import annotations

import json

import qwhere
from qwhere import JobStatus, UnsupportedWhereError, from_where, predicate, schemas
from qwhere.testing import serve

# a clause as it might sit in old code: server field names, LoopBack operators
LEGACY = {
    "hubInfo.hub.name": "ibm-q",
    "or": [{"backend.name": "ibmq_lima"}, {"backend.name": "ibmq_manila"}],
    "creationDate": {"gte": "2024-01-01T00:00:00.000Z"},
}
NEW = "tags any [calibration, bell, ghz] and not name ~ /^qaoa/i"
STATUSES = ["RUNNING", "ERROR", "CANCELLED"]


def main() -> None:
    print("legacy db_filter:", json.dumps(LEGACY))
    # server field types let ISO strings on date fields be read as dates, as the client does
    types = schemas.JOBS.server_types()
    print("  read by qwhere as:", from_where(LEGACY, types=types))
    print("new where= filter:", NEW)
    print(f"status={STATUSES}\n")

    with serve() as url, qwhere.connect(url) as provider:
        service = url.service
        service.reset_log()
        jobs = provider.jobs(limit=None, status=STATUSES, db_filter=LEGACY, where=NEW)
        sent = service.log[0].filter
        assert sent is not None
        print("qwhere sent one where clause for all of it:")
        print("  " + json.dumps(sent["where"]))
        print(f"\n{len(jobs)} jobs match every part:")
        for job in jobs:
            hub = job.raw["hubInfo"]["hub"]["name"]
            when = job.creation_date.date() if job.creation_date else "-"
            print(
                f"  {job.id[:8]}  {job.status.name:<9} {when}  {job.backend_name:<12} {hub:<6} "
                f"{job.name or '-':<17} {','.join(job.tags)}"
            )

        # every part holds for every job, checked by hand
        assert jobs
        for job in jobs:
            assert job.status in (JobStatus.RUNNING, JobStatus.ERROR, JobStatus.CANCELLED)
            assert job.raw["hubInfo"]["hub"]["name"] == "ibm-q"
            assert job.backend_name in ("ibmq_lima", "ibmq_manila")
            assert job.creation_date is not None and job.creation_date.year >= 2024
            assert {"calibration", "bell", "ghz"} & set(job.tags)
            assert not (job.name or "").lower().startswith("qaoa")

        # The seed merged a list status's {"or": [...]} with the clause's own "or" list, so
        # it selected: (RUNNING or ERROR* or CANCELLED or on lima or on manila) and the rest.
        seed_clause = dict(LEGACY)
        seed_clause["or"] = [
            {"status": "RUNNING"},
            {"status": {"regexp": "^ERROR"}},
            {"status": "CANCELLED"},
            *LEGACY["or"],
        ]
        seed_selects = predicate(from_where(seed_clause, types=types), types=types)
        records = service.snapshot()
        seed_count = sum(1 for r in records if seed_selects(r))
        without_new = provider.count_jobs(status=STATUSES, db_filter=LEGACY)
        print(
            f"\nstatus + db_filter alone: qwhere selects {without_new} jobs; the seed's merged "
            f"clause selected {seed_count}"
        )
        assert seed_count > 2 * without_new

        # like is the server's to judge: it is sent as it is, beside the rest
        bells = provider.jobs(db_filter={"name": {"like": "bell%"}}, status="DONE", limit=5)
        assert bells and all("bell" in (job.name or "") for job in bells)
        print(f"\nlike sent unchanged: {[job.name for job in bells]}")

        # clauses that cannot be read exactly are refused before any request
        for clause in ({"creationDate": {"gt": "2024", "lt": "2025"}},):
            try:
                provider.jobs(db_filter=clause)
            except UnsupportedWhereError as err:
                print(f"\nrefused {json.dumps(clause)}:\n  {err}")
            else:
                raise AssertionError(f"{clause} should have been refused")


if __name__ == "__main__":
    main()
