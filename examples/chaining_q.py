"""Build a job filter step by step with ``Q``, mix it with text and a Python callable.

``Q`` builds the same trees as the text language: each step below adds a condition with ``&``,
``|`` or ``~`` and prints the filter's canonical text, so you can see what you built. The last
step adds ``Q.test(fn)``, a Python callable that only the client can run; ``qwhere.explain``
shows how the filter is split between the LoopBack server and the client. Then the filter runs
against the local demo service, and every job it returns is checked against the conditions,
written out by hand.

Run it from anywhere: ``python examples/chaining_q.py``.
"""

from __future__ import annotations

from datetime import date, timedelta

import qwhere
from qwhere import JobStatus, Q, explain, parse, schemas
from qwhere import when as time_of
from qwhere.testing import serve


def long_name(job: qwhere.Job) -> bool:
    """A condition only Python can say: the job's name has more than 10 characters."""
    return len(job.name or "") > 10


def main() -> None:
    expr = Q.status.in_([JobStatus.DONE, JobStatus.ERROR])
    print(f"start with: {expr}")
    for added in (
        Q.created.between(
            time_of("today - 364d"), time_of("today - 182d")
        ),  # the year's first half
        Q.tags.any(["bell", "ghz"]) | Q.name.matches("^bell", flags="i"),
        ~Q.backend.in_(["ibmq_qasm_simulator", "simulator_statevector"]),
        parse("experiment_id exists"),  # text and Q trees mix freely
    ):
        expr = expr & added
        print(f"  & ({added})")
        assert parse(str(expr)) == expr  # the canonical text reads back as the same tree
    print(f"\nthe filter:  {expr}")

    with_callable = expr & Q.test(long_name)
    print(f"and with a callable: ... and {Q.test(long_name)}\n")
    print(explain(with_callable, schemas.JOBS))
    print()

    with serve() as url, qwhere.connect(url) as provider:
        jobs = provider.jobs(limit=None, where=with_callable)
        print(f"{len(jobs)} jobs match:")
        for job in jobs[:8]:
            when = job.creation_date.date() if job.creation_date else "-"
            print(
                f"  {job.id[:8]}  {job.status.name:<6} {when}  {job.backend_name or '-':<15} "
                f"{job.experiment_id or '-':<8} {job.name or '-':<17} {','.join(job.tags)}"
            )
        if len(jobs) > 8:
            print(f"  ... and {len(jobs) - 8} more")

        # each condition, checked by hand on every job returned
        assert jobs
        for job in jobs:
            assert job.status in (JobStatus.DONE, JobStatus.ERROR)
            assert job.creation_date is not None
            day = job.creation_date.astimezone().date()
            assert date.today() - timedelta(days=364) <= day <= date.today() - timedelta(days=182)
            assert {"bell", "ghz"} & set(job.tags) or (job.name or "").lower().startswith("bell")
            assert job.backend_name not in ("ibmq_qasm_simulator", "simulator_statevector")
            assert job.experiment_id is not None
            assert long_name(job)

        # the callable was applied on the client: without it, more jobs come back
        without = provider.jobs(limit=None, where=expr)
        assert set(j.id for j in jobs) < set(j.id for j in without)
        print(f"\nwithout the callable: {len(without)} jobs; with it: {len(jobs)}")


if __name__ == "__main__":
    main()
