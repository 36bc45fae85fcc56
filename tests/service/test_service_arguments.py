"""Bad arguments to every public method: a typed error, and not one request sent, on every
site (the demo service and LoopBack 3 on memory, PostgreSQL and MariaDB, through a proxy
that counts the requests)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

import qwhere
from qwhere import Q

from .sites import SITES, Site, demo_jobs


@pytest.fixture(scope="module", params=SITES)
def quiet(request: pytest.FixtureRequest, sites: Any) -> Site:
    site: Site = sites(request.param)
    site.load(demo_jobs(40), key="jobs:40")
    return site


BAD_JOB_ARGUMENTS: list[dict[str, Any]] = [
    {"limit": "5"},
    {"limit": -1},
    {"limit": True},
    {"limit": 1.5},
    {"skip": -1},
    {"skip": None},
    {"skip": "0"},
    {"backend_name": 5},
    {"backend_name": ""},
    {"status": "FINISHED"},
    {"status": "COMPLETED"},  # an API status, not a JobStatus
    {"status": 5},
    {"status": []},
    {"status": ["DONE", 3]},
    {"status": {"DONE": 1}},
    {"job_name": 5},
    {"job_name": ""},
    {"job_name": "(unclosed"},
    {"start_datetime": "2024-01-01"},
    {"start_datetime": date(2024, 1, 1)},
    {"end_datetime": 1700000000},
    {"job_tags": "bell"},
    {"job_tags": []},
    {"job_tags": ["bell", 1]},
    {"job_tags": ["bell"], "job_tags_operator": "XOR"},
    {"job_tags_operator": None},
    {"experiment_id": 3},
    {"descending": "yes"},
    {"descending": None},
    {"db_filter": [{"status": "RUNNING"}]},
    {"db_filter": "status == RUNNING"},
    {"db_filter": {"name": {"like": 5}}},
    {"db_filter": {"not": {"name": {"like": "bell%"}}}},
    {"db_filter": {"status": {"inq": "RUNNING"}}},
    {"db_filter": {"status": {"neq": "A", "inq": ["B"]}}},
    {"db_filter": {"nor": [{"status": "RUNNING"}]}},
    {"where": 5},
    {"where": {"status": "RUNNING"}},
    {"where": "status =="},
    {"where": "nosuchfield == 1"},
    {"where": Q.nosuchfield == 1},
    {"where": "status == FINISHED"},
    {"where": "n_qubits > 5"},  # a backend field, not a job field
]


def _no_request(url: Site, call: Callable[[], object]) -> BaseException:
    url.service.reset_log()
    with pytest.raises((qwhere.QwhereError, TypeError)) as info:
        result = call()
        if isinstance(result, Iterator):  # iter_jobs must fail at the call, not at next()
            next(result)
    assert url.service.request_count() == 0, f"a request was sent for {info.value!r}"
    return info.value


@pytest.mark.parametrize("arguments", BAD_JOB_ARGUMENTS, ids=lambda a: repr(a)[:60])
def test_bad_job_arguments(quiet: Site, arguments: dict[str, Any]) -> None:
    provider = quiet.connect()
    for method in (provider.jobs, provider.iter_jobs, provider.backend.jobs):
        error = _no_request(quiet, lambda m=method: m(**arguments))  # type: ignore[misc]
        assert isinstance(error, qwhere.QwhereError), repr(error)
    count_arguments = {
        k: v for k, v in arguments.items() if k not in ("limit", "skip", "descending")
    }
    if count_arguments:
        error = _no_request(quiet, lambda: provider.count_jobs(**count_arguments))
        assert isinstance(error, qwhere.QwhereError)


def test_messages_name_the_argument(quiet: Site) -> None:
    provider = quiet.connect()
    cases = {
        "limit": {"limit": "5"},
        "job_tags_operator": {"job_tags_operator": "XOR"},
        "FINISHED": {"status": "FINISHED"},
        "db_filter": {"db_filter": []},
        "like": {"db_filter": {"name": {"like": ["x"]}}},
        "job_tags": {"job_tags": "bell"},
    }
    for word, arguments in cases.items():
        error = _no_request(quiet, lambda a=arguments: provider.jobs(**a))  # type: ignore[misc]
        assert word in str(error), (word, str(error))


def test_db_filter_like_goes_to_the_server_unchanged(quiet: Site) -> None:
    provider = quiet.connect()
    quiet.service.reset_log()
    found = provider.jobs(db_filter={"name": {"like": "bell%"}}, status="DONE", limit=None)
    assert found and all("bell" in (job.name or "") for job in found)
    assert all(job.status is qwhere.JobStatus.DONE for job in found)
    sent = quiet.service.log[-1].filter
    assert sent is not None and '{"name": {"like": "bell%"}}' in json.dumps(sent["where"])


def test_unknown_keyword_arguments(quiet: Site) -> None:
    provider = quiet.connect()
    _no_request(quiet, lambda: provider.jobs(job_tag=["bell"]))  # type: ignore[call-arg]
    _no_request(quiet, lambda: provider.count_jobs(limit=3))  # type: ignore[call-arg]
    error = _no_request(quiet, lambda: provider.backends(n_qubit=5))
    assert isinstance(error, qwhere.UnknownFieldError)
    assert "n_qubit" in str(error) and "n_qubits" in str(error)


BAD_BACKEND_ARGUMENTS: list[dict[str, Any]] = [
    {"name": 5},
    {"name": ""},
    {"filters": "lambda b: True"},
    {"timeout": -1},
    {"timeout": "1"},
    {"timeout": True},
    {"min_num_qubits": "5"},
    {"min_num_qubits": -1},
    {"input_allowed": 5},
    {"input_allowed": []},
    {"input_allowed": ["job", 1]},
    {"where": "n_qubits >= many"},
    {"where": "status == DONE"},  # a job field, not a backend field
    {"operational": "yes"},
    {"n_qubits": [5]},
    {"hub": 5},
    {"wibble": True},
]


@pytest.mark.parametrize("arguments", BAD_BACKEND_ARGUMENTS, ids=lambda a: repr(a)[:60])
def test_bad_backend_arguments(quiet: Site, arguments: dict[str, Any]) -> None:
    provider = quiet.connect()
    for method in (provider.backends, provider.backend, provider.backend.backends):
        error = _no_request(quiet, lambda m=method: m(**arguments))  # type: ignore[misc]
        assert isinstance(error, qwhere.QwhereError), repr(error)


@pytest.mark.parametrize("job_id", [5, None, "", ".", ".."])
def test_bad_job_ids(quiet: Site, job_id: Any) -> None:
    provider = quiet.connect()
    error = _no_request(quiet, lambda: provider.retrieve_job(job_id))
    assert isinstance(error, qwhere.QwhereError)


def test_backend_methods_check_their_arguments(quiet: Site) -> None:
    lima = quiet.connect().backend.ibmq_lima
    for call in (
        lambda: lima.jobs(status="FINISHED"),
        lambda: lima.iter_jobs(limit=-1),
        lambda: lima.count_jobs(job_tags="x"),  # type: ignore[arg-type]
        lambda: lima.retrieve_job(7),  # type: ignore[arg-type]
        lambda: lima.jobs(backend_name="ibmq_manila"),  # type: ignore[call-arg]
    ):
        _no_request(quiet, call)


@pytest.mark.parametrize(
    "options",
    [
        {"url": "ftp://host/api"},
        {"url": 5},
        {"token": 5},
        {"token": ""},
        {"page_size": 0},
        {"page_size": "50"},
        {"workers": 0},
        {"timeout": -1},
        {"timeout": (1, "x")},
        {"retries": "3"},
        {"backoff": -0.5},
        {"hub": 5},
        {"max_retry_after": 0},
        {"connector": "oracle"},
        {"connector": 5},
        {"transport": object()},
    ],
    ids=lambda o: repr(o)[:50],
)
def test_bad_connect_options(quiet: Site, options: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"url": quiet.url, "connector": quiet.connector, **options}
    error = _no_request(quiet, lambda: qwhere.connect(**arguments))
    assert isinstance(error, qwhere.QwhereError)
    _no_request(quiet, lambda: qwhere.connect(quiet.url, colour="red"))  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "arguments",
    [
        {"limit": "5"},
        {"skip": -1},
        {"backend_name": 5},
        {"start_datetime": "2024-01-01"},
        {"job_tags": "bell"},
        {"job_tags": ["bell"], "job_tags_operator": "XOR"},
        {"descending": "yes"},
        {"db_filter": [{"status": "RUNNING"}]},
        {"where": 5},
    ],
    ids=lambda a: repr(a)[:40],
)
def test_bad_arguments_are_argument_errors(quiet: Site, arguments: dict[str, Any]) -> None:
    error = _no_request(quiet, lambda: quiet.connect().jobs(**arguments))
    assert isinstance(error, qwhere.ArgumentError)
    assert isinstance(error, TypeError) and isinstance(error, ValueError)
