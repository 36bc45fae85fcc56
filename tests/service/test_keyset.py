"""The keyset walk without a socket: ``qwhere.client.pagination`` on its own, and whole
listings driven through ``connect(url, transport=...)`` over a demo service's engine.

The property: for any records (shared timestamps, ids differing only in case,
undated ones), any page cap, any server order (memory, PostgreSQL, MariaDB) and
either the right connector or none, a listing is the sorted truth, or - only where
the server holds more ids equal than a page can hold - a ``ListingOrderError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qwhere
from qwhere.client.pagination import CountRequest, IdOrder, Keyset, PageRequest, Segment
from qwhere.errors import ApiError
from qwhere.loopback import MEMORY, MYSQL, POSTGRESQL, UNKNOWN, get_profile
from qwhere.testing import DemoService

from .conftest import listing_matches, ordered_ids


class EngineTransport:
    """A transport that answers from a DemoService in-process: no HTTP, no socket."""

    url = "memory://demo"

    def __init__(self, service: DemoService) -> None:
        self.service = service
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        timeout: float | tuple[float, float] | None = None,
        not_found: type[ApiError] | None = None,
    ) -> Any:
        params = dict(params or {})
        self.sent.append((path, {k: json.loads(v) for k, v in params.items()}))
        reply = self.service.answer(path, params)
        body = json.loads(reply.body)
        if reply.status >= 400:
            raise ApiError(body["error"]["message"], status=reply.status)
        return body

    def close(self) -> None:
        pass


def _service(records: list[dict[str, Any]], order: str, cap: int | None) -> DemoService:
    service = DemoService(jobs=0, order=order, page_cap=cap)
    for record in records:
        service.jobs.add(record)
    return service


STAMPS = ["2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.001Z", "2024-03-05T10:00:00.000Z"]


@st.composite
def job_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(
        st.lists(
            st.text(alphabet="aAbB1 ", min_size=1, max_size=3).filter(lambda t: t.strip() == t),
            min_size=0,
            max_size=30,
            unique=True,
        )
    )
    records = []
    for ident in ids:
        when = draw(st.sampled_from([*STAMPS, None, "missing"]))
        record: dict[str, Any] = {"id": ident, "status": "COMPLETED"}
        if when != "missing":
            record["creationDate"] = when
        records.append(record)
    return records


def _largest_tie(records: list[dict[str, Any]], key: Any) -> int:
    groups: dict[tuple[Any, Any], int] = {}
    for r in records:
        k = (r.get("creationDate"), key(r["id"]))
        groups[k] = groups.get(k, 0) + 1
    return max(groups.values(), default=0)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=job_sets(),
    order=st.sampled_from(["memory", "postgresql", "mysql"]),
    told=st.booleans(),
    cap=st.integers(1, 8),
    descending=st.booleans(),
    workers=st.sampled_from([1, 3]),
)
def test_any_records_any_cap_any_order(
    records: list[dict[str, Any]],
    order: str,
    told: bool,
    cap: int,
    descending: bool,
    workers: int,
) -> None:
    service = _service(records, order, cap)
    profile = get_profile(order)
    provider = qwhere.connect(
        "memory://demo",
        connector=order if told else None,
        transport=EngineTransport(service),
        workers=workers,
    )
    key = profile.id_key()
    assert key is not None
    tie = _largest_tie(records, key) if order == "mysql" else 1
    try:
        got = [job.id for job in provider.iter_jobs(descending=descending)]
    except qwhere.ListingOrderError as error:
        # only where the server holds more ids equal than a page can hold together
        assert tie > cap, (str(error), tie, cap)
        return
    assert tie <= cap, ("should have raised", tie, cap)
    assert listing_matches(got, records, descending=descending, id_key=key, exact=order != "mysql")


def test_a_listing_without_a_socket() -> None:
    """``connect(transport=...)``: the whole listing runs through the injected transport."""
    service = DemoService(jobs=120, undated=5, page_cap=7)
    transport = EngineTransport(service)
    provider = qwhere.connect("memory://demo", connector="memory", transport=transport, workers=1)
    listing = provider.iter_jobs(status="DONE")
    got = [job.id for job in listing]
    done = [r for r in service.snapshot() if r["status"] == "COMPLETED"]
    assert got == ordered_ids(done)
    assert listing.stats.requests == len(transport.sent)
    assert listing.where == {"status": "COMPLETED"}
    assert all(path == "/Jobs" for path, _ in transport.sent)
    with pytest.raises(qwhere.ArgumentError, match="token"):
        qwhere.connect("memory://demo", "secret", transport=transport)
    with pytest.raises(qwhere.ArgumentError, match="transport"):
        qwhere.connect("memory://demo", transport=object())  # type: ignore[arg-type]


# -- the segments themselves ----------------------------------------------------------------------


def _keyset(profile: Any = MEMORY, descending: bool = True, where: Any = None) -> Keyset:
    return Keyset(where or {}, descending, IdOrder.of(profile))


def _job(ident: str, when: str | None) -> dict[str, Any]:
    return {"id": ident, "creationDate": when}


def test_first_requests_select_each_part_by_its_own_condition() -> None:
    dated = Segment(_keyset(where={"status": "RUNNING"}), "dated")
    undated = Segment(_keyset(where={"status": "RUNNING"}), "undated")
    first = dated.request(None, 50, 0)
    assert isinstance(first, PageRequest)
    assert first.filter == {
        "order": "creationDate DESC, id DESC",
        "limit": 50,
        "where": {"and": [{"status": "RUNNING"}, {"creationDate": {"neq": None}}]},
    }
    assert undated.request(3, 50, 0) == PageRequest(
        {
            "order": "id DESC",
            "limit": 3,
            "where": {"and": [{"status": "RUNNING"}, {"creationDate": None}]},
        },
        3,
    )


@pytest.mark.parametrize(
    ("profile", "op"), [(MEMORY, "lt"), (POSTGRESQL, "lt"), (MYSQL, "lte"), (UNKNOWN, "lte")]
)
def test_the_tie_break_is_strict_only_where_ids_never_compare_equal(profile: Any, op: str) -> None:
    seg = Segment(_keyset(profile), "dated")
    seg.request(None, 3, 0)
    seg.absorb([_job("c", STAMPS[1]), _job("b", STAMPS[1]), _job("a", STAMPS[0])], 3, 0)
    nxt = seg.request(None, 3, 3)
    assert isinstance(nxt, PageRequest)
    assert nxt.filter["where"] == {
        "and": [
            {"creationDate": {"lte": STAMPS[0]}},  # where an index scan starts
            {
                "or": [
                    {"creationDate": {"lt": STAMPS[0]}},
                    {"and": [{"creationDate": STAMPS[0]}, {"id": {op: "a"}}]},
                ]
            },
        ]
    }


def test_an_inclusive_page_drops_what_came_back_and_goes_on() -> None:
    seg = Segment(_keyset(MYSQL), "dated")
    seg.absorb([_job("b", STAMPS[2]), _job("A1", STAMPS[1])], 2, 0)
    assert [r["id"] for r in seg.pages.popleft()] == ["b", "A1"]
    request = seg.request(None, 3, 2)
    assert seg.inclusive and isinstance(request, PageRequest) and request.ask == 3
    # a1 equals A1 under the collation: it comes after it, A1 itself comes back
    seg.absorb([_job("A1", STAMPS[1]), _job("a1", STAMPS[1]), _job("Z", STAMPS[0])], 3, 2)
    assert [r["id"] for r in seg.pages.popleft()] == ["a1", "Z"]
    assert seg.cursor is not None and seg.cursor.ident == "Z" and not seg.done


def test_a_group_larger_than_a_page_is_an_error_not_a_short_listing() -> None:
    seg = Segment(_keyset(MYSQL), "dated")
    seg.absorb([_job("b", STAMPS[2]), _job("A1", STAMPS[1])], 2, 0)
    seg.request(None, 2, 2)
    # a full page of records equal to the cursor: how many are there?
    seg.absorb([_job("A1", STAMPS[1]), _job("a1", STAMPS[1])], 2, 2)
    assert seg.request(None, 2, 2) == CountRequest(
        {"and": [{"creationDate": STAMPS[1]}, {"id": "A1"}]}, "ties"
    )
    with pytest.raises(qwhere.ListingOrderError, match="cannot list exactly"):
        seg.absorb_count(3)  # a third one the page could not hold


def test_a_group_a_page_holds_is_passed_with_a_strict_condition() -> None:
    seg = Segment(_keyset(MYSQL), "dated")
    seg.absorb([_job("b", STAMPS[2]), _job("A1", STAMPS[1])], 2, 0)
    seg.request(None, 2, 2)
    seg.absorb([_job("A1", STAMPS[1]), _job("a1", STAMPS[1])], 2, 2)
    seg.request(None, 2, 2)
    seg.absorb_count(2)  # both seen
    assert [r["id"] for p in seg.pages for r in p] == ["b", "A1", "a1"]
    nxt = seg.request(None, 2, 2)
    assert isinstance(nxt, PageRequest) and not seg.inclusive
    assert nxt.filter["where"]["and"][1]["or"][1]["and"][1] == {"id": {"lt": "a1"}}


def test_a_page_of_one_counts_the_records_equal_to_the_cursor() -> None:
    seg = Segment(_keyset(MYSQL), "undated")
    seg.absorb([_job("a1", None)], 1, 0)
    probe = seg.request(None, 1, 1)
    assert probe == CountRequest({"and": [{"creationDate": None}, {"id": "a1"}]}, "ties")
    seg.absorb_count(1)  # alone: the strict tie-break is exact
    nxt = seg.request(None, 1, 1)
    assert isinstance(nxt, PageRequest) and nxt.filter["where"]["and"][1] == {"id": {"lt": "a1"}}
    seg.absorb([_job("0", None)], 1, 1)
    assert isinstance(seg.request(None, 1, 1), CountRequest)
    with pytest.raises(qwhere.ListingOrderError, match="page of one"):
        seg.absorb_count(2)


def test_order_is_checked_only_with_a_known_id_order() -> None:
    # MariaDB's case-insensitive order: B2 before b1 descending is right for it...
    records = [_job("B2", STAMPS[0]), _job("b1", STAMPS[0]), _job("A2", STAMPS[0])]
    Segment(_keyset(MYSQL), "dated").absorb(records, 5, 0)
    Segment(_keyset(UNKNOWN), "dated").absorb(records, 5, 0)
    # ... and wrong for the memory connector, which compares UTF-16 code units
    with pytest.raises(qwhere.ListingOrderError, match="b1 does not follow B2"):
        Segment(_keyset(MEMORY), "dated").absorb(records, 5, 0)
    # the case-insensitive key is exact on ASCII ids only: others are taken as they come
    # (MariaDB holds é equal to e: "e2" before "é1" descending, which upper() would refuse)
    accents = [_job("e2", STAMPS[0]), _job("é1", STAMPS[0]), _job("😀", STAMPS[0])]
    Segment(_keyset(MYSQL), "dated").absorb(accents, 5, 0)
    # dates are checked whatever the connector
    with pytest.raises(qwhere.ListingOrderError, match="does not follow"):
        Segment(_keyset(UNKNOWN), "dated").absorb(
            [_job("a", STAMPS[0]), _job("b", STAMPS[2])], 5, 0
        )


def test_each_part_refuses_the_other_parts_records() -> None:
    with pytest.raises(qwhere.ListingOrderError, match="undated record"):
        Segment(_keyset(), "dated").absorb([_job("a", None)], 5, 0)
    with pytest.raises(qwhere.ListingOrderError, match="dated record"):
        Segment(_keyset(), "undated").absorb([_job("a", STAMPS[0])], 5, 0)


def test_a_skip_past_a_part_is_counted_and_carried() -> None:
    seg = Segment(_keyset(descending=False), "undated", skip=10)
    assert seg.request(None, 50, 0).filter["skip"] == 10  # type: ignore[union-attr]
    seg.absorb([], 50, 0)
    assert seg.request(None, 50, 0) == CountRequest({"creationDate": None}, "skip")
    seg.absorb_count(4)
    assert seg.done and seg.carry == 6


def test_split_ranges_partition_the_dates() -> None:
    ks = _keyset()
    seg = Segment(ks, "dated", tail=True)
    seg.absorb([_job("z", "2024-06-01T00:00:00.000Z")], 1, 0)
    far = ks.position(_job("a", "2024-01-01T00:00:00.000Z"))
    from qwhere.client.pagination import Bound

    made = seg.split(Bound.at(datetime(2024, 3, 1, tzinfo=UTC)), far)
    assert made is not None and made.tail and not seg.tail
    assert seg.lo == made.hi
    assert made.request(None, 5, 1).filter["where"] == {  # type: ignore[union-attr]
        "creationDate": {"lt": "2024-03-01T00:00:00.000Z"}
    }
    assert seg.split(Bound.at(datetime(2025, 1, 1, tzinfo=UTC)), far) is None  # outside


def test_job_from_json_is_from_record_without_the_copy() -> None:
    from types import MappingProxyType

    from qwhere.testing.data import job_records

    records = job_records(300, undated=10)
    records[0]["status"] = "ERROR_SOMETHING_NEW"  # any ERROR_* is an error
    records[1]["backend"] = None
    for record in records:
        fast, slow = qwhere.Job.from_json(record), qwhere.Job.from_record(record)
        assert fast == slow and fast.raw == slow.raw == record
        assert repr(fast) == repr(slow)
    kept = qwhere.Job.from_json(records[2])
    records[2]["name"] = "changed"
    assert kept.raw["name"] == "changed"  # kept as it is: a view of the decoded record
    assert isinstance(kept.raw, MappingProxyType)
    for bad in (
        {"id": 5, "status": "RUNNING"},
        {"id": "", "status": "RUNNING"},
        {"id": "a", "status": "EXPLODED"},
        {"id": "a", "status": 7},
        {"id": "a", "status": "RUNNING", "tags": "x"},
        {"id": "a", "status": "RUNNING", "tags": ["x", 1]},
        {"id": "a", "status": "RUNNING", "name": 3},
        {"id": "a", "status": "RUNNING", "experimentTag": ["e"]},
        {"id": "a", "status": "RUNNING", "backend": {"name": 3}},
        {"id": "a", "status": "RUNNING", "backend": "lima"},
        {"id": "a", "status": "RUNNING", "creationDate": "yesterday"},
        {"id": "a", "status": "RUNNING", "creationDate": 1700000000},
    ):
        for build in (qwhere.Job.from_json, qwhere.Job.from_record):
            with pytest.raises(qwhere.ProtocolError):
                build(bad)  # type: ignore[arg-type]
