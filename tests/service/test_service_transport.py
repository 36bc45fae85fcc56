"""Transport: retries under faults, typed errors past the budget, timeouts, a secret token.

The fault tests run on every site: the demo service injects its own faults; in front of
the real LoopBack 3 apps (memory, PostgreSQL, MariaDB) a proxy injects the same kinds
(5xx, 429 with Retry-After, dropped connections, bodies cut short).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

import qwhere
from qwhere.testing import FAULT_KINDS, ServiceURL, serve
from qwhere.transport import Transport

from .sites import SITES, Site, demo_jobs
from .sites import settings as configured

TOKEN = "tok-7f3a9c-super-secret-value"
FAST = {"retries": 12, "backoff": 0.001, "backoff_max": 0.005}


@pytest.fixture(scope="module", params=SITES)
def noisy(request: pytest.FixtureRequest, sites: Any) -> Iterator[Site]:
    """Each site with 600 jobs (6 undated) and a page cap of 20; faults are set per test."""
    site: Site = sites(request.param)
    site.records = site.load(demo_jobs(600, undated=6, seed=11), key="faults:600")  # type: ignore[attr-defined]
    site.service.page_cap = 20
    try:
        yield site
    finally:
        site.service.set_faults(0.0)
        site.service.page_cap = None


@pytest.fixture(scope="module")
def faulty() -> Iterator[ServiceURL]:
    with serve(jobs=600, undated=6, page_cap=20, seed=11) as url:
        yield url


@pytest.mark.parametrize("workers", [1, 6])
def test_thirty_percent_faults_give_identical_results(noisy: Site, workers: int) -> None:
    service = noisy.service
    records = noisy.records  # type: ignore[attr-defined]
    clean = [j.id for j in noisy.connect(workers=workers).iter_jobs()]
    assert noisy.matches(clean, records)
    service.reset_log()
    service.set_faults(0.3)
    try:
        provider = noisy.connect(workers=workers, **FAST)
        again = [j.id for j in provider.iter_jobs()]
        assert provider.count_jobs(status="DONE") == sum(
            1 for r in records if r["status"] == "COMPLETED"
        )
        assert len(provider.backends()) == len(noisy.backends)
    finally:
        service.set_faults(0.0)
    assert again == clean
    faults = [r.fault for r in service.log if r.fault]
    assert len(faults) >= 0.15 * len(service.log) and len(set(faults)) >= 2, faults


def test_each_fault_kind_is_retried(noisy: Site) -> None:
    script = ["5xx", "429", "drop", "truncate", "5xx", "drop", "truncate", "429"]
    records = noisy.load(demo_jobs(30), key="faults:30")
    service = noisy.service
    try:
        with configured(service, page_cap=7):
            service.set_faults(script=script)
            service.reset_log()
            got = [j.id for j in noisy.connect(workers=1, **FAST).iter_jobs()]
            log = list(service.log)
    finally:
        service.set_faults(0.0)
        noisy.load(noisy.records, key="faults:600")  # type: ignore[attr-defined]
        service.page_cap = 20
    assert got == noisy.expected(records, lambda r: True)
    assert [r.fault for r in log[: len(script)]] == script
    # 30 jobs: 5 pages of at most 7, then the (empty) undated part; more where the
    # tie-break is inclusive (a page holds 6 new jobs there)
    answered = sum(1 for r in log if r.fault is None)
    assert answered == 6 if noisy.exact_ids else answered <= 7


@pytest.mark.parametrize(
    ("kind", "check", "kind_of_error"),
    [
        ("5xx", lambda e: e.status in (500, 502, 503, 504), qwhere.ApiError),
        ("429", lambda e: e.status == 429, qwhere.ApiError),
        ("drop", lambda e: e.code == "CONNECTION", qwhere.ConnectionFailed),
        ("truncate", lambda e: e.code == "INCOMPLETE_BODY", qwhere.IncompleteBody),
    ],
)
def test_past_the_retry_budget_a_typed_error_not_a_short_list(
    noisy: Site, kind: str, check: Any, kind_of_error: type[qwhere.ApiError]
) -> None:
    service = noisy.service
    provider = noisy.connect(workers=1, retries=2, backoff=0.001, backoff_max=0.002)
    listing = provider.iter_jobs()
    try:
        first = [next(listing) for _ in range(60)]  # two pages in
        service.set_faults(1.0, kinds=(kind,))
        with pytest.raises(qwhere.ApiError) as info:
            list(listing)
    finally:
        service.set_faults(0.0, kinds=FAULT_KINDS)
    assert len(first) == 60
    assert check(info.value), repr(info.value)
    assert type(info.value) is kind_of_error


def test_retry_after_is_honoured_and_capped(noisy: Site) -> None:
    service = noisy.service
    try:
        service.set_faults(script=["429"], retry_after=1)
        service.reset_log()
        started = time.monotonic()
        assert len(noisy.connect().jobs()) == 10
        assert time.monotonic() - started >= 0.95
        assert [r.status for r in service.log] == [429, 200]
        service.set_faults(script=["429"], retry_after=60)
        started = time.monotonic()
        assert len(noisy.connect(max_retry_after=0.2).jobs()) == 10
        assert time.monotonic() - started < 5
    finally:
        service.set_faults(0.0)


def test_read_timeout() -> None:
    with serve(jobs=10, latency=0.5) as url:
        provider = qwhere.connect(url, timeout=(2, 0.1), retries=1, backoff=0.001)
        with pytest.raises(qwhere.ApiError) as info:
            provider.jobs()
        assert info.value.code == "TIMEOUT"
        assert isinstance(info.value, qwhere.RequestTimeout) and isinstance(
            info.value, TimeoutError
        )
        with pytest.raises(qwhere.RequestTimeout) as info:
            qwhere.connect(url, retries=0).backends(timeout=0.1)
        assert info.value.code == "TIMEOUT"
        assert len(qwhere.connect(url).backends(timeout=3)) >= 6


def test_unreachable_service() -> None:
    with serve(jobs=1) as url:
        dead = str(url)
    provider = qwhere.connect(dead, retries=1, backoff=0.001, timeout=1)
    with pytest.raises(qwhere.ApiError) as info:
        provider.jobs()
    assert info.value.code == "CONNECTION" and info.value.status is None
    assert isinstance(info.value, qwhere.ConnectionFailed) and isinstance(
        info.value, ConnectionError
    )


def test_a_refused_connection_is_said_so_and_retried_less(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from qwhere.transport import REFUSED_RETRIES

    with serve(jobs=1) as url:
        dead = str(url)
    provider = qwhere.connect(dead, retries=5, backoff=0.001, timeout=1)
    with (
        caplog.at_level("INFO", logger="qwhere.transport"),
        pytest.raises(qwhere.ConnectionFailed) as info,
    ):
        provider.jobs()
    assert info.value.refused and info.value.code == "CONNECTION"
    assert str(info.value).startswith(f"connection refused at {dead} (GET /Jobs)")
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == REFUSED_RETRIES == 2
    assert retries[-1].endswith(f"retry {REFUSED_RETRIES} of {REFUSED_RETRIES} in 0.0 s")


def test_token_is_sent_and_required() -> None:
    with serve(jobs=5, token=TOKEN) as url:
        assert len(qwhere.connect(url, TOKEN).jobs()) == 5
        for token in (None, "wrong"):
            with pytest.raises(qwhere.AuthenticationError) as info:
                qwhere.connect(url, token).jobs()
            assert info.value.status == 401
            assert info.value.code == "AUTHORIZATION_REQUIRED"
            assert "Authorization Required" in str(info.value)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def test_token_never_in_repr_log_or_exception(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with serve(jobs=60, token=TOKEN, page_cap=7, faults=0.3, seed=2) as url:
        provider = qwhere.connect(url, TOKEN, workers=3, **FAST)  # type: ignore[arg-type]
        texts += [repr(provider), str(provider), repr(provider.backend), repr(provider._core)]
        texts.append(repr(provider._core.transport))
        assert len(provider.jobs(limit=None)) == 60
        provider.backends()
        url.service.faults = 1.0
        failing = qwhere.connect(url, TOKEN, retries=1, backoff=0.001)
        for call in (failing.jobs, failing.backends, lambda: failing.retrieve_job("x")):
            with pytest.raises(qwhere.QwhereError) as info:
                call()
            texts += [str(e) for e in _chain(info.value)] + [repr(info.value)]
            texts.append("".join(traceback.format_exception(info.value)))
        url.service.faults = 0.0
        with pytest.raises(qwhere.JobNotFoundError) as missing:
            provider.retrieve_job("no-such-job")
        texts.append(str(missing.value))
    dead = qwhere.connect(str(url), TOKEN, retries=0, timeout=0.5)
    with pytest.raises(qwhere.ApiError) as info:
        dead.jobs()
    texts += [str(e) for e in _chain(info.value)]
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.args) for record in caplog.records]
    assert caplog.records, "debug logging was captured"
    filters = [r.getMessage() for r in caplog.records if r.name == "qwhere.client"]
    assert any(m.startswith("GET /Jobs filter={") for m in filters), "each request's filter"
    leaks = [t for t in texts if TOKEN in t]
    assert leaks == []


def test_bad_json_and_bad_shapes_are_protocol_errors(faulty: ServiceURL) -> None:
    service = faulty.service
    original = service.answer

    class Raw:
        def __init__(self, body: bytes, status: int = 200) -> None:
            self.status, self.body, self.headers = status, body, {}

    cases: list[tuple[bytes, Any]] = [
        (b"<html>not json</html>", lambda p: p.jobs()),
        (b'{"not": "a list"}', lambda p: p.jobs()),
        (b"[1, 2]", lambda p: p.jobs()),
        (b'[{"id": 5, "status": "RUNNING"}]', lambda p: p.jobs()),
        (b'[{"id": "a", "status": "EXPLODED"}]', lambda p: p.jobs()),
        (b'[{"id": "a", "status": "RUNNING", "creationDate": "yesterday"}]', lambda p: p.jobs()),
        (b'[{"id": "a", "status": "RUNNING", "tags": "x"}]', lambda p: p.jobs()),
        (b'{"count": "many"}', lambda p: p.count_jobs()),
        (b'{"name": 3}', lambda p: p.backends()),
        (b'[{"name": "b", "configuration": []}]', lambda p: p.backends()),
        (b'{"id": "other", "status": "RUNNING"}', lambda p: p.retrieve_job("mine")),
        (b'[{"id": "r", "initialDate": null}]', lambda p: p.my_reservations()),
    ]
    try:
        for body, call in cases:
            service.answer = lambda route, params, b=body: Raw(b)  # type: ignore[method-assign]
            with pytest.raises(qwhere.ProtocolError):
                call(qwhere.connect(faulty, retries=0))
        service.answer = lambda route, params: Raw(b"oops", 418)  # type: ignore[method-assign]
        with pytest.raises(qwhere.ApiError) as info:
            qwhere.connect(faulty, retries=0).jobs()
        assert info.value.status == 418 and "oops" in str(info.value)
    finally:
        service.answer = original  # type: ignore[method-assign]


def test_server_error_message_is_kept(faulty: ServiceURL) -> None:
    with pytest.raises(qwhere.ApiError) as info:
        qwhere.connect(faulty)._core.transport.get("/Nowhere")
    assert info.value.status == 404 and "no method to handle" in str(info.value)
    with pytest.raises(qwhere.ApiError) as info:
        qwhere.connect(faulty)._core.transport.get("/Jobs", {"filter": '{"limit": -1}'})
    assert info.value.status == 400 and "limit parameter -1" in info.value.message


def test_transport_options_are_checked() -> None:
    for bad in (
        {"timeout": 0},
        {"timeout": "5"},
        {"retries": -1},
        {"retries": 1.5},
        {"backoff": -1},
        {"max_retry_after": 0},
    ):
        with pytest.raises(qwhere.QwhereError):
            Transport("http://127.0.0.1:1/api", **bad)
    with pytest.raises(qwhere.QwhereError):
        Transport("ftp://example/api")
    with pytest.raises(qwhere.QwhereError):
        Transport("http://127.0.0.1:1/api", token="")
    assert "hidden" in repr(Transport("http://127.0.0.1:1/api", token=TOKEN))
