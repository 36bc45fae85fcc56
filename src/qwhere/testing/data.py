"""Deterministic demo data: backends, jobs and reservations, all from one seed.

Jobs span two years before ``anchor`` (the demo service passes the current time;
``job_records`` alone defaults to a fixed instant), cover every
API status, share timestamps in bursts (so keyset pagination meets ties), carry
tags, experiments, hub information and optional names; ``undated`` adds jobs
whose ``creationDate`` is null or missing.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ..status import API_STATUSES

__all__ = [
    "DEFAULT_ANCHOR",
    "backend_records",
    "iso",
    "job_records",
    "make_job",
    "reservation_records",
]

#: A fixed instant for jobs to end at (two years of jobs before it): the same data every run.
DEFAULT_ANCHOR = datetime(2025, 1, 1, tzinfo=UTC)
_SPAN = timedelta(days=730)

_BASIS = ["id", "rz", "sx", "x", "cx", "reset"]

# name, qubits, simulator, quantum volume, input allowed, operational, pending, message
_BACKENDS: tuple[tuple[str, int, bool, int | None, list[str], bool, int, str], ...] = (
    ("ibmq_qasm_simulator", 32, True, None, ["job", "runtime"], True, 3, "active"),
    ("simulator_statevector", 32, True, None, ["job"], True, 0, "active"),
    ("ibmq_lima", 5, False, 8, ["job"], True, 12, "active"),
    ("ibmq_manila", 5, False, 32, ["job", "runtime"], True, 40, "active"),
    ("ibm_nairobi", 7, False, 32, ["job", "runtime"], True, 7, "active"),
    ("ibm_perth", 7, False, 32, ["job", "runtime"], False, 0, "maintenance"),
    ("ibmq_guadalupe", 16, False, 32, ["job"], True, 55, "active"),
    ("ibm_washington", 127, False, 64, ["job", "runtime"], True, 310, "internal"),
)

_KINDS = ("bell", "ghz", "vqe", "qaoa", "Calibration", "grover", "qft", "teleport")
_TAGS = ("calibration", "bell", "ghz", "vqe", "nightly", "test", "Physics", "qaoa", "rb", "ü-tag")
_EXPERIMENTS = tuple(f"exp-{n:03d}" for n in range(12))
_HUBS = (("ibm-q", "open", "main"), ("ibm-q-research", "uni", "physics"), ("partner", "g1", "p1"))
# COMPLETED dominates, as on a real service; every status appears.
_WEIGHTS = {status: 1 for status in API_STATUSES}
_WEIGHTS["COMPLETED"] = 40
_WEIGHTS["CANCELLED"] = 4
_WEIGHTS["ERROR_RUNNING_JOB"] = 3
_WEIGHTS["QUEUED"] = 3
_WEIGHTS["RUNNING"] = 2


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds and ``Z``, as LoopBack writes dates."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def backend_records(extra: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for name, qubits, simulator, qv, inputs, operational, pending, message in _BACKENDS:
        configuration: dict[str, Any] = {
            "backend_name": name,
            "backend_version": "1.0.0" if simulator else "1.2.3",
            "n_qubits": qubits,
            "simulator": simulator,
            "local": False,
            "conditional": simulator,
            "open_pulse": not simulator,
            "memory": True,
            "max_shots": 100000 if not simulator else 8192,
            "max_experiments": 300,
            "input_allowed": inputs,
            "basis_gates": _BASIS + (["u1", "u2", "u3"] if simulator else []),
            "description": f"{'simulator' if simulator else 'device'} {name}",
            "online_date": "2021-01-08T05:00:00.000Z",
        }
        if qv is not None:
            configuration["quantum_volume"] = qv
        records.append(
            {
                "name": name,
                "configuration": configuration,
                "status": {
                    "backend_name": name,
                    "operational": operational,
                    "pending_jobs": pending,
                    "status_msg": message,
                },
            }
        )
    records.extend(dict(r) for r in extra)
    return records


def make_job(
    rng: random.Random,
    serial: int,
    when: datetime | None,
    backends: Sequence[str],
    *,
    status: str | None = None,
    undated: str = "missing",
) -> dict[str, Any]:
    """One job record (``when=None``: no date, ``undated`` says "missing" or "null")."""
    kind = rng.choice(_KINDS)
    record: dict[str, Any] = {"id": f"{rng.getrandbits(96):024x}"}
    if rng.random() > 0.04:
        record["name"] = f"{kind}-{serial:05d}"
    record["status"] = status or rng.choices(list(_WEIGHTS), weights=list(_WEIGHTS.values()))[0]
    if when is not None:
        record["creationDate"] = iso(when)
    elif undated == "null":
        record["creationDate"] = None
    tags = rng.sample(_TAGS, rng.choice((0, 1, 1, 2, 2, 3)))
    # the design card's `tags all [a, b]`: a and b on a share of jobs, from the id (so the
    # random stream, and every other field, stays as it was)
    share = int(record["id"][-4:], 16) % 100
    tags += ["a", "b"] if share < 15 else ["a"] if share < 25 else ["b"] if share < 32 else []
    record["tags"] = sorted(tags)
    record["backend"] = {"name": rng.choice(backends)}
    if rng.random() < 0.35:
        record["experimentTag"] = rng.choice(_EXPERIMENTS)
    hub, group, project = rng.choice(_HUBS)
    record["hubInfo"] = {
        "hub": {"name": hub},
        "group": {"name": group},
        "project": {"name": project},
    }
    record["shots"] = rng.choice((1024, 4000, 8192))
    return record


def job_records(
    count: int,
    *,
    seed: int = 0,
    anchor: datetime = DEFAULT_ANCHOR,
    undated: int = 0,
    backends: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """``count`` dated jobs (every API status among the first 15) plus ``undated`` jobs."""
    rng = random.Random(f"jobs:{seed}")
    names = list(backends or [b[0] for b in _BACKENDS])
    statuses = list(API_STATUSES)
    start_ms = int((anchor - _SPAN).timestamp() * 1000)
    span_ms = int(_SPAN.total_seconds() * 1000)
    jobs: list[dict[str, Any]] = []
    last: datetime | None = None
    for serial in range(count):
        if last is not None and rng.random() < 0.12:
            when = last  # a burst: several jobs share one timestamp
        else:
            when = datetime.fromtimestamp((start_ms + rng.randrange(span_ms)) / 1000, UTC)
        last = when
        status = statuses[serial] if serial < len(statuses) else None
        jobs.append(make_job(rng, serial, when, names, status=status))
    for serial in range(count, count + undated):
        jobs.append(make_job(rng, serial, None, names, undated="null" if serial % 2 else "missing"))
    return jobs


def reservation_records(now: datetime, *, seed: int = 0) -> list[dict[str, Any]]:
    """Six reservations around ``now``: two past, four upcoming."""
    rng = random.Random(f"reservations:{seed}")
    base = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    offsets = (-72, -5, 2, 26, 50, 170)  # hours from now
    records = []
    for index, hours in enumerate(offsets):
        start = base + timedelta(hours=hours)
        backend = _BACKENDS[2 + index % 6][0]
        hub, group, project = _HUBS[index % len(_HUBS)]
        records.append(
            {
                "id": f"res-{index + 1:03d}-{rng.getrandbits(32):08x}",
                "backendName": backend,
                "initialDate": iso(start),
                "endDate": iso(start + timedelta(minutes=rng.choice((30, 60, 120)))),
                "creationDate": iso(start - timedelta(days=rng.randrange(3, 30))),
                "mode": rng.choice(("queue", "dedicated")),
                "hubInfo": {
                    "hub": {"name": hub},
                    "group": {"name": group},
                    "project": {"name": project},
                },
            }
        )
    return records
