"""Code written for the seed's Job methods: what still works, and what says what to use."""

from __future__ import annotations

import pytest

import qwhere
from qwhere import JobStatus

RECORD = {
    "id": "j1",
    "name": "bell",
    "status": "COMPLETED",
    "creationDate": "2024-01-01T00:00:00.000Z",
    "backend": {"name": "ibmq_lima"},
    "tags": ["a"],
}


def test_job_id_and_status_still_work() -> None:
    job = qwhere.Job.from_json(dict(RECORD))
    assert job.job_id() == "j1"
    assert job.status() is job.status is JobStatus.DONE
    assert JobStatus.ERROR() is JobStatus.ERROR
    assert JobStatus("job incurred error") is JobStatus.ERROR  # the enum's own call is intact


@pytest.mark.parametrize(
    ("method", "hint"),
    [
        ("backend", "use job.backend_name"),
        ("refresh", "provider.retrieve_job(job.id)"),
        ("experiment_tag", "use job.experiment_id"),
    ],
)
def test_a_missing_seed_method_names_the_attribute(method: str, hint: str) -> None:
    job = qwhere.Job.from_json(dict(RECORD))
    with pytest.raises(AttributeError, match="the seed's method") as info:
        getattr(job, method)()
    assert hint in str(info.value) and "docs/migrating.md" in str(info.value)


def test_other_missing_attributes_are_plain_attribute_errors() -> None:
    job = qwhere.Job.from_json(dict(RECORD))
    with pytest.raises(AttributeError, match="'Job' object has no attribute 'colour'"):
        job.colour  # noqa: B018
    assert not hasattr(job, "colour")
    assert getattr(job, "__array__", None) is None  # protocols probed by libraries
