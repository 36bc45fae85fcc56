"""Filter jobs with the text language, against the local demo service.

Starts ``qwhere.testing.serve()`` (2,000 demo jobs over the two years up to now), connects to
it like any LoopBack job service, and lists jobs with a few filters written as text: statuses,
tags, names (regular expressions), dates, backends, negations. For each filter it prints what
went to the server, what was checked on the client, and the first jobs; and it checks every job
it got against the filter, record by record, with ``qwhere.predicate``.

Run it from anywhere: ``python examples/filter_jobs_with_text.py``.
"""

from __future__ import annotations

import json

import qwhere
from qwhere import plan, predicate, schemas
from qwhere.testing import serve

FILTERS = [
    # the design card's example: any of two statuses, both tags
    "status in [RUNNING, ERROR] and tags all [a, b]",
    # a regular expression (case-insensitive) and the last sixty days
    "name ~ /^bell/i and created > now - 60d",
    # negation, a dotted server path behind an alias, presence of a field
    "not (backend == ibmq_qasm_simulator or status == DONE) and experiment_id exists",
    # a list condition LoopBack cannot express: it is finished on the client
    "backend == ibm_washington and tags none [calibration, test] and created >= now - 90d",
]


def row(job: qwhere.Job) -> str:
    when = job.creation_date.strftime("%Y-%m-%d %H:%M") if job.creation_date else "-"
    tags = ",".join(job.tags) or "-"
    return (
        f"  {job.id[:8]}  {job.status.name:<12} {when}  {job.backend_name or '-':<21} "
        f"{job.name or '-':<17} {tags}"
    )


def main() -> None:
    with serve() as url, qwhere.connect(url) as provider:
        print(f"demo service at {url} with {len(url.service.jobs.records)} jobs\n")
        for text in FILTERS:
            jobs = provider.jobs(limit=None, where=text)
            split = plan(text, schemas.JOBS)
            print(f"where: {text}")
            print(f"  server: {json.dumps(split.where)}")
            print(f"  client: {split.residual if split.residual is not None else 'nothing'}")
            print(f"  {len(jobs)} jobs, newest first:")
            for job in jobs[:5]:
                print(row(job))
            if len(jobs) > 5:
                print(f"  ... and {len(jobs) - 5} more")
            print()

            # every job returned matches the filter (a job model is read through its raw record)
            matches = predicate(text, schemas.JOBS)
            assert jobs, text
            assert all(matches(job) for job in jobs), text
            # ... and no matching job was missed
            expected = sum(1 for record in url.service.snapshot() if matches(record))
            assert len(jobs) == expected == provider.count_jobs(where=text), text


if __name__ == "__main__":
    main()
