"""The two schemas qwhere ships: ``JOBS`` and ``BACKENDS``."""

from __future__ import annotations

from .schema import FieldSpec, FieldType, Schema
from .status import JobStatus, api_statuses, error_prefix

__all__ = ["BACKENDS", "JOBS"]


def _expand_status(name: str) -> tuple[tuple[str, ...], str | None]:
    status = JobStatus[name]
    return api_statuses(status), error_prefix(status)


JOBS = Schema(
    "jobs",
    (
        FieldSpec("id", ("id",), FieldType.STRING, aliases=("job_id",), description="job id"),
        FieldSpec("name", ("name",), FieldType.STRING, aliases=("job_name",)),
        FieldSpec(
            "status",
            ("status",),
            FieldType.ENUM,
            values=tuple(s.name for s in JobStatus),
            expand=_expand_status,
            description="JobStatus name; expands to the server's API statuses",
        ),
        FieldSpec("backend", ("backend", "name"), FieldType.STRING, aliases=("backend_name",)),
        FieldSpec("created", ("creationDate",), FieldType.DATETIME, aliases=("creation_date",)),
        FieldSpec("tags", ("tags",), FieldType.STRING_LIST, aliases=("job_tags",)),
        FieldSpec("experiment_id", ("experimentTag",), FieldType.STRING),
    ),
)

_CONFIG = "configuration"
_STATUS = "status"

BACKENDS = Schema(
    "backends",
    (
        FieldSpec("name", ("name",), FieldType.STRING, aliases=("backend_name",)),
        FieldSpec("n_qubits", (_CONFIG, "n_qubits"), FieldType.NUMBER),
        FieldSpec("simulator", (_CONFIG, "simulator"), FieldType.BOOL),
        FieldSpec("local", (_CONFIG, "local"), FieldType.BOOL),
        FieldSpec("conditional", (_CONFIG, "conditional"), FieldType.BOOL),
        FieldSpec("open_pulse", (_CONFIG, "open_pulse"), FieldType.BOOL),
        FieldSpec("memory", (_CONFIG, "memory"), FieldType.BOOL),
        FieldSpec("max_shots", (_CONFIG, "max_shots"), FieldType.NUMBER),
        FieldSpec("max_experiments", (_CONFIG, "max_experiments"), FieldType.NUMBER),
        FieldSpec("quantum_volume", (_CONFIG, "quantum_volume"), FieldType.NUMBER),
        FieldSpec("input_allowed", (_CONFIG, "input_allowed"), FieldType.STRING_LIST),
        FieldSpec("basis_gates", (_CONFIG, "basis_gates"), FieldType.STRING_LIST),
        FieldSpec("backend_version", (_CONFIG, "backend_version"), FieldType.STRING),
        FieldSpec("description", (_CONFIG, "description"), FieldType.STRING),
        FieldSpec("online_date", (_CONFIG, "online_date"), FieldType.DATETIME),
        FieldSpec("operational", (_STATUS, "operational"), FieldType.BOOL),
        FieldSpec("pending_jobs", (_STATUS, "pending_jobs"), FieldType.NUMBER),
        FieldSpec("status_msg", (_STATUS, "status_msg"), FieldType.STRING),
    ),
)
