"""Every seed argument, alone and combined, selects exactly what its meaning selects.

Each case lists all matching jobs over real HTTP and compares them, in order, with
a hand-written selection over the full data set (``oracle.expected_ids``), on every
site: qwhere's demo service and a real LoopBack 3 app on memory, PostgreSQL and
MariaDB, each reached through ``connect(url, connector=...)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

import qwhere
from qwhere import JobStatus, Q

from .conftest import (
    STATUS_API,
    Record,
    all_of,
    by_backend,
    by_name,
    by_status,
    expected_ids,
    experiment,
    hub,
    since,
    tags_all,
    tags_any,
    until,
)
from .sites import SITES, Site, demo_jobs, settings


@pytest.fixture(scope="module", params=SITES)
def site(request: pytest.FixtureRequest, sites: Any) -> Site:
    """Each site in turn, with the demo service's 2,000 jobs."""
    found: Site = sites(request.param)
    found.records = found.load(demo_jobs(2000), key="jobs:2000")  # type: ignore[attr-defined]
    return found


@pytest.fixture(scope="module")
def provider(site: Site) -> Iterator[qwhere.Provider]:
    with site.connect() as connected:
        yield connected


@pytest.fixture(scope="module")
def demo_records(site: Site) -> list[dict[str, Any]]:
    return site.records  # type: ignore[attr-defined, no-any-return]


START = datetime(2024, 3, 1, tzinfo=UTC)
END = datetime(2024, 6, 30, 23, 59, 59, 999000, tzinfo=UTC)

# (arguments, the same filter written by hand)
ALONE: dict[str, tuple[dict[str, Any], Callable[[Record], bool]]] = {
    "backend_name": ({"backend_name": "ibmq_lima"}, by_backend("ibmq_lima")),
    "status str": ({"status": "RUNNING"}, by_status("RUNNING")),
    "status enum": ({"status": JobStatus.ERROR}, by_status("ERROR")),
    "status list": (
        {"status": ["INITIALIZING", JobStatus.QUEUED]},
        by_status("INITIALIZING", "QUEUED"),
    ),
    "status lower case": ({"status": "done"}, by_status("DONE")),
    "job_name regex": ({"job_name": "^(bell|ghz)-0[01]"}, by_name("^(bell|ghz)-0[01]")),
    "job_name partial": ({"job_name": "00"}, by_name("00")),
    "start_datetime": ({"start_datetime": START}, since(START)),
    "end_datetime": ({"end_datetime": END}, until(END)),
    "job_tags OR": ({"job_tags": ["vqe", "rb"]}, tags_any("vqe", "rb")),
    "job_tags AND": (
        {"job_tags": ["vqe", "nightly"], "job_tags_operator": "AND"},
        tags_all("vqe", "nightly"),
    ),
    "job_tags and lower-case operator": (
        {"job_tags": ["ü-tag"], "job_tags_operator": "and"},
        tags_all("ü-tag"),
    ),
    "experiment_id": ({"experiment_id": "exp-003"}, experiment("exp-003")),
    "db_filter": ({"db_filter": {"hubInfo.hub.name": "ibm-q"}}, hub("ibm-q")),
    "db_filter with or": (
        {"db_filter": {"or": [{"status": "RUNNING"}, {"experimentTag": "exp-001"}]}},
        lambda r: r["status"] == "RUNNING" or r.get("experimentTag") == "exp-001",
    ),
    "where text": ({"where": "tags any [bell] and not backend == ibmq_lima"}, None),  # below
    "where Q": ({"where": (Q.status == "CANCELLED") | Q.name.matches("^qft")}, None),
}
ALONE["where text"] = (
    ALONE["where text"][0],
    lambda r: tags_any("bell")(r) and not by_backend("ibmq_lima")(r),
)
ALONE["where Q"] = (
    ALONE["where Q"][0],
    lambda r: by_status("CANCELLED")(r) or by_name("^qft")(r),
)


@pytest.mark.parametrize("case", sorted(ALONE))
def test_each_argument_alone(
    provider: qwhere.Provider,
    demo_records: list[dict[str, Any]],
    case: str,
) -> None:
    arguments, accept = ALONE[case]
    got = [job.id for job in provider.jobs(limit=None, **arguments)]
    want = expected_ids(demo_records, accept)
    assert want, f"{case}: the demo data should have matches"
    assert got == want


@pytest.mark.parametrize(
    "names",
    [
        ("backend_name", "status list"),
        ("status enum", "job_tags OR", "start_datetime"),
        ("job_name partial", "end_datetime", "start_datetime"),
        ("db_filter", "status str"),
        ("db_filter with or", "status list"),  # the seed unions these; qwhere ANDs
        ("experiment_id", "job_tags AND"),
        ("where Q", "backend_name", "db_filter"),
        ("where text", "status list", "end_datetime", "experiment_id"),
    ],
    ids=lambda names: "+".join(names),
)
def test_arguments_combined(
    provider: qwhere.Provider, demo_records: list[dict[str, Any]], names: tuple[str, ...]
) -> None:
    arguments: dict[str, Any] = {}
    for name in names:
        arguments.update(ALONE[name][0])
    accept = all_of(*(ALONE[name][1] for name in names))
    got = [job.id for job in provider.jobs(limit=None, **arguments)]
    assert got == expected_ids(demo_records, accept)


def test_every_pair_of_simple_arguments(
    provider: qwhere.Provider, demo_records: list[dict[str, Any]]
) -> None:
    simple = ["backend_name", "status list", "job_tags OR", "start_datetime", "db_filter"]
    for a, b in itertools.combinations(simple, 2):
        arguments = {**ALONE[a][0], **ALONE[b][0]}
        got = [job.id for job in provider.jobs(limit=25, **arguments)]
        want = expected_ids(demo_records, all_of(ALONE[a][1], ALONE[b][1]), limit=25)
        assert got == want, (a, b)


def test_ascending_order_limit_and_skip(
    provider: qwhere.Provider, demo_records: list[dict[str, Any]]
) -> None:
    accept = by_status("ERROR")
    got = [j.id for j in provider.jobs(limit=30, skip=7, status="ERROR", descending=False)]
    assert got == expected_ids(demo_records, accept, descending=False, limit=30, skip=7)


def test_defaults_are_the_ten_newest(
    provider: qwhere.Provider, demo_records: list[dict[str, Any]]
) -> None:
    assert [j.id for j in provider.jobs()] == expected_ids(demo_records, lambda r: True, limit=10)


def test_dates_are_inclusive_and_converted_not_relabelled(
    provider: qwhere.Provider, demo_records: list[dict[str, Any]]
) -> None:
    moment = datetime.fromisoformat(demo_records[100]["creationDate"])
    exactly = provider.jobs(limit=None, start_datetime=moment, end_datetime=moment)
    assert demo_records[100]["id"] in {j.id for j in exactly}
    # the same instant written at +05:00 selects the same jobs
    shifted = moment.astimezone(timezone(timedelta(hours=5)))
    again = provider.jobs(limit=None, start_datetime=shifted, end_datetime=shifted)
    assert [j.id for j in again] == [j.id for j in exactly]
    # a microsecond after the instant excludes it as a start, includes it as an end
    later = moment + timedelta(microseconds=1)
    assert demo_records[100]["id"] not in {
        j.id for j in provider.jobs(limit=None, start_datetime=later, end_datetime=later)
    }


def test_naive_datetimes_are_local_time(
    provider: qwhere.Provider, demo_records: list[dict[str, Any]]
) -> None:
    moment = datetime.fromisoformat(demo_records[5]["creationDate"])
    naive_local = moment.astimezone().replace(tzinfo=None)
    got = provider.jobs(limit=None, start_datetime=naive_local, end_datetime=naive_local)
    assert demo_records[5]["id"] in {j.id for j in got}


def test_residual_filters_fetch_until_limit_pass(
    site: Site, demo_records: list[dict[str, Any]]
) -> None:
    p = site.connect(workers=1)

    def odd_shots(job: qwhere.Job) -> bool:
        return bool(job.raw["shots"] == 4000)

    with settings(site.service, page_cap=7):
        got = p.jobs(limit=9, skip=4, where=Q.test(odd_shots) & (Q.status != "DONE"))
    accept = all_of(lambda r: r["shots"] == 4000, lambda r: r["status"] != "COMPLETED")
    assert [j.id for j in got] == expected_ids(demo_records, accept, limit=9, skip=4)
    assert len(got) == 9


def test_count_jobs(provider: qwhere.Provider, demo_records: list[dict[str, Any]]) -> None:
    for arguments, accept in (ALONE["status list"], ALONE["db_filter"], ALONE["where text"]):
        assert provider.count_jobs(**arguments) == len(expected_ids(demo_records, accept))
    assert provider.count_jobs() == len(demo_records)


def test_count_with_a_residual_walks_the_listing(
    provider: qwhere.Provider, demo_records: list[dict[str, Any]]
) -> None:
    count = provider.count_jobs(where=Q.test(lambda job: job.name is None))
    assert count == sum(1 for r in demo_records if r.get("name") is None)


def test_every_api_status_maps_to_one_job_status(provider: qwhere.Provider) -> None:
    seen: dict[str, set[JobStatus]] = {}
    for job in provider.iter_jobs():
        seen.setdefault(job.api_status, set()).add(job.status)
    assert set(seen) == set().union(*STATUS_API.values())
    for api, statuses in seen.items():
        (status,) = statuses
        assert api in STATUS_API[status.name]


def _present(record: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(record).items() if v is not None}  # SQL sends null for missing


def test_job_model(provider: qwhere.Provider, demo_records: list[dict[str, Any]]) -> None:
    record = next(r for r in demo_records if r.get("experimentTag") and r.get("tags"))
    job = provider.retrieve_job(record["id"])
    assert _present(job.raw) == _present(record)
    assert job.creation_date is not None and job.creation_date.tzinfo is not None
    assert job.creation_date == datetime.fromisoformat(record["creationDate"])
    assert job.tags == tuple(record["tags"])
    assert job.experiment_id == record["experimentTag"]
    assert job.backend_name == record["backend"]["name"]
    assert job.api_status == record["status"]
    assert qwhere.predicate(Q.experiment_id == record["experimentTag"], qwhere.schemas.JOBS)(job)
    assert "raw" not in repr(job)


def test_retrieve_job_not_found(provider: qwhere.Provider) -> None:
    with pytest.raises(qwhere.JobNotFoundError) as info:
        provider.retrieve_job("0" * 24)
    assert info.value.status == 404
    with pytest.raises(qwhere.JobNotFoundError):
        provider.retrieve_job("../Backends")


def test_backend_scoped_jobs(provider: qwhere.Provider, demo_records: list[dict[str, Any]]) -> None:
    lima = provider.backend.ibmq_lima
    got = [j.id for j in lima.jobs(limit=None, status="DONE")]
    assert got == expected_ids(demo_records, all_of(by_backend("ibmq_lima"), by_status("DONE")))
    assert lima.count_jobs(status="DONE") == len(got)
    assert [j.id for j in lima.iter_jobs(limit=3)] == expected_ids(
        demo_records, by_backend("ibmq_lima"), limit=3
    )
    other = next(r for r in demo_records if r["backend"]["name"] != "ibmq_lima")
    with pytest.raises(qwhere.JobNotFoundError):
        lima.retrieve_job(other["id"])
    mine = next(r for r in demo_records if r["backend"]["name"] == "ibmq_lima")
    assert lima.retrieve_job(mine["id"]).id == mine["id"]
    with pytest.raises(TypeError):
        lima.jobs(backend_name="ibmq_manila")  # type: ignore[call-arg]


def test_my_reservations(provider: qwhere.Provider, site: Site) -> None:
    records = site.reservations
    assert len(records) == 6
    now = datetime.now(UTC)
    upcoming = provider.my_reservations()
    assert [r.reservation_id for r in upcoming] == [
        r["id"]
        for r in sorted(records, key=lambda r: r["initialDate"])
        if datetime.fromisoformat(r["endDate"]) >= now
    ]
    assert len(upcoming) == 4
    first = upcoming[0]
    assert first.start_datetime.tzinfo is not None
    assert first.end_datetime > first.start_datetime and first.duration_minutes > 0
    assert first.backend_name and first.mode in ("queue", "dedicated")
