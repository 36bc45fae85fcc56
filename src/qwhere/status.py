"""Job statuses: the seven a user filters on, and the API statuses the server stores.

Every API status maps back to exactly one :class:`JobStatus`; each JobStatus
expands to the API statuses it stands for (``ERROR`` to every ``ERROR_*``).
"""

from __future__ import annotations

import enum

__all__ = ["API_STATUSES", "JobStatus", "api_statuses", "error_prefix", "from_api"]


class JobStatus(enum.Enum):
    """The status of a job, as qiskit's ``JobStatus`` names it."""

    INITIALIZING = "job is being initialized"
    QUEUED = "job is queued"
    VALIDATING = "job is being validated"
    RUNNING = "job is actively running"
    CANCELLED = "job has been cancelled"
    DONE = "job has successfully run"
    ERROR = "job incurred error"

    def __call__(self) -> JobStatus:
        """Itself: code written for the seed calls ``job.status()``; ``job.status`` is it."""
        return self


_EXPANSION: dict[JobStatus, tuple[str, ...]] = {
    JobStatus.INITIALIZING: ("CREATING", "CREATED", "TRANSPILING", "TRANSPILED"),
    JobStatus.VALIDATING: ("VALIDATING", "VALIDATED"),
    JobStatus.QUEUED: ("PENDING_IN_QUEUE", "QUEUED"),
    JobStatus.RUNNING: ("RUNNING",),
    JobStatus.DONE: ("COMPLETED",),
    JobStatus.CANCELLED: ("CANCELLED",),
    JobStatus.ERROR: (
        "ERROR_CREATING_JOB",
        "ERROR_VALIDATING_JOB",
        "ERROR_TRANSPILING_JOB",
        "ERROR_RUNNING_JOB",
    ),
}

#: Every API status the service documents, each with the JobStatus it maps to.
API_STATUSES: dict[str, JobStatus] = {
    api: status for status, apis in _EXPANSION.items() for api in apis
}

_ERROR_PREFIX = "ERROR_"


def api_statuses(status: JobStatus) -> tuple[str, ...]:
    """The documented API statuses ``status`` stands for."""
    return _EXPANSION[status]


def error_prefix(status: JobStatus) -> str | None:
    """``"ERROR_"`` for ERROR (any ``ERROR_*`` API status is an error), else None."""
    return _ERROR_PREFIX if status is JobStatus.ERROR else None


def from_api(api_status: str) -> JobStatus:
    """The JobStatus an API status maps to; ``ValueError`` for one that maps to none."""
    found = API_STATUSES.get(api_status)
    if found is not None:
        return found
    if api_status.startswith(_ERROR_PREFIX):
        return JobStatus.ERROR
    raise ValueError(f"unknown API job status {api_status!r}")
